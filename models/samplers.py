"""Digital reference samplers of ``exp(-E(u)/T)``, batched over independent chains.

All samplers work on ``C`` independent chains at once (``u`` of shape ``(C, M)``, float64)
and use one ``(C, M) @ (M, M)`` matrix product per gradient evaluation, with
``G = Phi^T Phi`` and ``b = Phi^T x`` precomputed: ``Phi^T (x - Phi s) = b - s G``.

Step sizes are dimensionless: ``h = dt / tau_u``. Recording convention: the state *before*
the update is recorded at steps ``0, k, 2k, ...`` (``k = record_every``), so the first record is
``u_init`` and the output has ``n_steps // record_every`` records.
"""

from __future__ import annotations

import numpy as np

from . import constraints as v
from .sparse_coding import (SparseCodingModel, _check_model, _check_x,
                            energy_from_gram, energy_gradient, gradient_from_gram, gram_terms)

__all__ = ["langevin_drift", "euler_maruyama", "mala", "map_descent"]


def langevin_drift(model: SparseCodingModel, u, x) -> np.ndarray:
    """Langevin drift ``-dE/du``.

    Parameters
    ----------
    model : SparseCodingModel
    u : array_like, shape (..., M)
    x : array_like, shape (N,)

    Returns
    -------
    numpy.ndarray, shape (..., M)
    """
    return -energy_gradient(model, u, x)


def _noise_scale(temperature: float, step: float) -> float:
    """Standard deviation of the Euler-Maruyama increment: ``sqrt(2 T h)``."""
    return float(np.sqrt(2.0 * temperature * step))


def _common_args(model, x, u_init, n_steps, step, record_every):
    model = _check_model(model)
    x = _check_x(model, x)
    u = v.float_array("u_init", u_init,
                      expected_shape=f"(C, M) with M = {model.n_components}", ndim=2,
                      last_dim=model.n_components)
    if u.shape[0] < 1:
        raise v.bad_input("u_init", "an array of shape (C, M) with C >= 1", f"shape {u.shape}")
    n_steps = v.integer("n_steps", n_steps, lower=1)
    step = v.real_scalar("step", step, lower=0.0, lower_inclusive=False)
    record_every = v.integer("record_every", record_every, lower=1)
    return model, x, np.array(u, dtype=np.float64, copy=True), n_steps, step, record_every


def euler_maruyama(model: SparseCodingModel, x, u_init, *, n_steps: int, step: float,
                   temperature: float = 1.0, rng: np.random.Generator | None = None,
                   record_every: int = 1) -> np.ndarray:
    """Unadjusted Langevin chains by Euler-Maruyama.

    ``u_{n+1} = u_n - h grad E(u_n) + sqrt(2 T h) xi_n``, ``xi_n ~ N(0, I)``, ``h = step``.
    Its stationary law is not exactly ``exp(-E/T)`` at finite ``h`` (for a Gaussian posterior
    see :func:`models.exact.gaussian_posterior` with ``euler_step``).

    Parameters
    ----------
    model : SparseCodingModel
    x : array_like, shape (N,)
    u_init : array_like, shape (C, M)
        Initial states of ``C`` independent chains.
    n_steps : int
        Number of updates (>= 1).
    step : float
        ``h = dt / tau_u > 0``.
    temperature : float
        ``T >= 0``; ``T = 0`` is deterministic gradient descent (``rng`` may be None).
    rng : numpy.random.Generator or None
        Required when ``T > 0``. One ``standard_normal((C, M))`` draw per step.
    record_every : int
        Thinning ``k >= 1``.

    Returns
    -------
    numpy.ndarray, shape (n_steps // record_every, C, M)
        States before the update at steps ``0, k, 2k, ...``.
    """
    model, x, u, n_steps, h, k = _common_args(model, x, u_init, n_steps, step, record_every)
    t = v.real_scalar("temperature", temperature, lower=0.0)
    if t > 0.0:
        rng = v.generator("rng", rng)
    elif rng is not None:
        rng = v.generator("rng", rng)
    gram, b = gram_terms(model, x)
    noise = _noise_scale(t, h)
    n_rec = n_steps // k
    out = np.empty((n_rec, u.shape[0], u.shape[1]))
    for n in range(n_steps):
        if n % k == 0 and n // k < n_rec:
            out[n // k] = u
        u = u - h * gradient_from_gram(model, u, gram, b)
        if t > 0.0:
            u = u + noise * rng.standard_normal(u.shape)
    return out


def mala(model: SparseCodingModel, x, u_init, *, n_steps: int, step: float,
         temperature: float = 1.0, rng: np.random.Generator, record_every: int = 1
         ) -> tuple[np.ndarray, np.ndarray]:
    """Metropolis-adjusted Langevin algorithm targeting ``exp(-E(u)/T)`` exactly.

    Proposal ``y = u - h grad E(u) + sqrt(2 T h) xi``; accepted with probability
    ``min(1, exp(-(E(y) - E(u))/T) q(u|y) / q(y|u))`` where
    ``q(y|u) ∝ exp(-|y - u + h grad E(u)|^2 / (4 T h))``. Exact for any ``M`` and any ``h``
    (the step only affects efficiency), including the non-smooth spike-and-slab energy.

    Parameters
    ----------
    model : SparseCodingModel
    x : array_like, shape (N,)
    u_init : array_like, shape (C, M)
    n_steps : int
        Number of proposals (>= 1).
    step : float
        ``h > 0``.
    temperature : float
        ``T > 0``.
    rng : numpy.random.Generator
    record_every : int
        Thinning ``k >= 1``.

    Returns
    -------
    samples : numpy.ndarray, shape (n_steps // record_every, C, M)
        States before the update at steps ``0, k, 2k, ...``.
    acceptance_rate : numpy.ndarray, shape (C,)
        Fraction of accepted proposals per chain.
    """
    model, x, u, n_steps, h, k = _common_args(model, x, u_init, n_steps, step, record_every)
    t = v.real_scalar("temperature", temperature, lower=0.0, lower_inclusive=False)
    rng = v.generator("rng", rng)
    gram, b = gram_terms(model, x)
    xx = float(x @ x)
    noise = _noise_scale(t, h)
    four_th = 4.0 * t * h  # proposal variance 2 T h, written out (not via _noise_scale)
    e_u = energy_from_gram(model, u, gram, b, xx)
    g_u = gradient_from_gram(model, u, gram, b)
    accepted = np.zeros(u.shape[0])
    n_rec = n_steps // k
    out = np.empty((n_rec, u.shape[0], u.shape[1]))
    for n in range(n_steps):
        if n % k == 0 and n // k < n_rec:
            out[n // k] = u
        y = u - h * g_u + noise * rng.standard_normal(u.shape)
        e_y = energy_from_gram(model, y, gram, b, xx)
        g_y = gradient_from_gram(model, y, gram, b)
        fwd = y - u + h * g_u
        bwd = u - y + h * g_y
        log_alpha = (-(e_y - e_u) / t
                     - np.sum(bwd * bwd, axis=1) / four_th + np.sum(fwd * fwd, axis=1) / four_th)
        acc = np.log(rng.random(u.shape[0])) < log_alpha
        u = np.where(acc[:, None], y, u)
        e_u = np.where(acc, e_y, e_u)
        g_u = np.where(acc[:, None], g_y, g_u)
        accepted += acc
    return out, accepted / n_steps


def map_descent(model: SparseCodingModel, x, u_init, *, n_steps: int, step: float) -> np.ndarray:
    """Zero-temperature gradient descent ``u <- u - h grad E(u)`` (LCA / ISTA-like dynamics).

    Parameters
    ----------
    model : SparseCodingModel
    x : array_like, shape (N,)
    u_init : array_like, shape (C, M)
    n_steps : int
        Number of updates (>= 1).
    step : float
        ``h > 0`` (stable for ``h < max_stable_step(model)``).

    Returns
    -------
    numpy.ndarray, shape (C, M)
        Final state.
    """
    model, x, u, n_steps, h, _ = _common_args(model, x, u_init, n_steps, step, 1)
    gram, b = gram_terms(model, x)
    for _ in range(n_steps):
        u = u - h * gradient_from_gram(model, u, gram, b)
    return u
