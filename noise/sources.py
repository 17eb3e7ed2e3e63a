"""Physical current-noise sources at a latent node (SPEC section 3).

Every source is described by its **one-sided** current-noise PSD ``S_I`` in A^2/Hz (what a
spectrum analyser or SPICE ``.noise`` shows).  In an SDE a white source enters as
``sqrt(S_I / 2) * xi(t)``.

Common interface of every source class:

``kind``
    ``"thermal" | "shot" | "flicker" | "injected"``.
``is_white``
    True when the PSD is flat (thermal, shot, injected); False for flicker.
``psd(f)``
    One-sided PSD in A^2/Hz at the frequencies ``f`` (Hz, array-like) -> ``numpy.ndarray`` of the
    same shape.  For flicker noise this is the PSD of the Ornstein-Uhlenbeck bank that is actually
    simulated (see :meth:`FlickerNoise.ideal_psd` for the ideal ``1/f`` target).
``white_psd``
    The flat level in A^2/Hz (thermal / shot: a property; injected: the given or resolved PSD;
    flicker: the *field* giving the ideal 1/f level at the corner frequency).
``equivalent_psd(tau_u)``
    The white PSD that gives the same node temperature: for white sources the level itself; for
    flicker the node-bandwidth-weighted average (see :meth:`FlickerNoise.equivalent_psd`).

``InjectedNoise`` note: its constructor field is called ``psd`` (a float), which collides with the
``psd(f)`` method of the common interface.  The stored value is therefore a :class:`PSDLevel`, a
``float`` subclass that is also callable: ``inj.psd`` behaves as the number (A^2/Hz) and
``inj.psd(f)`` returns the flat spectrum.  An unresolved ``InjectedNoise(fill_to=...)`` has
``psd is None`` until :func:`noise.budget.noise_budget` resolves it.

Validation errors are ``models.constraints.ParameterError`` (a ValueError):
``"<field>: expected <what>, got <value>"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import nnls

from models import constraints as _c

from .temperature import BOLTZMANN, ELEMENTARY_CHARGE

__all__ = [
    "PSDLevel",
    "ThermalNoise",
    "ShotNoise",
    "FlickerNoise",
    "InjectedNoise",
    "NoiseSource",
    "one_pole_equivalent_psd",
]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_float(name: str, value, what: str, *, allow_zero: bool = False) -> float:
    return _c.number(name, value, low=0.0, low_open=not allow_zero, expected=what, coerce=True)


def _check_name(value) -> str:
    if not isinstance(value, str) or not value:
        raise _c.ParameterError("name", "a non-empty string", value)
    return value


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)


def _freqs(f) -> np.ndarray:
    return np.asarray(f, dtype=float)


class PSDLevel(float):
    """A flat one-sided PSD level in A^2/Hz that can also be called as a spectrum.

    ``PSDLevel(1e-24) * 2`` is ordinary float arithmetic; ``PSDLevel(1e-24)(f)`` returns
    ``numpy.full(shape(f), 1e-24)``.  Used for ``InjectedNoise.psd`` (see the module docstring).
    """

    __slots__ = ()

    def __call__(self, f) -> np.ndarray:
        return np.full(np.shape(f), float(self))

    def __repr__(self) -> str:
        return float.__repr__(self)


def lorentzian_psd(weight, time_constant, f) -> np.ndarray:
    """One-sided PSD ``W / (1 + (2 pi f tau_k)^2)`` (A^2/Hz) of Lorentzian sources of weights
    ``W = 4 sigma^2 tau_k`` (A^2/Hz) and time constants ``tau_k`` (s; trailing axis: the
    sources, summed), at frequencies ``f`` (Hz)."""
    x = 2.0 * np.pi * _freqs(f)[..., None] * np.atleast_1d(time_constant)
    return np.sum(np.atleast_1d(weight) / (1.0 + x * x), axis=-1)


def one_pole_equivalent_psd(lorentzian_weight, pole_time_constant, tau_u):
    """Node-equivalent white PSD of one Ornstein-Uhlenbeck (Lorentzian) current source.

    The OU current with one-sided PSD ``S(f) = W / (1 + (2 pi f tau_k)^2)`` (``W = 4 sigma^2 tau_k``,
    A^2/Hz) seen through the node response ``H(f) = 1 / (1 + 2 pi i f tau_u)`` has the same node
    variance as white noise of level

        S_eq = int S |H|^2 df / int |H|^2 df = W tau_u / (tau_k + tau_u)     [A^2/Hz].

    (Both integrals are elementary: ``int |H|^2 df = 1/(4 tau_u)`` and
    ``int S |H|^2 df = W / (4 (tau_k + tau_u))``.)  Time constants in s.  Works elementwise.
    """
    w = np.asarray(lorentzian_weight, dtype=float)
    tk = np.asarray(pole_time_constant, dtype=float)
    return w * tau_u / (tk + tau_u)


# --------------------------------------------------------------------------------------------
# white sources
# --------------------------------------------------------------------------------------------
class _WhiteMixin:
    """Shared behaviour of flat-spectrum sources (needs a ``white_psd`` attribute)."""

    @property
    def is_white(self) -> bool:
        return True

    def psd(self, f) -> np.ndarray:  # noqa: D401  (overridden by InjectedNoise's field)
        """One-sided PSD in A^2/Hz at frequencies ``f`` (Hz): flat."""
        return np.full(np.shape(f), float(self.white_psd))

    def equivalent_psd(self, tau_u: float | None = None) -> float:
        """Node-equivalent white PSD in A^2/Hz: the flat level itself (``tau_u`` is ignored)."""
        return float(self.white_psd)


@dataclass(frozen=True)
class ThermalNoise(_WhiteMixin):
    """Johnson-Nyquist noise of a conductance: ``S_I = 4 k_B T gamma G_n`` (one-sided, A^2/Hz).

    Fields: ``conductance`` ``G_n`` in S; ``temperature`` in K; ``gamma`` the (dimensionless) excess
    noise factor (1 for a resistor, about 2/3 for a saturated long-channel MOSFET).
    With ``G_n = G_m`` and ``gamma = 1`` the node variance is ``k_B T / C`` (kT/C noise).
    """

    conductance: float
    temperature: float
    gamma: float = 1.0
    name: str = "thermal"

    def __post_init__(self):
        _set(self, "conductance",
             _as_float("conductance", self.conductance, "a positive conductance in S"))
        _set(self, "temperature",
             _as_float("temperature", self.temperature, "a positive temperature in K"))
        _set(self, "gamma", _as_float("gamma", self.gamma, "a positive excess noise factor"))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "thermal"

    @property
    def white_psd(self) -> float:
        """``4 k_B T gamma G_n`` in A^2/Hz."""
        return 4.0 * BOLTZMANN * self.temperature * self.gamma * self.conductance


@dataclass(frozen=True)
class ShotNoise(_WhiteMixin):
    """Shot noise of a DC current: ``S_I = 2 q I * branches`` (one-sided, A^2/Hz).

    Fields: ``current`` ``I`` in A (per branch); ``branches`` the number of independent branches
    each carrying ``I`` whose shot noise reaches the node (integer >= 1).
    For a subthreshold transconductor ``G_m = kappa I / U_T``,
    ``2 q I = 4 k_B T (1 / (2 kappa)) G_m``: thermal noise with noise factor ``1/(2 kappa)``.
    """

    current: float
    branches: int = 1
    name: str = "shot"

    def __post_init__(self):
        _set(self, "current", _as_float("current", self.current, "a positive current in A"))
        _set(self, "branches", _c.integer("branches", self.branches, lower=1))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "shot"

    @property
    def white_psd(self) -> float:
        """``2 q I * branches`` in A^2/Hz."""
        return 2.0 * ELEMENTARY_CHARGE * self.current * self.branches


@dataclass(frozen=True)
class InjectedNoise(_WhiteMixin):
    """Deliberately injected white noise (an amplified noise source).

    Give exactly one of

    ``psd``
        the one-sided PSD in A^2/Hz (>= 0), or
    ``fill_to``
        a target total temperature ``T_target`` (dimensionless, > 0): :func:`noise_budget` then
        resolves the PSD to ``4 G_m C V_u^2 (T_target - T_others)``, bringing the total to the target.

    ``psd`` is stored as a :class:`PSDLevel` (a float that is also callable as ``psd(f)``).
    """

    psd: float | None = None
    fill_to: float | None = None
    name: str = "injected"

    def __post_init__(self):
        if (self.psd is None) == (self.fill_to is None):
            raise _c.bad_input("psd / fill_to", "exactly one of psd (A^2/Hz) or fill_to (target "
                               "T_eff)", f"psd={self.psd!r}, fill_to={self.fill_to!r}")
        if self.psd is not None:
            _set(self, "psd", PSDLevel(
                _as_float("psd", self.psd, "a non-negative PSD in A^2/Hz", allow_zero=True)))
        else:
            _set(self, "fill_to", _as_float(
                "fill_to", self.fill_to, "a positive target temperature T_eff (dimensionless)"))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "injected"

    @property
    def is_resolved(self) -> bool:
        """True when the PSD is known (given directly or resolved by ``noise_budget``)."""
        return self.psd is not None

    @property
    def white_psd(self) -> float:
        """The flat level in A^2/Hz; a ValueError for an unresolved ``fill_to`` source."""
        if self.psd is None:
            raise _c.bad_input("psd", "a resolved PSD in A^2/Hz",
                               f"None (InjectedNoise {self.name!r} has fill_to={self.fill_to!r}; "
                               "resolve it with noise_budget(...))")
        return float(self.psd)

    def equivalent_psd(self, tau_u: float | None = None) -> float:
        return self.white_psd


@dataclass(frozen=True)
class TelegraphNoise:
    """Random telegraph noise (a trap capturing and releasing a carrier): the current
    switches between ``+amplitude / 2`` and ``-amplitude / 2`` (``amplitude`` the step, A),
    each way at ``rate`` (Hz). Its autocorrelation is ``(amplitude/2)^2 exp(-2 rate |t|)``,
    so its one-sided PSD is one Lorentzian, ``S(f) = W / (1 + (2 pi f tau_k)^2)`` with
    ``tau_k = 1 / (2 rate)`` and ``W = 4 (amplitude/2)^2 tau_k``. One independent process
    per unit."""

    amplitude: float
    rate: float
    name: str = "rtn"

    def __post_init__(self):
        _set(self, "amplitude", _as_float("amplitude", self.amplitude,
                                          "a positive current step in A"))
        _set(self, "rate", _as_float("rate", self.rate, "a positive switching rate in Hz"))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "rtn"

    @property
    def is_white(self) -> bool:
        return False

    @property
    def time_constant(self) -> float:
        """``tau_k = 1 / (2 rate)`` in s."""
        return 0.5 / self.rate

    def psd(self, f) -> np.ndarray:
        """One-sided PSD in A^2/Hz at frequencies ``f`` (Hz)."""
        tk = self.time_constant
        return lorentzian_psd(4.0 * (self.amplitude / 2) ** 2 * tk, tk, f)

    def equivalent_psd(self, tau_u: float) -> float:
        """Node-equivalent white PSD in A^2/Hz (:func:`one_pole_equivalent_psd`)."""
        tk = self.time_constant
        return float(one_pole_equivalent_psd(4.0 * (self.amplitude / 2) ** 2 * tk, tk, tau_u))


@dataclass(frozen=True)
class CommonModeNoise(_WhiteMixin):
    """White current noise shared by every unit (supply, substrate or bias-line coupling):
    each node sees ``psd`` (one-sided, A^2/Hz), and all nodes see the same waveform, so the
    units' noise is correlated. Its ``T_eff`` adds to each unit's like an independent
    source's; what it does to the posterior (correlations the model does not have) is for
    the run to show."""

    psd: float
    name: str = "common"

    def __post_init__(self):
        _set(self, "psd", _as_float("psd", self.psd, "a non-negative PSD in A^2/Hz",
                                    allow_zero=True))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "common"

    @property
    def white_psd(self) -> float:
        return float(self.psd)


@dataclass(frozen=True)
class MeasuredNoise(_WhiteMixin):
    """The white floor of a cell's measured or simulated output current noise (one-sided,
    A^2/Hz), e.g. from ``.noise`` in ngspice (``circuit-sim characterize``). A measured
    1/f part is a separate :class:`FlickerNoise` referred to the same floor."""

    white_psd: float
    name: str = "measured"

    def __post_init__(self):
        _set(self, "white_psd", _as_float("white_psd", self.white_psd,
                                          "a non-negative PSD in A^2/Hz", allow_zero=True))
        _check_name(self.name)

    @property
    def kind(self) -> str:
        return "measured"


# --------------------------------------------------------------------------------------------
# flicker
# --------------------------------------------------------------------------------------------
#: points per decade of the log-spaced grid on which the OU bank is fitted to 1/f
_FIT_POINTS_PER_DECADE = 40


@dataclass(frozen=True)
class FlickerNoise:
    """Flicker (1/f) current noise, synthesised as a bank of Ornstein-Uhlenbeck processes.

    Ideal one-sided PSD: ``S(f) = white_psd * corner_frequency / f`` (A^2/Hz) for ``f`` in
    ``[f_min, f_max]`` (Hz); it equals ``white_psd`` at ``f = corner_frequency``.

    **Synthesis.**  ``K = ceil(poles_per_decade * log10(f_max/f_min)) + 1`` poles with corner
    frequencies ``f_k`` log-spaced from ``f_min`` to ``f_max`` inclusive; pole ``k`` is an OU
    current ``dy = -y/tau_k dt + sigma_k sqrt(2/tau_k) dW`` with ``tau_k = 1/(2 pi f_k)`` (s),
    stationary std ``sigma_k`` (A) and one-sided PSD ``4 sigma_k^2 tau_k / (1 + (2 pi f tau_k)^2)``.
    The Lorentzian weights ``W_k = 4 sigma_k^2 tau_k`` are written ``W_k = v_k * S_ideal(f_k)`` and
    the dimensionless ``v_k >= 0`` are a non-negative least-squares fit of the *relative* error
    ``S_bank(f)/S_ideal(f) - 1`` on a log grid (40 points per decade) over ``[f_min, f_max]``.
    (Without the fit, ``v_k = 2 / (pi d)`` with ``d`` poles per unit ``ln f`` gives the bulk level;
    the fit additionally flattens the ripple and lifts the band edges: at 2 poles per decade the
    bank is within about 1% of 1/f one decade in from the edges and within about 4% over the whole
    band.)  Poles whose fitted weight is zero are dropped.  Fewer than 2 poles per decade gives a
    visibly rippled spectrum (about 6% at 1 per decade).
    """

    white_psd: float
    corner_frequency: float
    f_min: float
    f_max: float
    poles_per_decade: float = 2.0
    name: str = "flicker"

    def __post_init__(self):
        _set(self, "white_psd", _as_float(
            "white_psd", self.white_psd, "a positive PSD in A^2/Hz"))
        _set(self, "corner_frequency", _as_float(
            "corner_frequency", self.corner_frequency, "a positive frequency in Hz"))
        _set(self, "f_min", _as_float("f_min", self.f_min, "a positive frequency in Hz"))
        _set(self, "f_max", _as_float("f_max", self.f_max, "a positive frequency in Hz"))
        if not self.f_max > self.f_min:
            raise _c.bad_input("f_max", f"a frequency in Hz above f_min = {self.f_min!r}",
                               f"{self.f_max!r} (f_min must be < f_max)")
        _set(self, "poles_per_decade", _as_float(
            "poles_per_decade", self.poles_per_decade, "a positive number of poles per decade"))
        _check_name(self.name)

    # -- interface -----------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "flicker"

    @property
    def is_white(self) -> bool:
        return False

    def ideal_psd(self, f) -> np.ndarray:
        """Ideal one-sided PSD ``white_psd * corner_frequency / f`` in A^2/Hz (``f`` in Hz, > 0).

        The formula is returned at every ``f``; the OU bank follows it only inside
        ``[f_min, f_max]``.
        """
        f = _freqs(f)
        return self.white_psd * self.corner_frequency / f

    def psd(self, f) -> np.ndarray:
        """One-sided PSD (A^2/Hz) of the simulated OU bank at frequencies ``f`` (Hz)."""
        f = _freqs(f)
        tau, sigma = self._bank
        return lorentzian_psd(4.0 * sigma**2 * tau, tau, f)

    def ou_bank(self) -> tuple[np.ndarray, np.ndarray]:
        """The OU bank as ``(time_constants (K,) in s, stddevs (K,) in A)`` (fresh copies).

        Pole ``k``: ``dy_k = -y_k/tau_k dt + sigma_k sqrt(2/tau_k) dW_k``; the flicker current is
        ``sum_k y_k``, of stationary variance ``sum_k sigma_k^2``.  Sorted by decreasing ``tau_k``.
        """
        tau, sigma = self._bank
        return tau.copy(), sigma.copy()

    def variance(self) -> float:
        """Stationary variance of the simulated flicker current, ``sum sigma_k^2``, in A^2."""
        return float(np.sum(self._bank[1] ** 2))

    def equivalent_psd(self, tau_u: float) -> float:
        """Node-equivalent white PSD in A^2/Hz for a node of time constant ``tau_u = C/G_m`` (s).

        ``S_eq = int S(f)|H(f)|^2 df / int |H(f)|^2 df`` with ``H = 1/(1 + 2 pi i f tau_u)``, for the
        simulated bank: ``sum_k 4 sigma_k^2 tau_k tau_u / (tau_k + tau_u)``.  With it, a node of
        curvature 1 driven by the bank has ``var(u) = S_eq / (4 G_m C V_u^2)`` exactly.
        """
        tau_u = _as_float("tau_u", tau_u, "a positive time constant in s")
        tau, sigma = self._bank
        return float(np.sum(one_pole_equivalent_psd(4.0 * sigma**2 * tau, tau, tau_u)))

    # -- construction of the bank ----------------------------------------------------------------
    @cached_property
    def _bank(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = math.log10(self.f_min), math.log10(self.f_max)
        decades = hi - lo
        k = max(2, int(math.ceil(self.poles_per_decade * decades - 1e-9)) + 1)
        f_k = np.logspace(lo, hi, k)
        n_grid = max(64, int(math.ceil(_FIT_POINTS_PER_DECADE * decades)) + 1)
        f = np.logspace(lo, hi, n_grid)
        # S_bank/S_ideal at f_j = sum_k v_k * x/(1+x^2), x = f_j/f_k  (columns O(1): well scaled)
        x = f[:, None] / f_k[None, :]
        design = x / (1.0 + x * x)
        v, _ = nnls(design, np.ones(n_grid), maxiter=50 * k)
        keep = v > 0.0
        f_k, v = f_k[keep], v[keep]
        weight = v * self.white_psd * self.corner_frequency / f_k   # W_k = 4 sigma_k^2 tau_k
        tau = 1.0 / (2.0 * np.pi * f_k)
        sigma = np.sqrt(weight / (4.0 * tau))
        order = np.argsort(-tau)
        tau, sigma = tau[order], sigma[order]
        tau.setflags(write=False)
        sigma.setflags(write=False)
        return tau, sigma


#: any of the four source types
NoiseSource = ThermalNoise | ShotNoise | FlickerNoise | InjectedNoise
