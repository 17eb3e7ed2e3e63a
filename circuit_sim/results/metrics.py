"""Figures of merit of an inference run: pure functions of its samples and its design.

Autocorrelation time and effective samples, power and energy per effective sample, and the
comparison with the exact posterior where one is computable (Gaussian closed form; grid
quadrature for M <= 2; a MALA reference up to :data:`MALA_REFERENCE_MAX_M` units).
"""

from __future__ import annotations

import numpy as np

import models

from . import quality

#: Fraction of the recorded samples discarded as burn-in in every statistic.
BURN_IN_FRACTION = 0.1
#: At most this many (thinned) samples enter the autocorrelation-time estimate.
MAX_IAT_SAMPLES = 20000
#: The MALA reference (spike-and-slab, M > 2) is part of every run's metrics up to this many
#: units (~0.1 s); call :func:`mala_comparison` explicitly beyond.
MALA_REFERENCE_MAX_M = 16
MALA_REFERENCE_STEPS = 20000


def burn_in(n_samples: int) -> int:
    """Number of leading samples excluded from statistics."""
    return int(BURN_IN_FRACTION * n_samples)


def histogram_edges(lo: float, hi: float, n_bins: int) -> np.ndarray:
    return np.linspace(lo, hi, n_bins + 1)


def _quantile_range(values: np.ndarray, density: np.ndarray, lo=1e-3, hi=1 - 1e-3):
    cdf = np.cumsum(density)
    if cdf[-1] <= 0:
        return values[0], values[-1]
    cdf = cdf / cdf[-1]
    return float(np.interp(lo, cdf, values)), float(np.interp(hi, cdf, values))


def u_edges(grid, i: int, n_bins: int = 30) -> np.ndarray:
    """Histogram edges for ``u_i`` covering the central 99.8% of the exact marginal."""
    return histogram_edges(*_quantile_range(grid.u_grid, grid.u_marginals[i]), n_bins)


def s_edges(grid, i: int, n_bins: int = 20) -> np.ndarray:
    """Histogram edges for the nonzero part of ``s_i``."""
    return histogram_edges(*_quantile_range(grid.s_grid, grid.s_densities[i]), n_bins)


def unit_autocorrelation_times(u: np.ndarray, s: np.ndarray, model) -> np.ndarray:
    """Integrated autocorrelation time of each unit, in samples (M,): the larger of its
    ``u_i``'s and (spike-and-slab) its activity indicator's, at least 1. Estimated on at
    most :data:`MAX_IAT_SAMPLES` thinned rows (a thinned series whose stride exceeds the
    correlation time gives one stride: an upper bound)."""
    thin = max(1, len(u) // MAX_IAT_SAMPLES)
    tau = np.atleast_1d(models.integrated_autocorrelation_time(u[::thin])).astype(float)
    if model.prior == "laplace" and model.u0 > 0:
        active = (s[::thin] != 0).astype(float)
        varying = np.std(active, axis=0) > 0
        if np.any(varying):
            tau_a = np.atleast_1d(models.integrated_autocorrelation_time(active[:, varying]))
            tau[varying] = np.fmax(tau[varying], tau_a)
    return np.maximum(np.nan_to_num(tau, nan=1.0), 1.0) * thin


def sampling_metrics(u: np.ndarray, s: np.ndarray, model, record_interval: float,
                     taus: np.ndarray | None = None) -> dict:
    """Autocorrelation time (s of circuit time per effective sample), ESS and effective
    samples per second, from the kept samples ``u``, ``s`` (K, M) recorded every
    ``record_interval`` s. The slowest unit counts (:func:`unit_autocorrelation_times`;
    ``taus``: those already computed)."""
    if len(u) < 20:
        return {}
    taus = unit_autocorrelation_times(u, s, model) if taus is None else taus
    tau_s = float(np.max(taus)) * record_interval
    return {"autocorrelation_time": tau_s, "ess": len(u) * record_interval / tau_s,
            "ess_per_second": 1.0 / tau_s}


def power_metrics(circuit, n_components: int, autocorrelation_time: float | None) -> dict:
    """Power per unit and in total (supply current, else bias current, x supply voltage),
    energy per effective sample."""
    current = circuit.supply_current if circuit.supply_current is not None else \
        circuit.bias_current
    if current is None or circuit.supply_voltage is None:
        return {}
    p_unit = current * circuit.supply_voltage
    out = {"power_per_unit": p_unit, "power_total": p_unit * n_components}
    if autocorrelation_time is not None:
        out["energy_per_sample"] = out["power_total"] * autocorrelation_time
    return out


def gaussian_comparison(u: np.ndarray, model, x: np.ndarray) -> dict:
    """Closed-form Gaussian posterior (T = 1): relative Frobenius error of the sample
    covariance, mean error in posterior s.d., and the measured temperature ``tr(A C_hat) / M``
    (``A`` the posterior precision)."""
    mean, cov = models.gaussian_posterior(model, x)
    c_hat = np.atleast_2d(np.cov(u, rowvar=False))
    a = models.gaussian_precision(model)
    cov_error = float(np.linalg.norm(c_hat - cov) / np.linalg.norm(cov))
    return {"mean_error": float(np.linalg.norm(u.mean(0) - mean) / np.sqrt(np.trace(cov))),
            "cov_error": cov_error, "posterior_error": cov_error,
            "T_measured": float(np.trace(a @ c_hat) / model.n_components)}


def grid_comparison(u: np.ndarray, s: np.ndarray, model, x: np.ndarray) -> dict:
    """Grid quadrature (M <= 2): total-variation distance of the marginals of ``u`` and of
    ``s`` (zero mass included) and the zero masses."""
    grid = models.grid_posterior(model, x)
    out, tv_u, tv_s = {}, [], []
    for i in range(model.n_components):
        tv_u.append(models.u_total_variation(u[:, i], grid, i, u_edges(grid, i)))
        tv_s.append(models.s_total_variation(s[:, i], grid, i, s_edges(grid, i)))
        out[f"zero_mass_{i}"] = float(np.mean(s[:, i] == 0))
        out[f"zero_mass_exact_{i}"] = float(grid.s_zero_mass[i])
    out["tv_u"], out["tv_s"] = float(max(tv_u)), float(max(tv_s))
    out["posterior_error"] = out["tv_s"]
    return out


def mala_reference(u: np.ndarray, model, x: np.ndarray, rng: np.random.Generator,
                   n_chains: int = 8, n_steps: int = MALA_REFERENCE_STEPS) -> dict:
    """A MALA reference on the posterior of ``x`` (exact for any M): ``n_chains`` chains
    started from recorded circuit states ``u`` (K, M), step ``0.5 / lambda_max``, first 20%
    dropped, every 5th step kept.

    Returns
    -------
    dict
        ``s`` (n, M) reference codes (``chains``: the same as (K, chains, M)), ``acceptance``, ``ess`` (from the slowest chain's activity
        autocorrelation).
    """
    starts = u[rng.choice(len(u), size=n_chains, replace=False)] if len(u) >= n_chains \
        else np.repeat(u[-1:], n_chains, axis=0)
    step = 0.5 / models.lambda_max(model)
    samples, acc = models.mala(model, x, starts, n_steps=n_steps, step=step, rng=rng,
                               record_every=5)
    kept = samples[len(samples) // 5:]                   # (K, chains, M)
    codes = models.soft_threshold(kept, model.u0, model.positive)
    active = (codes != 0).astype(float)
    taus = [models.integrated_autocorrelation_time(active[:, c]) for c in range(n_chains)]
    tau = max(1.0, float(np.nanmax(np.concatenate([np.atleast_1d(t) for t in taus]))))
    ref_s = codes.reshape(-1, model.n_components)
    return {"s": ref_s, "chains": codes, "acceptance": float(np.mean(acc)),
            "ess": float(len(ref_s) / tau)}


def mala_comparison(u: np.ndarray, s: np.ndarray, model, x: np.ndarray,
                    rng: np.random.Generator, n_chains: int = 8,
                    n_steps: int = MALA_REFERENCE_STEPS, ess=None, ref: dict | None = None) -> dict:
    """Compare with a MALA reference (:func:`mala_reference`; ``ref``: one already run on
    the same posterior, e.g. shared by the chips of an ensemble).

    ``posterior_error`` is the largest marginal TV distance of a code ``s_i`` between
    circuit and reference (:func:`models.code_total_variation`); also the largest
    difference of activity ``P(s_i != 0)`` and of ``E[s_i]`` (in reference s.d.). Their
    noise floors at the two runs' effective sample sizes (``*_floor``,
    :func:`.quality.mala_floors`) when the circuit's per-unit ``ess`` (M,) is given.
    """
    ref = mala_reference(u, model, x, rng, n_chains, n_steps) if ref is None else ref
    ref_s = ref["s"]
    tv = [models.code_total_variation(s[:, i], ref_s[:, i]) for i in range(model.n_components)]
    sd = np.maximum(ref_s.std(0), 1e-12)
    return {"posterior_error": float(max(tv)), "tv_s_vs_mala": float(max(tv)),
            "activity_error_vs_mala": float(np.max(np.abs(np.mean(s != 0, 0)
                                                          - np.mean(ref_s != 0, 0)))),
            "mean_error_vs_mala": float(np.max(np.abs(s.mean(0) - ref_s.mean(0)) / sd)),
            "mala_acceptance": ref["acceptance"], "mala_samples": int(len(ref_s)),
            "mala_ess": ref["ess"],
            **(quality.mala_floors(s, ref["chains"], ess, ref["ess"])
               if ess is not None else {})}


def uses_mala(design) -> bool:
    """Whether the design's posterior is judged against a MALA reference."""
    m = design.model
    return (m.prior != "gaussian" and m.n_components > 2 and design.learning is None
            and not design.is_stream and m.n_components <= MALA_REFERENCE_MAX_M)


def exact_comparison(u: np.ndarray, s: np.ndarray, design, x: np.ndarray,
                     unit_ess: np.ndarray | None = None, mala_ref: dict | None = None) -> dict:
    """The comparison with the exact posterior that the design admits (see the module
    docstring), plus the activity and its bias against the prior's ``pi``. With each
    unit's effective sample size ``unit_ess`` (M,), also the floors of :mod:`.quality`
    (the Gaussian ones at the slowest unit's). ``mala_ref``: a MALA reference already run
    on this posterior (:func:`mala_reference`)."""
    model = design.model
    out = {}
    if len(u) < 20:
        return out
    if model.prior == "gaussian":
        out.update(gaussian_comparison(u, model, x))
        if unit_ess is not None and not design.records_devices:
            h = design.dt / design.tau_u if design.integrator == "euler" else None
            out.update(quality.gaussian_floors(u, model, x, float(np.min(unit_ess)),
                                               T_eff=design.T_eff, euler_step=h))
    elif model.n_components <= 2:
        out.update(grid_comparison(u, s, model, x))
        if unit_ess is not None:
            out.update(quality.grid_floors(models.grid_posterior(model, x), u, s, unit_ess,
                                           u_edges, s_edges))
    elif uses_mala(design):
        out.update(mala_comparison(u, s, model, x, design.seeds.rng("mala"), ess=unit_ess,
                                   ref=mala_ref))
    if model.prior == "laplace":
        out["activity"] = float(np.mean(s != 0))
        if model.pi is not None and model.pi > 0:
            out["activity_bias"] = out["activity"] / model.pi - 1.0
        out.update(quality.activity_se(s, model.pi))
    return out


def compute_metrics(res) -> dict:
    """Every figure of merit of an :class:`~circuit_sim.results.InferenceResult`."""
    design = res.design
    ts = design.timestep
    mt = {"tau_u": design.tau_u, "T_eff": design.T_eff, "dt": ts.dt, "h": ts.dt / design.tau_u,
          "lambda_max": ts.lambda_max, "n_samples": int(len(res.t) - res.burn_in)}
    u, s = res.kept(res.u), res.kept(res.s)
    taus = unit_autocorrelation_times(u, s, design.model) if len(u) >= 20 else None
    mt.update(sampling_metrics(u, s, design.model, ts.record_stride * ts.dt, taus))
    mt.update(power_metrics(design.circuit, design.n_components,
                            mt.get("autocorrelation_time")))
    mt.update(exact_comparison(u, s, design, res.x, None if taus is None else len(u) / taus))
    return mt
