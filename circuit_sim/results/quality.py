"""How far each figure of merit of a run can be trusted: standard errors and noise floors.

A figure of merit estimated from a finite chain is never exactly its ideal value. For each
one this module gives either a **standard error** (``<name>_se``: the estimate's spread from
its own autocorrelation) or a **noise floor** (``<name>_floor``: what an exact sampler with the
same effective sample size would show on average, for distances that are positive by
construction, such as a TV distance or a relative covariance error). A value well above its
floor is a real difference from the reference; a value at its floor says the run is too short
to see one. Where the integrator has a known bias (Euler-Maruyama on a Gaussian posterior),
the expected value is given too (``<name>_expected``).

Floors of per-unit distances use each unit's own effective sample size (the smaller of its
``u_i``'s and its activity indicator's, :func:`.metrics.unit_autocorrelation_times`); the
Gaussian covariance, mean and temperature use the run's ``ess`` (the slowest unit's).
"""

from __future__ import annotations

import numpy as np

import models

#: Monte Carlo draws for the expected maximum of independent |normal| errors (fixed seed).
MAX_DRAWS = 4000


def _normal_draws(m: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((MAX_DRAWS, m))


def expected_max_abs(sd) -> float:
    """``E[max_i |Z_i| sd_i]`` for independent normal errors of s.d. ``sd`` (shape (M,)):
    the floor of a "largest over units" difference (fixed-seed Monte Carlo)."""
    sd = np.atleast_1d(np.asarray(sd, dtype=float))
    return float(np.mean(np.max(np.abs(_normal_draws(sd.size)) * sd, axis=1)))


def expected_max(mean, sd) -> float:
    """``E[max_i X_i]`` for independent ``X_i ~ N(mean_i, sd_i)`` (shape (M,)): the floor of
    the largest of M per-unit distances, each with its own floor and spread."""
    mean, sd = np.atleast_1d(mean).astype(float), np.atleast_1d(sd).astype(float)
    return float(np.mean(np.max(mean + _normal_draws(mean.size) * sd, axis=1)))


def gaussian_floors(u: np.ndarray, model, x: np.ndarray, ess: float, *, T_eff: float,
                    euler_step: float | None) -> dict:
    """Floors of the Gaussian comparison (:func:`.metrics.gaussian_comparison`).

    * ``cov_error_floor``: ``sqrt((|C|_F^2 + tr(C)^2) / ess) / |C|_F``, the rms relative
      Frobenius error of a sample covariance of ``ess`` independent draws, combined in
      quadrature with the integrator's own bias ``|C_h - C|_F / |C|_F`` (Euler-Maruyama).
    * ``mean_error_floor``: ``1 / sqrt(ess)`` (rms distance of a sample mean, in posterior s.d.).
    * ``T_measured_se`` from the per-sample temperature series
      (:func:`models.temperature_series`), and ``T_measured_expected``: ``T_eff`` times the
      integrator's factor ``tr(A C_h) / M`` (1 for Leimkuhler-Matthews, ``1/(1 - h lambda/2)``
      per mode for Euler-Maruyama at ``h = dt / tau_u``).
    """
    _, cov = models.gaussian_posterior(model, x)
    f = np.linalg.norm(cov)
    noise = np.sqrt((f ** 2 + np.trace(cov) ** 2) / ess) / f
    out = {"mean_error_floor": float(1.0 / np.sqrt(ess))}
    factor, bias = 1.0, 0.0
    if euler_step is not None:
        _, cov_h = models.gaussian_posterior(model, x, euler_step=euler_step)
        a = models.gaussian_precision(model)
        factor = float(np.trace(a @ cov_h) / model.n_components)
        bias = float(np.linalg.norm(cov_h - cov) / f)
    out["cov_error_floor"] = float(np.hypot(noise, bias))
    out["posterior_error_floor"] = out["cov_error_floor"]
    out["T_measured_expected"] = float(T_eff * factor)
    q = models.temperature_series(u, model, x)
    out["T_measured_se"] = models.mean_and_standard_error(q)[1]
    return out


def _histogram_floor(p, ess_bins) -> tuple[float, float]:
    """Mean and s.d. of the TV distance of a histogram with bin probabilities ``p`` and
    per-bin effective sizes from its truth: a sum of half-normal terms ``|Z_b| sd_b / 2``
    (mean ``sqrt(2/pi) sd_b / 2``, variance ``(1 - 2/pi) sd_b^2 / 4``)."""
    p, n = np.clip(p, 0.0, 1.0), np.maximum(ess_bins, 1e-9)
    sd_b = np.sqrt(p * (1 - p) / n)
    return (models.expected_total_variation(p, n),
            float(0.5 * np.sqrt((1 - 2 / np.pi) * np.sum(sd_b ** 2))))


def grid_floors(grid, u: np.ndarray, s: np.ndarray, ess, u_edges, s_edges) -> dict:
    """Floors of the grid comparison (:func:`.metrics.grid_comparison`): the expected TV
    distance of the run's histograms from the exact bin probabilities if the run were an
    exact sampler with the same autocorrelations (:func:`models.expected_total_variation`
    with each bin's own effective size, :func:`models.bin_effective_sizes`; the expected
    largest over units, :func:`expected_max`), and the standard error of each zero mass ``sqrt(p0 (1 - p0) / ess[i])``
    (``ess`` per unit, shape (M,))."""
    out, fu, fs = {}, [], []
    ess = np.broadcast_to(np.asarray(ess, dtype=float), (u.shape[1],))
    for i in range(u.shape[1]):
        eu, es = u_edges(grid, i), s_edges(grid, i)
        p_u = models.u_bin_probabilities(u[:, i], grid, i, eu)[1]
        p_s = models.s_bin_probabilities(s[:, i], grid, i, es)[1]
        fu.append(_histogram_floor(p_u, models.bin_effective_sizes(
            models.bin_labels(u[:, i], eu), p_u.size)))
        fs.append(_histogram_floor(p_s, models.bin_effective_sizes(
            models.bin_labels(s[:, i], es, atom=True), p_s.size)))
        p0 = float(grid.s_zero_mass[i])
        out[f"zero_mass_{i}_se"] = float(np.sqrt(p0 * (1 - p0) / ess[i]))
    out["tv_u_floor"], out["tv_s_floor"] = expected_max(*zip(*fu)), expected_max(*zip(*fs))
    out["posterior_error_floor"] = out["tv_s_floor"]
    return out


def mala_floors(s: np.ndarray, ref_chains: np.ndarray, ess, ref_ess: float,
                n_bins: int = 20) -> dict:
    """Floors of the MALA comparison (:func:`.metrics.mala_comparison`).

    Two samples differ per bin by ``sqrt(p (1 - p) (1/n_a + 1/n_b))`` with each bin's
    effective sizes ``n_a``, ``n_b`` in the circuit's chain ``s`` (K, M) and the reference's
    chains ``ref_chains`` (K', chains, M) (:func:`models.bin_effective_sizes`), on the bins of
    :func:`models.code_total_variation`; the expected largest over units
    (:func:`expected_max`). Differences of activity and of ``E[s_i]`` (in s.d.)
    use the circuit's per-unit ``ess`` (M,) and the reference's ``ref_ess``, largest over
    units (:func:`expected_max_abs`).
    """
    m = s.shape[1]
    ref = ref_chains.reshape(-1, m)
    ess = np.broadcast_to(np.asarray(ess, dtype=float), (m,))
    tv = []
    for i in range(m):
        edges = models.code_edges(s[:, i], ref[:, i], n_bins)
        k = edges.size + 1
        la = models.bin_labels(s[:, i], edges, atom=True)
        lb = models.bin_labels(ref_chains[..., i], edges, atom=True).reshape(ref_chains.shape[:2])
        p = np.bincount(np.concatenate([la, lb.ravel()]), minlength=k) / (la.size + lb.size)
        n = 1.0 / (1.0 / np.maximum(models.bin_effective_sizes(la, k), 1e-9)
                   + 1.0 / np.maximum(models.bin_effective_sizes(lb, k), 1e-9))
        tv.append(_histogram_floor(p, n))
    a = np.mean(ref != 0, axis=0)
    n_act = 1.0 / (1.0 / ess + 1.0 / ref_ess)
    tv = expected_max(*zip(*tv))
    return {"posterior_error_floor": tv, "tv_s_vs_mala_floor": tv,
            "activity_error_vs_mala_floor": expected_max_abs(np.sqrt(a * (1 - a) / n_act)),
            "mean_error_vs_mala_floor": expected_max_abs(np.sqrt(1.0 / n_act))}


def activity_se(s: np.ndarray, pi: float | None) -> dict:
    """Standard error of the activity (fraction of nonzero codes, all units) from the
    autocorrelation of its per-sample series, and of ``activity / pi - 1``."""
    if len(s) < 2:
        return {}
    se = models.mean_and_standard_error(np.mean(s != 0, axis=1))[1]
    out = {"activity_se": float(se)}
    if pi:
        out["activity_bias_se"] = float(se / pi)
    return out
