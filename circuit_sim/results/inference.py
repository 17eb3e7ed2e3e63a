"""The result of one inference run: its design, the recorded samples in SI units, and the
figures of merit (:mod:`.metrics`); files (:mod:`.hdf5`), text (:mod:`.text`) and figures
(:mod:`.figures`) are written from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import models

from . import ensemble, hdf5, metrics
from .metrics import BURN_IN_FRACTION, MALA_REFERENCE_MAX_M, MALA_REFERENCE_STEPS  # noqa: F401


@dataclass
class RunRecord:
    """What a simulation produced, before any statistics (SI).

    Attributes
    ----------
    t : ndarray (K,)
        Sample times in s.
    v : ndarray (K, M)
        Latent node voltages in V.
    dictionary : ndarray (N, M)
        Dictionary read back from the crossbar conductances at the end.
    u0_final : ndarray (M,)
        Thresholds at the end (learned if configured).
    u0_trace : ndarray (K, M) or None
        Recorded thresholds when they are learned.
    wall_time, run_time : float
        Seconds of wall time for the whole run and for the simulation loop itself.
    interrupted : bool
        Stopped by Ctrl-C (the samples recorded so far).
    """

    t: np.ndarray
    v: np.ndarray
    dictionary: np.ndarray
    u0_final: np.ndarray | None
    u0_trace: np.ndarray | None
    wall_time: float
    run_time: float = float("nan")
    interrupted: bool = False


@dataclass
class InferenceResult:
    """Samples of one circuit run, in SI units, and the figures of merit derived from them.

    Attributes
    ----------
    design : Design
        What was simulated (:func:`circuit_sim.design.resolve`).
    t : ndarray (K,)
        Sample times in s.
    v : ndarray (K, M)
        Latent node voltages in V.
    u, s : ndarray (K, M)
        Dimensionless latent state ``v / V_u`` and code ``h(u)``.
    dictionary : ndarray (N, M)
        Dictionary read back from the crossbar conductances.
    metrics : dict
        Figures of merit (:func:`circuit_sim.results.metrics.compute_metrics`); SI floats.
    """

    design: object
    t: np.ndarray
    v: np.ndarray
    u: np.ndarray
    s: np.ndarray
    dictionary: np.ndarray
    wall_time: float
    run_time: float = float("nan")  # s of wall time in the simulation loop itself (no build)
    interrupted: bool = False
    u0_final: np.ndarray | None = None  # (M,) thresholds at the end (learned if configured)
    u0_trace: np.ndarray | None = None  # (K, M) recorded thresholds when they are learned
    metrics: dict = field(default_factory=dict)
    #: an ensemble of several chips: each figure of results.ensemble.CHIP_SUMMARY per chip
    chip_metrics: dict = field(default_factory=dict)

    @classmethod
    def from_run(cls, design, record: RunRecord, *, out=None) -> "InferenceResult":
        """The result of a finished run: ``u``, ``s`` and the figures of merit from ``v``.

        With ``out`` (a path), the run is also written there (the layout of :meth:`to_hdf5`):
        the sample datasets go to the file on a background thread while the figures of merit
        are computed, so on two or more cores the file costs the caller little more than
        the metrics do. The file is complete when this returns. If computing the metrics
        fails, the file keeps the samples and the run's attributes (no metrics) and the error
        is raised; if writing fails, the partial file is removed and the error raised.
        """
        writer = hdf5.BackgroundWriter(out) if out is not None else None
        res = None
        try:
            if writer is not None:  # what exists now first; u and s once computed
                for name in ("t", "v", "u0_trace"):
                    writer.dataset(name, getattr(record, name))
            u = record.v / design.circuit.volts_per_unit
            if writer is not None:
                writer.dataset("u", u)
            model = design.model
            if model.prior == "gaussian":
                s = u.copy()
            else:  # learned thresholds: s = h(u; u0(t)), one threshold per sample and unit
                u0 = model.u0 if record.u0_trace is None else record.u0_trace
                s = models.soft_threshold(u, u0, model.positive)
            if writer is not None:
                writer.dataset("s", s)
            res = cls(design, record.t, record.v, u, s, record.dictionary, record.wall_time,
                      record.run_time, record.interrupted, record.u0_final, record.u0_trace)
            if design.copies > 1:
                res.metrics, res.chip_metrics = ensemble.ensemble_metrics(res)
            else:
                res.metrics = res.compute_metrics()
        finally:
            if writer is not None:
                writer.finish(res)  # closes the file; raises if a write failed
        return res

    # ------------------------------------------------------------------ what was run
    @property
    def cfg(self):
        """The parsed config the design was resolved from."""
        return self.design.config

    @property
    def model(self) -> models.SparseCodingModel:
        return self.design.model

    @property
    def x(self) -> np.ndarray:
        return self.design.x

    @property
    def budget(self):
        return self.design.noise.budget

    @property
    def dt(self) -> float:
        return self.design.dt

    @property
    def dt_auto(self) -> bool:
        return self.design.timestep.auto

    @property
    def record_stride(self) -> int:
        return self.design.timestep.record_stride

    @property
    def devices(self) -> dict | None:
        """This chip's drawn variations (when the config has [mismatch] or [weights]);
        several chips: each array stacked over chips, (chips, ...)."""
        if not self.design.records_devices:
            return None
        if self.design.chips > 1:
            draws = [d.as_dict() for d in self.design.ensemble.devices]
            return {k: np.stack([d[k] for d in draws]) for k in draws[0]}
        return self.design.devices.as_dict()

    @property
    def tau_u(self) -> float:
        return self.design.tau_u

    @property
    def T_eff(self) -> float:
        return self.design.T_eff

    # ------------------------------------------------------------------ statistics
    @property
    def burn_in(self) -> int:
        """Number of leading samples excluded from statistics."""
        return metrics.burn_in(len(self.t))

    def kept(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.burn_in:]

    def pooled(self, arr: np.ndarray, chip: int = 0) -> np.ndarray:
        """Kept samples (n, M) of one chip: an ensemble's chains of that chip one after the
        other (:func:`.ensemble.chains_pooled`); a plain run's kept samples."""
        if arr.ndim == 2:
            return self.kept(arr)
        k = self.design.chains
        return ensemble.chains_pooled(self.kept(arr)[:, chip * k:(chip + 1) * k])

    def chip(self, c: int) -> "InferenceResult":
        """Chip ``c`` (position in the batch) of an ensemble of several chips, as the result
        of that chip run alone: its design (:meth:`Design.chip_alone`), its chains' samples,
        its dictionary and devices, and its pooled figures of merit (from
        :attr:`chip_metrics`: the chips shared one MALA reference). Its noise is the
        batch's draw, not the one a run alone would make (the same law). A sweep's batched
        points are written from this (:func:`circuit_sim.sweep.worker.run_batch`)."""
        d = self.design
        if d.chips == 1:
            return self
        k = d.chains
        alone = d.chip_alone(c)
        def part(a):
            if a is None:
                return None
            return a[:, c * k:(c + 1) * k] if k > 1 else a[:, c * k]

        u0f = self.u0_final
        if u0f is not None and np.ndim(u0f) == 2:
            u0f = u0f[c * k:(c + 1) * k] if k > 1 else u0f[c * k]
        keep = ("tau_u", "T_eff", "dt", "h", "lambda_max")
        mt = {key: self.metrics[key] for key in keep if key in self.metrics}
        if k > 1:
            mt.update(copies=k, chains=k, chips=1)
        mt.update({key: float(v[c]) for key, v in self.chip_metrics.items()
                   if key not in ("chip", "seed")})
        return InferenceResult(alone, self.t, part(self.v), part(self.u), part(self.s),
                               np.asarray(self.dictionary)[c], self.wall_time, self.run_time,
                               self.interrupted, u0f, part(self.u0_trace), mt)

    def first_copy(self, arr: np.ndarray) -> np.ndarray:
        """All samples (n, M) of the first copy (an ensemble's chain 0 of chip 0)."""
        return arr if arr.ndim == 2 else arr[:, 0]

    def compute_metrics(self) -> dict:
        """Autocorrelation time, ESS, power/energy, and the comparison with the exact posterior
        (an ensemble: :func:`.ensemble.ensemble_metrics`)."""
        if self.design.copies > 1:
            return ensemble.ensemble_metrics(self)[0]
        return metrics.compute_metrics(self)

    def exact_comparison(self) -> dict:
        return metrics.exact_comparison(self.pooled(self.u), self.pooled(self.s), self.design,
                                        self.x)

    def mala_comparison(self, n_chains: int = 8, n_steps: int = MALA_REFERENCE_STEPS) -> dict:
        return metrics.mala_comparison(self.pooled(self.u), self.pooled(self.s), self.model,
                                       self.x, self.design.seeds.rng("mala"), n_chains, n_steps)

    def u_edges(self, grid, i: int, n_bins: int = 30) -> np.ndarray:
        return metrics.u_edges(grid, i, n_bins)

    def s_edges(self, grid, i: int, n_bins: int = 20) -> np.ndarray:
        return metrics.s_edges(grid, i, n_bins)

    # ------------------------------------------------------------------ outputs
    def summary(self) -> str:
        """A human-readable summary of the run."""
        from .text import inference_summary

        return inference_summary(self)

    def to_hdf5(self, path):
        """Write the run to one HDF5 file (the public layout described in the README)."""
        return hdf5.write_inference(self, path)

    def plot(self, path=None):
        """Figure: marginals of ``s`` (exact where computable) and sample traces (an
        ensemble: chip 0's chains pooled, chain 0's trace); several chips: the spread across
        chips (:func:`.figures.plot_chips`). PNG if ``path``."""
        from .figures import plot_chips, plot_inference

        return plot_chips(self, path) if self.chip_metrics else plot_inference(self, path)
