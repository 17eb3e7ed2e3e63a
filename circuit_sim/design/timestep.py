"""The simulation step: dt from the stiffest mode and the integrator, its stability check,
and the whole-step strides of recording and plasticity.

The circuit is a continuous SDE; the integrator and ``dt`` are numerical choices. A mode of
curvature ``lambda`` (in units of ``1/tau_u``) is the linear recursion ``u <- (1 - h lambda) u
+ noise`` with ``h = dt/tau_u``: stable only for ``h < 2/lambda_max`` (Euler-Maruyama and
Leimkuhler-Matthews alike), and Euler inflates the mode's variance by ``1/(1 - h lambda/2)``.
Without ``run.dt`` the step comes from ``lambda_max`` and the integrator
(:data:`DEFAULT_STEP`). With device mismatch the fastest unit, ``tau_j = C_j / G_m,j``, sets
the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from noise import format_si

from ..errors import ConfigError

#: Default dimensionless step h = dt/tau_u, per integrator, as a multiple of 1/lambda_max.
#: Euler-Maruyama inflates the variance of a mode of curvature lambda by 1/(1 - h lambda/2):
#: h = 0.02/lambda_max keeps that at 1% on the stiffest mode. Leimkuhler-Matthews has the
#: exact stationary variance on every Gaussian mode for any stable h (its noise is an MA(1)
#: sequence whose ARMA(1,1) variance is 2 c^2/(1 - a) = T/lambda), so its step is limited
#: by the non-Gaussian parts of the posterior only: h = 1/lambda_max (half the stability
#: limit), at most 0.1 (checked by halving dt on the 2-D spike-and-slab posterior).
DEFAULT_STEP = {"euler": 0.02, "leimkuhler_matthews": 1.0}
DEFAULT_STEP_CAP = {"euler": 0.02, "leimkuhler_matthews": 0.1}
#: With a Laplace prior the step is also at most ``LAPLACE_STEP_CAP / lam^2``. The prior's
#: force ``-lam sign(u)`` jumps at u = 0, and in the dead zone (|u| <= u0) it is the only
#: force: there u is a Brownian motion with a two-valued drift whose density has a cusp at 0.
#: A discrete step smooths the cusp and under-fills the bins next to 0 by an amount
#: proportional to ``h lam^2``; measured on a 4-latent spike-and-slab posterior against an
#: exact Gibbs reference (u histograms, 40 bins per unit, 240000 tau_u, ~19000 effective
#: samples): Leimkuhler-Matthews chi^2 = 388 at h = 0.05 (z = -4.3 next to 0) and 511 at
#: h = 0.1 (60000 tau_u), against 154 and 138 at h = 0.025 and 0.0125 (about the number of
#: occupied bins); the TV distance of the worst marginal 0.0068 / 0.0033 / 0.0029 (noise
#: floor ~0.003). Moments (activity, E[s]) were right at every h.
LAPLACE_STEP_CAP = 0.025

#: How each integrator is described in outputs (interpretation and order).
INTEGRATOR_DESCRIPTIONS = {
    "euler": "Euler-Maruyama (Ito; additive noise, so = Stratonovich), weak order 1",
    "leimkuhler_matthews": "Leimkuhler-Matthews (non-Markovian Euler with averaged noise "
                           "(R_n + R_n+1)/2; exact stationary variance for Gaussian targets), "
                           "weak order 1, order 2 in the invariant measure",
}
INTEGRATOR_NAMES = {"euler": "Euler-Maruyama", "leimkuhler_matthews": "Leimkuhler-Matthews"}


def round_down(x: float, digits: int = 2) -> float:
    """Round ``x > 0`` down to ``digits`` significant figures (a readable, never larger step)."""
    e = math.floor(math.log10(x)) - digits + 1
    return math.floor(x / 10**e + 1e-9) * 10**e


def fmt(value: float, unit: str) -> str:
    return format_si(value, unit)


@dataclass(frozen=True)
class TimeStep:
    """The resolved step and strides of a run (SI seconds).

    Attributes
    ----------
    dt : float
        Integration step in s.
    auto : bool
        Chosen from ``lambda_max`` (no ``run.dt`` given).
    tau_step : float
        The time constant the step is measured against: ``tau_u``, or the fastest unit's.
    lambda_max : float
        Largest curvature of the energy (units of ``1/tau_u``).
    n_steps : int
        Steps of the run.
    duration : float
        Simulated time in s (``n_steps dt`` up to rounding).
    record_stride : int
        Steps between recorded samples.
    plasticity_stride : int
        Steps ``K`` between two steps of the plasticity equation (1 without learning).
    """

    dt: float
    auto: bool
    tau_step: float
    lambda_max: float
    n_steps: int
    duration: float
    record_stride: int
    plasticity_stride: int

    @property
    def h(self) -> float:
        """``dt / tau`` of the fastest unit."""
        return self.dt / self.tau_step

    @property
    def h_limit(self) -> float:
        """The stability bound ``2 / lambda_max`` on ``h``."""
        return 2.0 / self.lambda_max


def default_step(integrator: str, lam_max: float, laplace_lam: float | None = None) -> float:
    """The automatic ``h = dt / tau_u``: ``DEFAULT_STEP / lambda_max``, at most
    ``DEFAULT_STEP_CAP``, and with a Laplace prior of rate ``laplace_lam`` at most
    ``LAPLACE_STEP_CAP / lam^2`` (the cusp at u = 0, see :data:`LAPLACE_STEP_CAP`)."""
    h = min(DEFAULT_STEP[integrator] / lam_max, DEFAULT_STEP_CAP[integrator])
    if laplace_lam is not None:
        h = min(h, LAPLACE_STEP_CAP / laplace_lam**2)
    return h


def choose_dt(run, tau: float, tau_nominal: float, lam_max: float,
              laplace_lam: float | None = None) -> tuple[float, bool]:
    """``(dt, chosen_automatically)`` for ``run`` (a RunConfig); ConfigError if an explicit
    ``run.dt`` is unstable (the message states the bound and its ingredients).
    ``laplace_lam``: the Laplace prior's rate (None for the Gaussian prior)."""
    integ = run.integrator
    h_limit = 2.0 / lam_max
    if run.dt is None:
        return round_down(default_step(integ, lam_max, laplace_lam) * tau), True
    dt = run.dt
    h = dt / tau
    if h >= h_limit:
        fastest = " for the fastest unit of this mismatched chip" if tau != tau_nominal else ""
        raise ConfigError(
            "run.dt", f"dt < 2 tau_u / lambda_max = {fmt(h_limit * tau, 's')} for a stable "
            f"{INTEGRATOR_NAMES[integ]} step (tau_u = C/G_m = {fmt(tau, 's')}{fastest}, "
            f"lambda_max = {lam_max:.3g}; dt/tau_u = {h:.3g} must be < {h_limit:.3g})",
            fmt(dt, "s"))
    return dt, False


def check_flicker_poles(sources, dt: float) -> None:
    """Every flicker OU pole must be resolved by the step (``dt < 2 tau_pole``)."""
    for i, src in enumerate(sources):
        if getattr(src, "kind", None) == "flicker":
            taus, _ = src.ou_bank()
            if dt >= 2 * taus.min():
                raise ConfigError(f"noise[{i}].f_max", f"a band whose fastest pole (tau = "
                                  f"{fmt(taus.min(), 's')}) is resolved by dt = {fmt(dt, 's')}; "
                                  f"lower f_max or dt", fmt(src.f_max, "Hz"))


def record_stride(record_every: float | None, dt: float, auto: bool, tau_u: float) -> int:
    """Steps between recorded samples: ``record_every / dt`` (a whole number unless dt was
    chosen here), default ``tau_u / 5``."""
    if record_every is None:
        return max(1, int(round(tau_u / 5 / dt)))
    stride = record_every / dt
    if auto:  # dt chosen here: record at the nearest whole number of steps
        return max(1, int(round(stride)))
    if stride < 1 - 1e-9 or abs(stride - round(stride)) > 1e-6 * stride:
        raise ConfigError("run.record_every", f"a whole multiple of dt = {fmt(dt, 's')}",
                          fmt(record_every, "s"))
    return int(round(stride))


def plasticity_stride(learning, dt: float, tau_u: float, dense: bool) -> int:
    """Steps ``K`` between two steps of the plasticity equation (1 without learning).

    ``learning.plasticity_dt`` if given (a whole multiple of ``dt``). Automatic: with the
    dense crossbar, the largest ``K`` with ``K dt <= tau_u / 4`` (``r s^T``, whose time
    average drives the weights, decorrelates within ``tau_u``; the weights' own Euler step
    ``K dt / tau_Phi`` stays below ``tau_u / (4 tau_Phi)``); with the summed crossbar 1 (its
    conductances share the circuit's clock).
    """
    if learning is None:
        return 1
    if learning.plasticity_dt is None:
        return max(1, int(math.floor(tau_u / (4.0 * dt) + 1e-9))) if dense else 1
    k = learning.plasticity_dt / dt
    if k < 1 - 1e-9 or abs(k - round(k)) > 1e-6 * k:
        raise ConfigError("learning.plasticity_dt", f"a whole multiple of run.dt = {fmt(dt, 's')}",
                          fmt(learning.plasticity_dt, "s"))
    if round(k) > 1 and not dense:
        raise ConfigError("learning.plasticity_dt",
                          f"run.dt = {fmt(dt, 's')} with the summed crossbar (its conductances "
                          "share the circuit's clock; use run.crossbar = \"dense\")",
                          fmt(learning.plasticity_dt, "s"))
    return int(round(k))
