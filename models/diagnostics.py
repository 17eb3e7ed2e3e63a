"""Autocorrelation diagnostics for Markov chain output.

Conventions
-----------
* ``samples`` has the time (sample) index on axis 0; every other axis is an independent
  column (a chain, a coordinate, ...). Results have shape ``samples.shape[1:]``.
* The integrated autocorrelation time ``tau`` is in units of samples, defined as
  ``tau = 1 + 2 sum_{t>=1} rho(t)``, so that ``var(mean) ~ var * tau / n`` and the effective
  sample size is ``n / tau``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as _fft

from . import constraints as v

__all__ = ["integrated_autocorrelation_time", "effective_sample_size",
           "expected_total_variation", "split_r_hat"]


def _autocorrelation(samples: np.ndarray, lags: int | None = None) -> np.ndarray:
    """Normalised autocorrelation along axis 0 via zero-padded FFT (biased estimator), at
    lags ``0 .. lags - 1`` (default: all ``n``). Padding to ``n + lags - 1`` points keeps the
    circular correlation free of wrap-around at those lags, so a shorter range is exact and
    its FFTs are shorter (``lags = n / 8``: 1.1 n points instead of 2 n)."""
    n = samples.shape[0]
    lags = n if lags is None else max(1, min(n, lags))
    centred = samples - samples.mean(axis=0)
    size = _fft.next_fast_len(n + lags - 1, real=True)
    f = _fft.rfft(centred, n=size, axis=0)
    acov = _fft.irfft(f * np.conj(f), n=size, axis=0)[:lags]
    with np.errstate(invalid="ignore", divide="ignore"):
        return acov / acov[0]


def _sokal_window(rho: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(taus, found, window)``: ``tau(W)`` at every lag of ``rho``, whether some ``W`` with
    ``W >= c tau(W)`` exists there, and the smallest such ``W`` (the last lag if none)."""
    taus = 2.0 * np.cumsum(rho, axis=0) - 1.0  # taus[W] = 1 + 2 sum_{t=1}^W rho(t)
    lags = np.arange(len(rho), dtype=np.float64).reshape((len(rho),) + (1,) * (rho.ndim - 1))
    ok = lags >= c * taus
    found = ok.any(axis=0)
    return taus, found, np.where(found, np.argmax(ok, axis=0), len(rho) - 1)


def integrated_autocorrelation_time(samples, *, c: float = 5.0) -> np.ndarray:
    """Integrated autocorrelation time with Sokal's automatic window.

    ``tau(W) = 1 + 2 sum_{t=1}^{W} rho(t)``; the window is the smallest ``W`` with
    ``W >= c * tau(W)`` and the estimate is ``tau(W)``. The autocovariance is computed by FFT
    (biased, i.e. divided by ``n``, which keeps the estimate stable at large lags).

    Parameters
    ----------
    samples : array_like, shape (n, ...)
        Chain output, time along axis 0, ``n >= 2``.
    c : float
        Window constant (> 0); 5 is Sokal's usual choice, larger is safer for slow chains.

    Returns
    -------
    numpy.ndarray, shape samples.shape[1:]
        ``tau`` in units of samples (a numpy scalar for 1-D input).

    Notes
    -----
    Documented choices:

    * **Clipped below at 1.** Anticorrelated series have a true ``tau < 1`` (an effective sample
      size larger than ``n``); we return 1 for them, so effective sample sizes never exceed ``n``
      and error bars derived from them are conservative.
    * **Constant columns give nan** (their autocorrelation is undefined); the effective sample
      size is then nan too, which makes any test using it fail loudly rather than pass silently.
    * If no window satisfies the criterion (a series shorter than about ``c * tau``), the
      longest window ``W = n - 1`` is used; such an estimate is an underestimate and the chain
      is too short to trust.
    """
    x = v.float_array("samples", samples, expected_shape="(n, ...) with n >= 2", min_ndim=1)
    if x.shape[0] < 2:
        raise v.bad_input("samples", "an array of shape (n, ...) with n >= 2", f"shape {x.shape}")
    c = v.real_scalar("c", c, lower=0.0, lower_inclusive=False)
    n = x.shape[0]
    # the window is almost always found within the first n / 8 lags (tau < n / 40): look
    # there first (shorter FFTs, the same result), and over every lag only where it is not
    rho = _autocorrelation(x, max(256, n // 8))
    taus, found, window = _sokal_window(rho, c)
    if len(rho) < n and not np.all(found | ~np.isfinite(rho[0])):
        rho = _autocorrelation(x)
        taus, found, window = _sokal_window(rho, c)
    tau = np.take_along_axis(taus, window[None, ...], axis=0)[0]
    constant = ~np.isfinite(rho[0])
    tau = np.where(constant, np.nan, np.maximum(tau, 1.0))
    return tau[()]


def effective_sample_size(samples, *, c: float = 5.0) -> np.ndarray:
    """Effective sample size ``n / tau`` per column.

    Parameters
    ----------
    samples : array_like, shape (n, ...)
    c : float
        Window constant passed to :func:`integrated_autocorrelation_time`.

    Returns
    -------
    numpy.ndarray, shape samples.shape[1:]
        At most ``n`` (see the clipping note of :func:`integrated_autocorrelation_time`);
        nan for constant columns.
    """
    x = np.asarray(samples)
    tau = integrated_autocorrelation_time(samples, c=c)
    return (x.shape[0] / np.asarray(tau))[()]


def split_r_hat(chains) -> np.ndarray:
    """Split-chain potential scale reduction ``R-hat`` (Gelman et al., Bayesian Data
    Analysis, 3rd ed., eq. 11.4, each chain split in halves): about 1 when the chains sample
    one distribution, above 1 (1.01 a usual bound) when they disagree.

    Parameters
    ----------
    chains : array_like, shape (n, K, ...)
        ``n`` samples of ``K >= 1`` chains (every further axis an independent column).

    Returns
    -------
    ndarray, shape ``chains.shape[2:]`` (nan for columns constant within every chain)
    """
    x = v.float_array("chains", chains, expected_shape="(n, K, ...)")
    if x.ndim < 2 or x.shape[0] < 4:
        raise v.bad_input("chains", "shape (n >= 4, K, ...)", f"{x.shape}")
    half = x.shape[0] // 2
    parts = np.concatenate([x[:half], x[half:2 * half]], axis=1)  # (half, 2K, ...)
    w = parts.var(axis=0, ddof=1).mean(axis=0)
    b = half * parts.mean(axis=0).var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(((half - 1) / half * w + b / half) / w)[()]


def mean_and_standard_error(series) -> tuple[float, float]:
    """Mean of a correlated 1-D series and its standard error from the integrated
    autocorrelation time (Sokal window): ``se = std * sqrt(tau / n)`` (tau at least 1)."""
    series = v.float_array("series", series, expected_shape="(n,)", ndim=1)
    if series.size < 2:
        raise v.bad_input("series", "at least 2 values", f"{series.size}")
    tau = float(integrated_autocorrelation_time(series[:, None])[0])
    if not np.isfinite(tau):
        tau = 1.0
    return float(series.mean()), float(series.std(ddof=1) * np.sqrt(max(tau, 1.0) / series.size))


def expected_total_variation(p, n_eff) -> float:
    """Expected total-variation distance between a histogram and its true bin probabilities.

    Normal approximation: each bin frequency has standard error ``sqrt(p (1 - p) / n_eff)`` and
    ``E|Z| = sqrt(2/pi) * sd``, so ``E[TV] ~ 0.5 sum_b sqrt(2 p_b (1 - p_b) / (pi n_eff_b))``.
    This is the noise floor of a TV estimate from ``n_eff`` effective samples.

    Parameters
    ----------
    p : array_like, shape (B,)
        True bin probabilities (including any zero-atom or outside bins).
    n_eff : float or array_like, shape (B,)
        Effective sample size (per bin, or one for all bins), > 0.

    Returns
    -------
    float
    """
    p = v.float_array("p", p, expected_shape="(B,)", ndim=1)
    if np.any(p < 0) or np.any(p > 1):
        raise v.bad_input("p", "probabilities in [0, 1]", repr(p))
    n_eff = v.float_array("n_eff", n_eff, expected_shape="() or (B,)")
    if np.any(n_eff <= 0):
        raise v.bad_input("n_eff", "positive effective sample sizes", repr(n_eff))
    sd = np.sqrt(p * (1.0 - p) / n_eff)
    return float(0.5 * np.sum(np.sqrt(2.0 / np.pi) * sd))


def bin_labels(values, edges, *, atom: bool = False) -> np.ndarray:
    """Which bin each value falls in: bins ``[e_b, e_{b+1})`` (the last one closed) are
    labels ``0..B-1`` and values outside ``[e_0, e_B]`` label ``B``; with ``atom``, exact
    zeros label 0 and the others shift up by one (``B + 2`` labels in all).

    Parameters
    ----------
    values : array_like, shape (n,)
    edges : array_like, shape (B + 1,), increasing
    atom : bool

    Returns
    -------
    numpy.ndarray of int, shape (n,)
    """
    x = np.asarray(values, dtype=float).ravel()
    e = np.asarray(edges, dtype=float)
    b = e.size - 1
    lab = np.searchsorted(e, x, side="right") - 1
    lab[x == e[-1]] = b - 1
    lab[(x < e[0]) | (x > e[-1])] = b
    if atom:
        lab = np.where(x == 0, 0, lab + 1)
    return lab


def bin_effective_sizes(labels, n_labels: int) -> np.ndarray:
    """Effective sample size of each bin's frequency in a correlated chain (n_labels,):
    ``n / tau_b`` with ``tau_b`` the integrated autocorrelation time of the bin's indicator
    (at least 1; 1 for a bin that is always or never occupied).

    A fine bin is entered and left quickly, so its frequency has many more effective samples
    than a slow coordinate of the chain: floors of a histogram distance use these
    (:func:`expected_total_variation` takes them per bin).

    Parameters
    ----------
    labels : array_like of int, shape (n,) or (n, chains)
        Bin label of each sample (:func:`bin_labels`); with chains, the chains' indicators are
        one series each and their sizes add.
    n_labels : int

    Returns
    -------
    numpy.ndarray, shape (n_labels,)
    """
    lab = np.asarray(labels)
    lab = lab.reshape(lab.shape[0], -1)
    n, chains = lab.shape
    out = np.zeros(n_labels)
    for c in range(chains):
        ind = (lab[:, c, None] == np.arange(n_labels)).astype(float)
        varying = ind.std(axis=0) > 0
        tau = np.ones(n_labels)
        if np.any(varying) and n >= 4:
            t = np.atleast_1d(integrated_autocorrelation_time(ind[:, varying]))
            tau[varying] = np.maximum(np.nan_to_num(t, nan=1.0), 1.0)
        out += n / tau
    return out


def code_edges(s_a, s_b, n_bins: int = 20) -> np.ndarray:
    """Bin edges of :func:`code_total_variation`: the quantiles of the pooled nonzero values
    of two samples of one code, outer edges at -inf and +inf (shape (<= n_bins + 1,))."""
    a = np.asarray(s_a, dtype=float).ravel()
    b = np.asarray(s_b, dtype=float).ravel()
    pooled = np.concatenate([a[a != 0], b[b != 0]])
    if pooled.size == 0:
        return np.array([-np.inf, np.inf])
    edges = np.unique(np.quantile(pooled, np.linspace(0, 1, int(n_bins) + 1)))
    if edges.size < 2:
        edges = np.array([pooled.min() - 0.5, pooled.max() + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def code_total_variation(s_a, s_b, n_bins: int = 20) -> float:
    """TV distance between two samples of one code ``s_i`` (spike-and-slab laws).

    ``0.5 * (|p0_a - p0_b| + sum_k |p_a,k - p_b,k|)``: the atom at zero (exact zeros) and the
    nonzero values histogrammed over ``n_bins`` bins at the quantiles of the pooled
    nonzero values (so both samples' slabs are resolved where they have mass).

    Parameters
    ----------
    s_a, s_b : array_like, shape (n_a,), (n_b,)
    n_bins : int

    Returns
    -------
    float
        In [0, 1]; its noise floor is ~``expected_total_variation`` at the smaller ESS.
    """
    a = np.asarray(s_a, dtype=float).ravel()
    b = np.asarray(s_b, dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        raise v.bad_input("s_a, s_b", "non-empty samples", f"sizes {a.size}, {b.size}")
    za, zb = a[a != 0], b[b != 0]
    tv = abs(1 - za.size / a.size - (1 - zb.size / b.size))
    if za.size + zb.size:
        edges = code_edges(a, b, n_bins)
        ha = np.histogram(za, edges)[0] / a.size
        hb = np.histogram(zb, edges)[0] / b.size
        tv += float(np.sum(np.abs(ha - hb)))
    return 0.5 * tv
