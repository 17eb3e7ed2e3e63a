"""Exact posteriors: closed form (Gaussian prior) and grid quadrature (M <= 2).

These are the references that samplers and the circuit simulation are judged against
(SPEC section 5, items 1 and 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import constraints as v
from .sparse_coding import (SparseCodingModel, _check_model, _check_x, _coefficients,
                            _prior_energy, gram_terms, lambda_max)

__all__ = [
    "gaussian_posterior",
    "temperature_series",
    "GridPosterior",
    "grid_posterior",
    "total_variation",
    "s_total_variation",
    "u_total_variation",
]

#: Tail mass (per axis) that the automatic ``u_max`` leaves outside the grid.
_TAIL_MASS = 1e-11
_DEFAULT_N_GRID = {1: 20001, 2: 1201}
_COARSE_N_GRID = {1: 4001, 2: 401}


# --------------------------------------------------------------------------------------------
# Gaussian prior: closed form
# --------------------------------------------------------------------------------------------

def gaussian_precision(model: SparseCodingModel) -> np.ndarray:
    """Posterior precision of ``u`` under the Gaussian prior, ``A = Phi^T Phi / sigma^2 +
    I / prior_variance`` (M, M); the energy's Hessian (it does not depend on ``x``)."""
    model = _check_model(model)
    if model.prior != "gaussian":
        raise v.bad_input("model.prior", "'gaussian' for a closed-form posterior",
                          repr(model.prior))
    phi = model.dictionary
    return phi.T @ phi / model.sigma ** 2 + np.eye(model.n_components) / model.prior_variance


def gaussian_posterior(model: SparseCodingModel, x, *, temperature: float = 1.0,
                       euler_step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form posterior of ``u`` under the Gaussian prior (optionally at finite step).

    With precision ``A = Phi^T Phi / sigma^2 + I / prior_variance``:
    ``mean = A^{-1} Phi^T x / sigma^2`` and ``cov = T A^{-1}``.

    If ``euler_step = h`` is given, returns instead the exact stationary law of the
    Euler-Maruyama chain ``u <- u - h A (u - mean) + sqrt(2 T h) N(0, I)``: same mean and
    ``cov = T (A - h A A / 2)^{-1}`` (from ``cov = (I - hA) cov (I - hA) + 2 T h I``).

    Parameters
    ----------
    model : SparseCodingModel
        Must have ``prior == "gaussian"``.
    x : array_like, shape (N,)
    temperature : float
        ``T >= 0``.
    euler_step : float or None
        Dimensionless step ``h = dt / tau_u``, ``0 < h < 2 / lambda_max(model)``.

    Returns
    -------
    mean : numpy.ndarray, shape (M,)
    cov : numpy.ndarray, shape (M, M)
    """
    model = _check_model(model)
    if model.prior != "gaussian":
        raise v.bad_input("model.prior", "'gaussian' for a closed-form posterior",
                          repr(model.prior))
    x = _check_x(model, x)
    t = v.real_scalar("temperature", temperature, lower=0.0)
    phi = model.dictionary
    prec = gaussian_precision(model)
    mean = np.linalg.solve(prec, phi.T @ x / model.sigma ** 2)
    if euler_step is None:
        eff = prec
    else:
        limit = 2.0 / lambda_max(model)
        h = v.real_scalar("euler_step", euler_step, lower=0.0, lower_inclusive=False,
                          upper=limit, upper_inclusive=False)
        eff = prec - 0.5 * h * (prec @ prec)
    cov = t * np.linalg.inv(eff)
    cov = 0.5 * (cov + cov.T)
    return mean, cov


# --------------------------------------------------------------------------------------------
# grid quadrature
# --------------------------------------------------------------------------------------------

def temperature_series(u, model: SparseCodingModel, x) -> np.ndarray:
    """Per-sample temperature of a Gaussian-prior chain, ``q_n = (u_n - m)^T A (u_n - m) / M``.

    With the exact posterior mean ``m`` and precision ``A`` (:func:`gaussian_precision`),
    ``E[q] = tr(A Cov) / M``: ``T`` for a chain that samples ``exp(-E/T)`` exactly, ``T`` times
    ``tr(A C_h) / M`` for Euler-Maruyama at step ``h`` (``C_h`` from ``euler_step``). Its mean
    and standard error (:func:`mean_and_standard_error`) measure the temperature a run samples.

    Parameters
    ----------
    u : array_like, shape (K, M)
    model : SparseCodingModel
        ``prior == "gaussian"``.
    x : array_like, shape (N,)

    Returns
    -------
    numpy.ndarray, shape (K,)
    """
    mean, _ = gaussian_posterior(model, x)
    u = v.float_array("u", u, expected_shape="(K, M)", ndim=2)
    if u.shape[1] != model.n_components:
        raise v.bad_input("u", f"shape (K, {model.n_components})", f"shape {u.shape}")
    d = u - mean
    return np.einsum("ni,ij,nj->n", d, gaussian_precision(model), d) / model.n_components


def _cumulative(grid: np.ndarray, dens: np.ndarray) -> np.ndarray:
    """Trapezoid cumulative integral along the last axis, starting at 0."""
    cells = 0.5 * (dens[..., 1:] + dens[..., :-1]) * np.diff(grid)
    return np.concatenate([np.zeros(dens.shape[:-1] + (1,)), np.cumsum(cells, axis=-1)], axis=-1)


def _cdf(grid: np.ndarray, dens: np.ndarray, t: np.ndarray) -> np.ndarray:
    """CDF at points ``t`` of a density that is linear between grid points (zero outside).

    Consistent with the trapezoid rule: within a cell the CDF is the exact integral of the
    linear interpolant (a quadratic), so it is exact at the grid points and smooth between them.
    """
    cum = _cumulative(grid, dens)
    t = np.asarray(t, dtype=np.float64)
    k = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 2)
    width = grid[k + 1] - grid[k]
    dt = np.clip(t, grid[0], grid[-1]) - grid[k]
    val = cum[k] + dens[k] * dt + (dens[k + 1] - dens[k]) * dt * dt / (2.0 * width)
    val = np.where(t <= grid[0], 0.0, val)
    return np.where(t >= grid[-1], cum[-1], val)


@dataclass(frozen=True, eq=False)
class GridPosterior:
    """Posterior of ``u`` (and ``s = h(u)``) from grid quadrature of ``exp(-E(u)/T)``, M <= 2.

    The density is treated as linear between grid points (the trapezoid rule); all masses
    below are integrals of that interpolant. The kinks of the energy (``u = 0``, ``|u| = u0``)
    are grid points, so the interpolant is accurate to second order everywhere.

    Attributes
    ----------
    u_grid : numpy.ndarray, shape (G,)
        Strictly increasing grid of ``u`` values, symmetric about 0 (same grid on every axis).
    u_marginals : numpy.ndarray, shape (M, G)
        Marginal density of each ``u_i`` on ``u_grid`` (trapezoid integral 1).
    s_zero_mass : numpy.ndarray, shape (M,)
        ``P(s_i == 0) = P(|u_i| <= u0)`` (0 when ``u0 == 0``).
    s_grid : numpy.ndarray, shape (Gs,)
        Non-decreasing grid of ``s`` values. In the symmetric variant it is the image of
        ``u <= -u0`` followed by the image of ``u >= u0``, so ``s = 0`` appears twice: the
        density of the nonzero part jumps at 0 (left and right limits). In the positive
        variant it is the image of ``u >= u0`` (``s >= 0``).
    s_densities : numpy.ndarray, shape (M, Gs)
        Density of the continuous (nonzero) part of ``s_i`` on ``s_grid``; integrates to
        ``1 - s_zero_mass``.
    u0 : float
        Soft threshold of the model.
    positive : bool
        Whether the model uses non-negative codes.
    """

    u_grid: np.ndarray
    u_marginals: np.ndarray
    s_zero_mass: np.ndarray
    s_grid: np.ndarray
    s_densities: np.ndarray
    u0: float = 0.0
    positive: bool = False

    @property
    def n_components(self) -> int:
        """Number of latent units ``M``."""
        return self.u_marginals.shape[0]

    def _index(self, i) -> int:
        m = self.n_components
        i = v.integer("i", i, lower=0)
        if i >= m:
            raise v.bad_input("i", f"a component index in [0, {m - 1}]", repr(i))
        return i

    def u_cdf(self, i, t) -> np.ndarray:
        """CDF of ``u_i`` at points ``t`` (any shape)."""
        i = self._index(i)
        return _cdf(self.u_grid, self.u_marginals[i], t)

    def _u_interval_mass(self, i: int, lo, hi) -> np.ndarray:
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.maximum(np.asarray(hi, dtype=np.float64), lo)
        dens = self.u_marginals[i]
        return _cdf(self.u_grid, dens, hi) - _cdf(self.u_grid, dens, lo)

    def u_bin_masses(self, i, edges) -> np.ndarray:
        """Probability of ``u_i`` in each bin ``[edges[b], edges[b+1])``.

        Parameters
        ----------
        i : int
            Component index.
        edges : array_like, shape (B + 1,)
            Strictly increasing edges (``-inf``/``inf`` allowed).

        Returns
        -------
        numpy.ndarray, shape (B,)
        """
        i = self._index(i)
        edges = v.edges_array("edges", edges)
        return self._u_interval_mass(i, edges[:-1], edges[1:])

    def s_bin_masses(self, i, edges) -> np.ndarray:
        """Probability of the NONZERO part of ``s_i`` in each bin (the atom at 0 excluded).

        Computed exactly from the CDF of ``u_i``: in the symmetric variant ``s in (a, b)``,
        ``s > 0`` iff ``u in (max(a,0) + u0, max(b,0) + u0)`` and ``s < 0`` iff
        ``u in (min(a,0) - u0, min(b,0) - u0)``; in the positive variant ``s = |u| - u0``.

        Parameters
        ----------
        i : int
        edges : array_like, shape (B + 1,)

        Returns
        -------
        numpy.ndarray, shape (B,)
        """
        i = self._index(i)
        edges = v.edges_array("edges", edges)
        a, b = edges[:-1], edges[1:]
        u0 = self.u0
        lo_pos, hi_pos = np.maximum(a, 0.0) + u0, np.maximum(b, 0.0) + u0
        upper = self._u_interval_mass(i, lo_pos, hi_pos)
        if self.positive:
            lower = self._u_interval_mass(i, -hi_pos, -lo_pos)
        else:
            lower = self._u_interval_mass(i, np.minimum(a, 0.0) - u0, np.minimum(b, 0.0) - u0)
        return upper + lower

    def mean_u(self) -> np.ndarray:
        """Posterior mean of ``u``, shape (M,) (exact integral of the linear interpolant)."""
        g = self.u_grid
        p = self.u_marginals
        g0, g1 = g[:-1], g[1:]
        cells = (g1 - g0) * (p[:, :-1] * (2 * g0 + g1) + p[:, 1:] * (g0 + 2 * g1)) / 6.0
        return cells.sum(axis=1)


def _make_grid(u_max: float, u0: float, n: int) -> np.ndarray:
    """Symmetric grid on [-u_max, u_max] with about ``n`` points, containing 0 and +-u0."""
    n_half = max((n - 1) // 2, 2)
    if 0.0 < u0 < u_max:
        breaks = [0.0, u0, u_max]
    else:
        breaks = [0.0, u_max]
    lengths = np.diff(breaks)
    counts = np.maximum(np.round(n_half * lengths / u_max).astype(int), 2)
    pieces = [np.linspace(lo, hi, k + 1)[1:] for lo, hi, k in zip(breaks[:-1], breaks[1:], counts)]
    half = np.concatenate(pieces)
    return np.concatenate([-half[::-1], [0.0], half])


def _log_density(model: SparseCodingModel, x: np.ndarray, t: float, grid: np.ndarray,
                 gram: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``-E(u)/T`` on the tensor grid (shape (G,) or (G, G)), E including the |x|^2 term."""
    m = model.n_components
    s = _coefficients(model, grid)
    xx = float(x @ x)
    if m == 1:
        quad = xx - 2.0 * b[0] * s + gram[0, 0] * s * s
        prior = _prior_energy(model, grid[:, None])
    else:
        s1, s2 = s[:, None], s[None, :]
        quad = (xx - 2.0 * (b[0] * s1 + b[1] * s2)
                + gram[0, 0] * s1 * s1 + 2.0 * gram[0, 1] * s1 * s2 + gram[1, 1] * s2 * s2)
        pe = _prior_energy(model, grid[:, None])
        prior = pe[:, None] + pe[None, :]
    return -(quad / (2.0 * model.sigma ** 2) + prior) / t


def _trapz_weights(grid: np.ndarray) -> np.ndarray:
    d = np.diff(grid)
    w = np.zeros_like(grid)
    w[:-1] += 0.5 * d
    w[1:] += 0.5 * d
    return w


def _marginals(logp: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised marginals (M, G) and log normaliser of ``exp(logp)`` on the tensor grid."""
    w = _trapz_weights(grid)
    top = float(np.max(logp))
    p = np.exp(logp - top)
    if logp.ndim == 1:
        marg = p[None, :]
    else:
        marg = np.stack([p @ w, w @ p])
    z = float(marg[0] @ w)
    return marg / z, top + np.log(z)


def _tail_radius(grid: np.ndarray, marg: np.ndarray, tail: float) -> float:
    """Smallest grid radius ``a >= 0`` with mass outside [-a, a] below ``tail`` on every axis."""
    cum = _cumulative(grid, marg)
    total = cum[:, -1:]
    center = grid.size // 2  # grid[center] == 0 (symmetric grid)
    radii = grid[center:]
    inside = cum[:, center:] - cum[:, center::-1]  # mass in [-a, a] for a = radii
    outside = np.max(total - inside, axis=0)
    ok = np.nonzero(outside < tail)[0]
    return float(radii[ok[0]]) if ok.size else float(radii[-1])


def _auto_u_max(model: SparseCodingModel, x: np.ndarray, t: float, gram, b) -> float:
    """Choose ``u_max`` so that each axis keeps less than ``_TAIL_MASS`` outside the grid.

    1. A rigorous outer radius: the likelihood term is >= 0, so ``exp(-E/T)`` is bounded by
       the (unnormalised) prior, whose tail outside the box is known in closed form; with a
       lower estimate of the normaliser ``Z`` from a coarse grid, choose the radius where that
       bound falls below ``1e-13 Z``.
    2. Shrink: on a coarse grid over the box, find the radius holding all but ``_TAIL_MASS``,
       add a few coarse cells of margin, and repeat until it stops shrinking.
    """
    m = model.n_components
    n_c = _COARSE_N_GRID[m]
    lstsq = np.linalg.lstsq(model.dictionary, x, rcond=None)[0]
    center = float(np.max(np.abs(lstsq))) + (model.u0 if model.prior == "laplace" else 0.0)
    if model.prior == "laplace":
        scale = t / model.lam
        r = center + 30.0 * scale
    else:
        var = model.prior_variance * t
        r = center + 10.0 * np.sqrt(var)
    r = max(r, 1.0)
    grid = _make_grid(r, model.u0, n_c)
    _, log_z = _marginals(_log_density(model, x, t, grid, gram, b), grid)
    log_tol = np.log(1e-13)
    if model.prior == "laplace":
        # mass outside the box <= M (2 scale)^M exp(-R / scale)
        r_bound = scale * (np.log(m) + m * np.log(2.0 * scale) - log_z - log_tol)
    else:
        # mass outside the box <= M (2 pi var)^(M/2) exp(-R^2 / (2 var))
        arg = np.log(m) + 0.5 * m * np.log(2.0 * np.pi * var) - log_z - log_tol
        r_bound = np.sqrt(2.0 * var * max(arg, 0.0))
    r = max(float(r_bound), 1e-3)
    for _ in range(6):
        grid = _make_grid(r, model.u0, n_c)
        marg, _ = _marginals(_log_density(model, x, t, grid, gram, b), grid)
        spacing = 2.0 * r / (n_c - 1)
        r_new = min(_tail_radius(grid, marg, _TAIL_MASS) + 4.0 * spacing, r)
        if r_new > 0.7 * r:
            return r_new
        r = r_new
    return r


def grid_posterior(model: SparseCodingModel, x, *, temperature: float = 1.0,
                   n_grid: int | None = None, u_max: float | None = None) -> GridPosterior:
    """Posterior of ``u`` and ``s`` by quadrature of ``exp(-E(u)/T)`` on a grid (M = 1 or 2).

    Parameters
    ----------
    model : SparseCodingModel
        Any prior; ``model.n_components`` must be 1 or 2.
    x : array_like, shape (N,)
    temperature : float
        ``T > 0``.
    n_grid : int or None
        Points per axis (>= 11). Default 20001 for M = 1 and 1201 for M = 2 (bin masses
        accurate to about 1e-5 for posteriors of width ~0.5).
    u_max : float or None
        Grid half-width (> 0). Default: automatic, so that less than 1e-11 of the mass of
        every marginal lies outside ``[-u_max, u_max]``.

    Returns
    -------
    GridPosterior
    """
    model = _check_model(model)
    m = model.n_components
    if m not in (1, 2):
        raise v.bad_input("model.n_components", "1 or 2 for grid quadrature", repr(m))
    x = _check_x(model, x)
    t = v.real_scalar("temperature", temperature, lower=0.0, lower_inclusive=False)
    n = _DEFAULT_N_GRID[m] if n_grid is None else v.integer("n_grid", n_grid, lower=11)
    gram, b = gram_terms(model, x)
    if u_max is None:
        r = _auto_u_max(model, x, t, gram, b)
    else:
        r = v.real_scalar("u_max", u_max, lower=0.0, lower_inclusive=False)
    grid = _make_grid(r, model.u0, n)
    marg, _ = _marginals(_log_density(model, x, t, grid, gram, b), grid)
    u0 = model.u0
    if u0 > 0.0:
        zero = np.array([_cdf(grid, marg[i], u0) - _cdf(grid, marg[i], -u0) for i in range(m)])
    else:
        zero = np.zeros(m)
    upper = grid >= u0
    lower = grid <= -u0
    if model.positive:
        s_grid = grid[upper] - u0
        s_dens = marg[:, upper] + marg[:, lower][:, ::-1]
    else:
        s_grid = np.concatenate([grid[lower] + u0, grid[upper] - u0])
        s_dens = np.concatenate([marg[:, lower], marg[:, upper]], axis=1)
    return GridPosterior(u_grid=grid, u_marginals=marg, s_zero_mass=zero, s_grid=s_grid,
                         s_densities=s_dens, u0=float(u0), positive=bool(model.positive))


# --------------------------------------------------------------------------------------------
# total-variation comparisons
# --------------------------------------------------------------------------------------------

def total_variation(p, q) -> float:
    """Total-variation distance ``0.5 * sum |p - q|`` between two arrays of probabilities.

    Parameters
    ----------
    p, q : array_like, same shape
        Bin probabilities (the caller includes any zero-atom / outside bins).

    Returns
    -------
    float
    """
    p = v.float_array("p", p, expected_shape="(...)")
    q = v.float_array("q", q, expected_shape=f"{p.shape} (the shape of p)", shape=p.shape)
    return float(0.5 * np.sum(np.abs(p - q)))


def _check_grid_post(grid_post) -> GridPosterior:
    if not isinstance(grid_post, GridPosterior):
        raise v.bad_input("grid_post", "a GridPosterior", type(grid_post).__name__)
    return grid_post


def _samples_1d(field: str, samples) -> np.ndarray:
    arr = v.float_array(field, samples, expected_shape="(n,) (any shape, flattened)").ravel()
    if arr.size == 0:
        raise v.bad_input(field, "at least one sample", "an empty array")
    return arr


def s_bin_probabilities(samples_s_i, grid_post: GridPosterior, i, edges
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Empirical and exact probabilities of ``s_i`` on the bins [zero, *edges bins*, outside].

    Returns
    -------
    p_hat, p : numpy.ndarray, shape (B + 2,)
        Entry 0: ``P(s_i == 0)``; entries 1..B: nonzero part in each bin; last: nonzero part
        outside ``[edges[0], edges[-1]]``.
    """
    s = _samples_1d("samples_s_i", samples_s_i)
    grid_post = _check_grid_post(grid_post)
    edges = v.edges_array("edges", edges)
    p_bins = grid_post.s_bin_masses(i, edges)
    p0 = float(grid_post.s_zero_mass[grid_post._index(i)])
    p_out = max(1.0 - p0 - float(p_bins.sum()), 0.0)
    nz = s[s != 0.0]
    counts, _ = np.histogram(nz, bins=edges)
    n = s.size
    p_hat = np.concatenate([[1.0 - nz.size / n], counts / n, [(nz.size - counts.sum()) / n]])
    p = np.concatenate([[p0], p_bins, [p_out]])
    return p_hat, p


def u_bin_probabilities(samples_u_i, grid_post: GridPosterior, i, edges
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Empirical and exact probabilities of ``u_i`` on the bins [*edges bins*, outside].

    Returns
    -------
    p_hat, p : numpy.ndarray, shape (B + 1,)
        Entries 0..B-1: each bin; last: outside ``[edges[0], edges[-1]]``.
    """
    u = _samples_1d("samples_u_i", samples_u_i)
    grid_post = _check_grid_post(grid_post)
    edges = v.edges_array("edges", edges)
    p_bins = grid_post.u_bin_masses(i, edges)
    p_out = max(1.0 - float(p_bins.sum()), 0.0)
    counts, _ = np.histogram(u, bins=edges)
    n = u.size
    p_hat = np.concatenate([counts / n, [(n - counts.sum()) / n]])
    return p_hat, np.concatenate([p_bins, [p_out]])


def s_total_variation(samples_s_i, grid_post: GridPosterior, i, edges) -> float:
    """TV distance between the empirical law of ``s_i`` and the exact one.

    ``0.5 * (|p0_hat - p0| + sum_b |p_hat_b - p_b| + |p_out_hat - p_out|)``: the zero atom, the
    nonzero samples histogrammed over ``edges`` (bins ``[e_b, e_{b+1})``, last one closed) and the
    nonzero mass outside the edges as its own bin.

    Parameters
    ----------
    samples_s_i : array_like
        Samples of ``s_i`` (flattened; exact zeros count as the atom).
    grid_post : GridPosterior
    i : int
        Component index.
    edges : array_like, shape (B + 1,)

    Returns
    -------
    float
    """
    p_hat, p = s_bin_probabilities(samples_s_i, grid_post, i, edges)
    return total_variation(p_hat, p)


def u_total_variation(samples_u_i, grid_post: GridPosterior, i, edges) -> float:
    """TV distance between the empirical law of ``u_i`` and the exact one (outside bin included).

    Parameters
    ----------
    samples_u_i : array_like
        Samples of ``u_i`` (flattened).
    grid_post : GridPosterior
    i : int
    edges : array_like, shape (B + 1,)

    Returns
    -------
    float
    """
    p_hat, p = u_bin_probabilities(samples_u_i, grid_post, i, edges)
    return total_variation(p_hat, p)
