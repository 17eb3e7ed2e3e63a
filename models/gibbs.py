"""An exact Gibbs sampler of the spike-and-slab posterior (Laplace prior on ``u``, soft
threshold ``u0``): the discretisation-free reference the circuit is checked against.

In ``s`` the posterior is ``p(s | x) ∝ exp(-|x - Phi s|^2 / 2 sigma^2) prod_i p(s_i)`` with
the spike-and-slab prior implied by the soft threshold (SPEC section 2): ``P(s_i = 0) =
1 - exp(-lam u0)`` carried by the dead zone ``|u_i| <= u0``, and for ``s_i != 0`` the density
``exp(-lam u0) exp(-lam |s_i|)`` (twice that for ``s_i > 0`` in the positive variant, where
both ``u = +-(s + u0)`` map to ``s``). Given the other coefficients, with
``a = |phi_i|^2 / sigma^2`` and ``b = phi_i . r_-i / sigma^2`` (``r_-i`` the residual without
unit ``i``), the conditional of ``s_i`` is a spike of weight ``w0 = 2 (1 - e^{-lam u0}) / lam``
and two half-Gaussians of weights

    ``w+ = e^{-lam u0} sqrt(2 pi / a) exp((b - lam)^2 / 2a) Phi((b - lam) / sqrt(a))``  (s > 0)
    ``w- = e^{-lam u0} sqrt(2 pi / a) exp((b + lam)^2 / 2a) Phi(-(b + lam) / sqrt(a))`` (s < 0)

each a normal of variance ``1/a`` and mean ``(b -+ lam) / a`` truncated to its half-line.
Every draw is exact, so the chain's stationary law is the posterior with no step-size bias.
:func:`u_from_s` completes a draw of ``s`` into one of ``u`` (inside the dead zone ``u`` is
the prior restricted to ``[-u0, u0]``, independent of everything else).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtri

from . import constraints as v
from .sparse_coding import SparseCodingModel, _check_model, _check_x


def _half_normal(mean: np.ndarray, sd: float, positive: bool, rng) -> np.ndarray:
    """Draws of N(mean, sd^2) truncated to (0, inf) (``positive``) or (-inf, 0)."""
    alpha = -mean / sd if positive else mean / sd  # standardised distance to the boundary
    log_tail = log_ndtr(-alpha)                    # mass beyond the boundary
    z = -ndtri(np.exp(np.log(rng.random(mean.shape)) + log_tail))
    z = np.maximum(z, alpha)                       # round-off at extreme tails
    return mean + sd * z if positive else mean - sd * z


def _log_weights(model: SparseCodingModel, a: float, b: np.ndarray) -> np.ndarray:
    """log (w0, w+, w-) per chain, shape (C, 3)."""
    lam, u0 = model.lam, model.u0
    log_w0 = np.log(2.0 * -np.expm1(-lam * u0) / lam) if u0 > 0 else -np.inf
    common = -lam * u0 + 0.5 * np.log(2.0 * np.pi / a)
    sa = np.sqrt(a)
    log_wp = common + (b - lam) ** 2 / (2 * a) + log_ndtr((b - lam) / sa)
    if model.positive:
        log_wp = log_wp + np.log(2.0)
        log_wm = np.full_like(b, -np.inf)
    else:
        log_wm = common + (b + lam) ** 2 / (2 * a) + log_ndtr(-(b + lam) / sa)
    return np.stack([np.broadcast_to(log_w0, b.shape), log_wp, log_wm], axis=1)


def _sweep(model: SparseCodingModel, x: np.ndarray, s: np.ndarray, rng) -> None:
    """One systematic-scan sweep over the units, in place (s: (C, M))."""
    phi, sig2, lam = model.dictionary, model.sigma ** 2, model.lam
    r = x[None, :] - s @ phi.T
    for i in range(model.n_components):
        col = phi[:, i]
        r += np.outer(s[:, i], col)       # residual without unit i
        a = float(col @ col) / sig2
        b = (r @ col) / sig2
        lw = _log_weights(model, a, b)
        p = np.exp(lw - lw.max(axis=1, keepdims=True))
        cum = np.cumsum(p, axis=1)
        pick = (rng.random(len(b))[:, None] * cum[:, -1:] > cum).sum(axis=1)  # 0, 1 or 2
        new = np.zeros(len(b))
        sd = 1.0 / np.sqrt(a)
        for branch, positive, mean in ((1, True, (b - lam) / a), (2, False, (b + lam) / a)):
            sel = pick == branch
            if np.any(sel):
                new[sel] = _half_normal(mean[sel], sd, positive, rng)
        s[:, i] = new
        r -= np.outer(new, col)


def gibbs_spike_and_slab(model: SparseCodingModel, x, s_init, *, n_sweeps: int,
                         rng: np.random.Generator, record_every: int = 1) -> np.ndarray:
    """Exact Gibbs sampling of the codes ``s`` of the spike-and-slab posterior.

    Parameters
    ----------
    model : SparseCodingModel
        Laplace prior (signed or positive soft threshold).
    x : array_like, shape (N,)
    s_init : array_like, shape (C, M)
        One start per independent chain.
    n_sweeps : int
        Systematic-scan sweeps (each updates every unit once).
    rng : numpy.random.Generator
    record_every : int
        Record every this many sweeps.

    Returns
    -------
    ndarray, shape (n_sweeps // record_every, C, M)
        The codes after each recorded sweep.
    """
    model = _check_model(model)
    if model.prior != "laplace":
        raise v.bad_input("model.prior", "'laplace' for the spike-and-slab Gibbs sampler",
                          repr(model.prior))
    x = _check_x(model, x)
    s = np.array(v.float_array("s_init", s_init, expected_shape="(C, M)", ndim=2,
                               last_dim=model.n_components), dtype=float)
    n_sweeps = v.integer("n_sweeps", n_sweeps, lower=1)
    record_every = v.integer("record_every", record_every, lower=1)
    rng = v.generator("rng", rng)
    out = np.empty((n_sweeps // record_every, *s.shape))
    for k in range(n_sweeps):
        _sweep(model, x, s, rng)
        if (k + 1) % record_every == 0 and (k + 1) // record_every <= len(out):
            out[(k + 1) // record_every - 1] = s
    return out


def u_from_s(model: SparseCodingModel, s, rng: np.random.Generator) -> np.ndarray:
    """A draw of ``u`` given codes ``s`` (any shape ending in M): ``u = sign(s)(|s| + u0)``
    for an active unit (a random sign in the positive variant), and for ``s = 0`` the prior
    restricted to the dead zone, ``p(u) ∝ exp(-lam |u|)`` on ``[-u0, u0]``."""
    model = _check_model(model)
    s = np.asarray(s, dtype=float)
    rng = v.generator("rng", rng)
    lam, u0 = model.lam, model.u0
    sign = rng.choice([-1.0, 1.0], size=s.shape)
    mag_dead = -np.log1p(-rng.random(s.shape) * -np.expm1(-lam * u0)) / lam
    if model.positive:
        active = np.where(s != 0, sign * (np.abs(s) + u0), 0.0)
    else:
        active = np.sign(s) * (np.abs(s) + u0)
    return np.where(s != 0, active, sign * mag_dead)
