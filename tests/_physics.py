"""Statistical helpers for the physics tests: every tolerance comes from an effective sample size.

``break_noise`` is the deliberate-breakage switch: it scales every noise amplitude of the
resolved design (what the circuit is driven with, not the budget) by a factor (sqrt(2) is the classic one-sided/two-sided PSD bug), so
each statistical check can be shown to fail when the physics is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

import models
import circuit_sim.design.resolved as design_resolve

Z = 4.0  # every statistical assertion allows 4 standard errors


@contextlib.contextmanager
def break_noise(factor: float):
    """Within the block, every design resolved gets its noise amplitudes multiplied by
    ``factor`` (white sources per unit and flicker OU poles) while its budget still states
    the intended ``T_eff``: the circuit then runs with the wrong noise on every path that
    builds one (inference, learning). Configs must be made inside the block (a design is
    resolved once per config)."""
    original = design_resolve.resolve_noise

    def broken(*args, **kwargs):
        nd = original(*args, **kwargs)
        if nd.white_amplitude is None and not nd.flicker:  # not AssertionError: tests expect that
            raise RuntimeError("break_noise: no noise amplitude found in the design")
        amp = None if nd.white_amplitude is None else nd.white_amplitude * factor
        flicker = tuple((taus, sds * factor) for taus, sds in nd.flicker)
        return dataclasses.replace(nd, white_amplitude=amp, flicker=flicker)

    design_resolve.resolve_noise = broken
    try:
        yield
    finally:
        design_resolve.resolve_noise = original


def mean_and_se(series: np.ndarray) -> tuple[float, float]:
    """Mean of a 1-D correlated series and its standard error from the integrated
    autocorrelation time (Sokal window): ``se = std / sqrt(n / tau)``."""
    series = np.asarray(series, dtype=float)
    tau = float(models.integrated_autocorrelation_time(series[:, None])[0])
    return float(series.mean()), float(series.std(ddof=1) * np.sqrt(max(tau, 1.0) / len(series)))


temperature_series = models.temperature_series


def euler_temperature_factor(model, x, h: float) -> float:
    """``tr(A C_h) / M``: what the temperature estimator gives for an Euler-Maruyama chain of
    step ``h`` at T = 1 (its stationary covariance is ``(A - h A^2 / 2)^-1``)."""
    _, cov = models.gaussian_posterior(model, x)
    _, cov_h = models.gaussian_posterior(model, x, euler_step=h)
    return float(np.trace(np.linalg.inv(cov) @ cov_h) / model.n_components)


def tv_noise_bound(p: np.ndarray, n_eff: float, seed: int = 0, n_boot: int = 400) -> tuple[float, float]:
    """Mean and mean + Z sd of the total-variation distance between the exact bin
    probabilities ``p`` and a histogram of ``n_eff`` independent draws (parametric bootstrap).
    An exact sampler's TV exceeds the second number with negligible probability."""
    rng = np.random.default_rng(seed)
    n = max(int(n_eff), 1)
    tv = 0.5 * np.abs(rng.multinomial(n, p / p.sum(), size=n_boot) / n - p).sum(axis=1)
    return float(tv.mean()), float(tv.mean() + Z * tv.std(ddof=1))
