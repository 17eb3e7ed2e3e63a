"""Running statistics of a learning run: what one segment's samples say about the learning.

Activity, reconstruction error, energy, the histogram of nonzero coefficients and its KL
divergence to the slab prior, and (on bars) the recovery of the true dictionary.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

import models

#: Edges (in units of 1/lambda) of the histogram of nonzero |s| kept per snapshot.
HIST_EDGES = np.linspace(0.0, 8.0, 41)


def dictionary_recovery(learned: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """Mean and minimum best-match |cosine| between true atoms and learned atoms after an
    optimal one-to-one assignment (Hungarian algorithm)."""
    a = learned / np.maximum(np.linalg.norm(learned, axis=0), 1e-300)
    b = true / np.linalg.norm(true, axis=0)
    cos = np.abs(b.T @ a)  # (true, learned)
    rows, cols = linear_sum_assignment(-cos)
    matched = cos[rows, cols]
    return float(matched.mean()), float(matched.min())


def slab_kl(counts: np.ndarray, lam: float) -> float:
    """KL divergence between a histogram of nonzero |s| (on ``HIST_EDGES / lam``) and the
    slab prior, the exponential of rate ``lam`` restricted to the same range."""
    counts = np.asarray(counts, dtype=float)
    if counts.sum() <= 0:
        return float("nan")
    p = counts / counts.sum()
    cdf = 1 - np.exp(-HIST_EDGES)  # edges are in units of 1/lam
    q = np.diff(cdf) / cdf[-1]
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def segment_statistics(design, xs: np.ndarray, v: np.ndarray, u0: np.ndarray,
                       phi: np.ndarray, true_dict: np.ndarray | None) -> dict:
    """Statistics of one segment from its recorded samples.

    Parameters
    ----------
    design : Design
    xs : ndarray (K, N)
        The patch each sample is scored against.
    v : ndarray (K, M)
        Recorded node voltages (V).
    u0 : ndarray (K, M) or broadcastable
        Thresholds at the samples.
    phi : ndarray (N, M)
        The dictionary at the segment's end.
    true_dict : ndarray (N, M) or None
        The generating dictionary (bars), for the recovery.
    """
    model = design.model
    u = v / design.circuit.volts_per_unit
    s = u if model.prior == "gaussian" else models.soft_threshold(
        u, np.broadcast_to(u0, u.shape), model.positive) if len(u) else u
    r = xs - s @ phi.T
    err = float(np.mean(np.sum(r**2, axis=1)) / model.n_features) if len(r) else float("nan")
    energy = (np.sum(r**2, axis=1) / (2 * model.sigma**2)
              + (model.lam * np.sum(np.abs(u), axis=1) if model.prior == "laplace"
                 else np.sum(u**2, axis=1) / (2 * model.prior_variance)))
    lc = design.learning
    l1_model = (model.prior == "laplace" and model.u0 == 0
                and (lc is None or lc.threshold_time_constant is None))
    if l1_model and len(s):
        # u0 = 0 (the L1 model, e.g. the paper's DSC baseline): no dead zone, so the T = 0
        # flow's zeros are a sliding mode that a discrete step shows as chatter around 0;
        # count as zero what the energy says is zero (models.zero_by_energy)
        s = models.zero_by_energy(s, xs, phi, model.sigma, model.lam)
    counts, _ = np.histogram(np.abs(s[s != 0]) * model.lam, HIST_EDGES)
    out = {"activity": float(np.mean(s != 0)) if len(s) else float("nan"),
           "reconstruction_error": err,
           "energy": float(np.mean(energy)) if len(energy) else float("nan"),
           "kl_prior": slab_kl(counts, model.lam), "hist_nonzero": counts}
    if true_dict is not None:
        out["recovery_mean"], out["recovery_min"] = dictionary_recovery(phi, true_dict)
    else:
        out["recovery_mean"] = out["recovery_min"] = float("nan")
    return out


def ensemble_statistics(design, xs: np.ndarray, v: np.ndarray, u0, phi: np.ndarray,
                        true_dict: np.ndarray | None) -> dict:
    """:func:`segment_statistics` of a learning ensemble, each chip's chains pooled.

    Parameters
    ----------
    xs : ndarray (K, N), or (K, K_c, N) with ``K_c > 1`` chains (each chain's patch), or
        (K, S, K_c, N) for a batch of ``S`` seeds on their own streams
    v : ndarray (K, Q M)
        The recorded nodes of all ``Q = chips x K_c`` copies (V).
    u0 : float or ndarray (K, Q M)
    phi : ndarray (N, M), or (chips, N, M) with several chips

    Returns
    -------
    dict
        With one chip, the statistics of :func:`segment_statistics` (its chains pooled);
        with several, each an array over the chips ((chips,), ``hist_nonzero`` (chips, bins)).
    """
    chips, kc, m = design.chips, design.chains, design.n_components
    if design.copies == 1:
        return segment_statistics(design, xs, v, u0, phi, true_dict)
    k = len(v)
    v = np.asarray(v).reshape(k, chips, kc, m)
    u0 = np.asarray(u0)
    u0 = u0.reshape(k, chips, kc, m) if u0.ndim == 2 else np.broadcast_to(u0, v.shape)
    n_s = design.n_streams  # a batch of seeds: chip c reads stream c // (chips / S)
    xs = np.asarray(xs).reshape(k, n_s, kc, -1)
    phis = phi if chips > 1 else phi[None]
    per_chip = [segment_statistics(design, xs[:, c * n_s // chips].reshape(k * kc, -1),
                                   v[:, c].reshape(k * kc, m), u0[:, c].reshape(k * kc, m),
                                   phis[c], true_dict)
                for c in range(chips)]
    if chips == 1:
        return per_chip[0]
    return {key: np.array([st[key] for st in per_chip], dtype=float) for key in per_chip[0]}
