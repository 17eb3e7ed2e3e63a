"""Figures of merit of an ensemble run (``run.chains``, ``mismatch.chips``): the chains of
a chip pooled, the chips' spread.

Samples of an ensemble are (samples, Q, M), copy ``q`` being chain ``q % chains`` of chip
``q // chains`` (:mod:`circuit_sim.design.ensemble`).

* **Chains pooled.** Each chain's autocorrelation times are its own (the burn-in dropped
  from every chain); the effective sample size of a unit is the sum over chains; ``R-hat``
  (split chains, :func:`models.split_r_hat`) of every ``u_i`` (and, spike-and-slab, every
  activity indicator) compares the chains; every posterior comparison, with its floor, reads
  the chains one after the other (the K - 1 joins between chains shorten no correlation
  that matters when each chain is much longer than its autocorrelation time).
* **Chips.** Each chip's chains are pooled into that chip's figures of merit (the same as a
  run of that chip alone); the summary has, for the posterior error, the activity bias and
  the energy per effective sample, the median and the 10th and 90th percentiles across
  chips (``<name>_median``, ``_p10``, ``_p90``); the chips share one MALA reference of the
  intended posterior (where one is the judge; a batch of seeds that each draw their own
  dictionary: each chip its seed's posterior and reference, as alone); every figure in the
  run's metrics is the median over chips. The per-chip values are kept (``chip_metrics``) for the file and the
  figure.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import models

from . import metrics

#: Threads computing the chips' figures of merit (at most the machine's cores).
CHIP_THREADS = 2

#: Figures of merit whose spread across chips is summarised (median, 10th and 90th
#: percentile); every other figure common to the chips gets its median.
CHIP_SPREAD = ("posterior_error", "activity", "activity_bias", "activity_error_vs_mala",
               "energy_per_sample", "T_measured")


def chains_pooled(arr: np.ndarray) -> np.ndarray:
    """(n, K, M) -> (K n, M): the chains one after the other."""
    return np.ascontiguousarray(np.swapaxes(arr, 0, 1)).reshape(-1, arr.shape[-1])


def r_hat(u: np.ndarray, s: np.ndarray, model) -> float:
    """The largest split ``R-hat`` over the units' ``u_i`` and (spike-and-slab) activity
    indicators, from (n, K, M) samples (one chain: its two halves)."""
    if len(u) < 4:
        return float("nan")
    values = [models.split_r_hat(u)]
    if model.prior == "laplace" and model.u0 > 0:
        values.append(models.split_r_hat((s != 0).astype(float)))
    return float(np.nanmax(np.concatenate([np.atleast_1d(v) for v in values])))


def pooled_metrics(u: np.ndarray, s: np.ndarray, design, record_interval: float,
                   mala_ref: dict | None = None) -> dict:
    """Figures of merit of the chains of one chip, kept samples (n, K, M) (``mala_ref``: the
    MALA reference of the posterior, shared by the chips)."""
    n, k, _ = u.shape
    out = {"n_samples": int(n * k), "chains": int(k)}
    if n < 20:
        return out
    taus = np.stack([metrics.unit_autocorrelation_times(u[:, c], s[:, c], design.model)
                     for c in range(k)])                          # (K, M), samples
    unit_ess = np.sum(n / taus, axis=0)                          # (M,)
    ess = float(np.min(unit_ess))
    tau_s = float(np.max(np.mean(taus, axis=0))) * record_interval
    out.update(autocorrelation_time=tau_s, ess=ess, ess_per_second=ess / (n * record_interval),
               r_hat=r_hat(u, s, design.model))
    # power of one copy x its time per effective sample: the ensemble's K copies draw K times
    # the power and give K times the effective samples, so the energy per sample is a copy's
    out.update(metrics.power_metrics(design.circuit, design.n_components, tau_s))
    out.update(metrics.exact_comparison(chains_pooled(u), chains_pooled(s), design, design.x,
                                        unit_ess, mala_ref))
    return out


def _spread(values) -> dict:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {}
    p10, med, p90 = np.percentile(v, [10, 50, 90])
    return {"median": float(med), "p10": float(p10), "p90": float(p90)}


def ensemble_metrics(res) -> tuple[dict, dict]:
    """``(metrics, chip_metrics)`` of an ensemble result: the run's figures of merit (one
    chip: its pooled chains; several: the medians and spreads across chips) and, with
    several chips, each figure of :data:`CHIP_SUMMARY` per chip (arrays (chips,))."""
    design = res.design
    ts = design.timestep
    mt = {"tau_u": design.tau_u, "T_eff": design.T_eff, "dt": ts.dt, "h": ts.dt / design.tau_u,
          "lambda_max": ts.lambda_max, "copies": design.copies, "chains": design.chains,
          "chips": design.chips}
    u, s = res.kept(res.u), res.kept(res.s)
    rec = ts.record_stride * ts.dt
    k = design.chains
    # every chip samples (or should) the same intended posterior: one MALA reference for all,
    # started from states of every copy; a batch of seeds each with its own dictionary: each
    # chip judged as its seed's run alone (its own posterior and reference)
    own = design.own_posteriors
    ref = (metrics.mala_reference(chains_pooled(u), design.model, design.x,
                                  design.seeds.rng("mala"))
           if design.chips > 1 and len(u) >= 20 and metrics.uses_mala(design) and not own
           else None)

    def chip(c: int) -> dict:
        judge = design.chip_alone(c) if own else design
        return pooled_metrics(u[:, c * k:(c + 1) * k], s[:, c * k:(c + 1) * k], judge, rec, ref)

    if design.chips > 1 and (os.cpu_count() or 1) > 1:
        # the chips' figures on two threads (their FFTs and array passes release the GIL)
        with ThreadPoolExecutor(max_workers=min(CHIP_THREADS, os.cpu_count())) as pool:
            per_chip = list(pool.map(chip, range(design.chips)))
    else:
        per_chip = [chip(c) for c in range(design.chips)]
    if design.chips == 1:
        mt.update(per_chip[0])
        return mt, {}
    keys = [key for key in per_chip[0] if all(key in p for p in per_chip)]
    chip_metrics = {key: np.array([p[key] for p in per_chip], dtype=float) for key in keys}
    chip_metrics["chip"] = np.asarray(design.ensemble.chip_index, dtype=float)
    if design.ensemble.chip_seed:  # a batch of seeds (run.seeds)
        chip_metrics["seed"] = np.asarray(design.ensemble.chip_seed, dtype=float)
    for key in keys:
        values = chip_metrics[key]
        mt[key] = float(np.median(values)) if key not in ("n_samples", "chains") else per_chip[0][key]
        if key in CHIP_SPREAD:
            mt.update({f"{key}_{name}": v for name, v in _spread(values).items()})
    return mt, chip_metrics
