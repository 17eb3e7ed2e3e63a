"""The result of one inference run: SI arrays, figures of merit, HDF5 and PNG output."""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import models
from noise import format_si

from . import __version__
from .config import INTEGRATOR_DESCRIPTIONS

#: Fraction of the recorded samples discarded as burn-in in every statistic.
BURN_IN_FRACTION = 0.1
#: At most this many (thinned) samples enter the autocorrelation-time estimate.
MAX_IAT_SAMPLES = 20000
#: The recorded-sample datasets of a run's HDF5 file and their units (``u0_trace`` only
#: when the thresholds are learned).
SAMPLE_UNITS = {"t": "s", "u": "1", "s": "1", "v": "V", "u0_trace": "1"}


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The git revision of the package's checkout, or ``"unknown"``."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _open_hdf5(path):
    """A new HDF5 file at ``path`` (parent folders created), open for writing."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return h5py.File(path, "w")


class _BackgroundWriter:
    """An open HDF5 file whose bulk datasets are filled on a background thread.

    :meth:`dataset` creates each dataset at once (contiguous, its space allocated in the
    file, no fill value written) and queues its bytes; one thread writes them at the
    dataset's offset with ``os.pwrite``, which releases the GIL (h5py's own writes hold
    it), so the caller's numpy work runs on another core meanwhile. The file is an ordinary
    HDF5 file: the raw bytes of a contiguous dataset of the array's own dtype are the
    array's bytes. h5py is used from the calling thread only.
    """

    CHUNK_BYTES = 1 << 26  # bytes per pwrite call

    def __init__(self, f):
        self.f = f
        self.error = None
        self._fd = os.open(f.filename, os.O_WRONLY)
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="circuit_sim-hdf5", daemon=True)
        self._thread.start()

    def dataset(self, name: str, data: np.ndarray, units: str) -> None:
        import h5py

        data = np.ascontiguousarray(data)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.CONTIGUOUS)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        d = self.f.create_dataset(name, shape=data.shape, dtype=data.dtype, dcpl=dcpl)
        d.attrs["units"] = units
        offset = d.id.get_offset()
        if data.nbytes and offset is None:  # not allocated after all: write it here
            d[...] = data
        elif data.nbytes:
            self._queue.put((offset, data))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue
            offset, data = item
            try:
                view = memoryview(data.reshape(-1).view(np.uint8))
                done = 0
                while done < len(view):
                    done += os.pwrite(self._fd, view[done:done + self.CHUNK_BYTES],
                                      offset + done)
            except BaseException as exc:  # noqa: BLE001 -- raised by finish()
                self.error = exc

    def finish(self):
        """Wait for the queued bytes and return the open file. If a write failed (a full
        disk), the file, whose samples would read as zeros, is closed and removed and the
        error raised."""
        self._queue.put(None)
        self._thread.join()
        os.close(self._fd)
        if self.error is not None:
            path = self.f.filename
            self.f.close()
            with contextlib.suppress(OSError):
                os.remove(path)
            raise self.error
        return self.f


#: The MALA reference of :meth:`InferenceResult.mala_comparison` (spike-and-slab, M > 2) is
#: part of every run's metrics up to this many units (~0.1 s); call it explicitly beyond.
MALA_REFERENCE_MAX_M = 16
MALA_REFERENCE_STEPS = 20000
MALA_REFERENCE_SEED = 20221


def histogram_edges(lo: float, hi: float, n_bins: int) -> np.ndarray:
    return np.linspace(lo, hi, n_bins + 1)


@dataclass
class InferenceResult:
    """Samples of one circuit run, in SI units, and the figures of merit derived from them.

    Attributes
    ----------
    t : ndarray (K,)
        Sample times in s.
    v : ndarray (K, M)
        Latent node voltages in V.
    u, s : ndarray (K, M)
        Dimensionless latent state ``v / V_u`` and code ``h(u)``.
    x : ndarray (N,)
        Input (dimensionless).
    dictionary : ndarray (N, M)
        Dictionary read back from the crossbar conductances.
    metrics : dict
        Figures of merit (see :meth:`compute_metrics`); SI floats.
    """

    cfg: object
    model: models.SparseCodingModel
    x: np.ndarray
    t: np.ndarray
    v: np.ndarray
    u: np.ndarray
    s: np.ndarray
    dictionary: np.ndarray
    budget: object
    dt: float
    dt_auto: bool
    record_stride: int
    wall_time: float
    run_time: float = float("nan")  # s of wall time in the simulation loop itself (no build)
    interrupted: bool = False
    u0_final: np.ndarray | None = None  # (M,) thresholds at the end (learned if configured)
    u0_trace: np.ndarray | None = None  # (K, M) recorded thresholds when they are learned
    metrics: dict = field(default_factory=dict)
    devices: dict | None = None  # this chip's drawn variations (nonideal.DeviceDraw.as_dict)

    @classmethod
    def from_run(cls, *, cfg, model, x, t, v, dictionary, budget, dt, dt_auto, record_stride,
                 wall_time, run_time=float("nan"), interrupted=False,
                 u0_final=None, u0_trace=None, devices=None, out=None) -> "InferenceResult":
        """The result of a finished run: ``u``, ``s`` and the figures of merit from ``v``.

        With ``out`` (a path), the run is also written there (the layout of :meth:`to_hdf5`):
        the sample datasets go to the file on a background thread while the figures of merit
        are computed, so on two or more cores the file costs the caller little more than
        the metrics do. The file is complete when this returns. If computing the metrics
        fails, the file keeps the samples and the run's attributes (no metrics) and the error
        is raised; if writing fails, the partial file is removed and the error raised.
        """
        writer = _BackgroundWriter(_open_hdf5(out)) if out is not None else None
        res = None

        def write(name, data):
            if writer is not None and data is not None:
                writer.dataset(name, data, SAMPLE_UNITS[name])
        try:
            write("t", t)  # what exists now first; u and s as soon as they are computed
            write("v", v)
            write("u0_trace", u0_trace)
            u = v / cfg.circuit.volts_per_unit
            write("u", u)
            if model.prior == "gaussian":
                s = u.copy()
            elif u0_trace is not None:  # learned thresholds: s = h(u; u0(t))
                mag = np.maximum(np.abs(u) - u0_trace, 0.0)
                s = mag if model.positive else np.sign(u) * mag
            else:
                s = models.soft_threshold(u, model.u0, model.positive)
            write("s", s)
            res = cls(cfg, model, x, t, v, u, s, dictionary, budget, dt, dt_auto, record_stride,
                      wall_time, run_time, interrupted, u0_final, u0_trace, devices=devices)
            res.metrics = res.compute_metrics()
        finally:
            if writer is not None:
                f = writer.finish()  # closes the file and raises if a write failed
                try:
                    if res is not None:
                        res._write_metadata(f)
                finally:
                    f.close()
        return res

    # ------------------------------------------------------------------ figures of merit
    @property
    def tau_u(self) -> float:
        return self.cfg.circuit.tau_u

    @property
    def T_eff(self) -> float:
        return self.budget.T_eff

    @property
    def burn_in(self) -> int:
        """Number of leading samples excluded from statistics."""
        return int(BURN_IN_FRACTION * len(self.t))

    def kept(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.burn_in:]

    def compute_metrics(self) -> dict:
        """Autocorrelation time, ESS, power/energy, and the comparison with the exact posterior."""
        mt = {"tau_u": self.tau_u, "T_eff": self.T_eff, "dt": self.dt,
              "h": self.dt / self.tau_u, "lambda_max": models.lambda_max(self.model),
              "n_samples": int(len(self.t) - self.burn_in)}
        u = self.kept(self.u)
        rec = self.record_stride * self.dt
        if len(u) >= 20:
            # thin to at most MAX_IAT_SAMPLES rows for the estimate (cost); a thinned series
            # whose stride exceeds the correlation time gives tau ~ 1 stride: an upper bound
            thin = max(1, len(u) // MAX_IAT_SAMPLES)
            ut = u[::thin]
            series = [np.atleast_1d(models.integrated_autocorrelation_time(ut))]
            if self.model.prior == "laplace" and self.model.u0 > 0:
                active = (self.kept(self.s)[::thin] != 0).astype(float)
                varying = np.std(active, axis=0) > 0
                if np.any(varying):
                    series.append(np.atleast_1d(
                        models.integrated_autocorrelation_time(active[:, varying])))
            tau_max = float(np.nanmax(np.concatenate(series)))
            tau_s = max(tau_max, 1.0) * rec * thin
            duration = len(u) * rec
            mt["autocorrelation_time"] = tau_s  # s of circuit time per effective sample
            mt["ess"] = duration / tau_s
            mt["ess_per_second"] = 1.0 / tau_s
        c = self.cfg.circuit
        if c.bias_current is not None and c.supply_voltage is not None:
            p_unit = c.bias_current * c.supply_voltage
            mt["power_per_unit"] = p_unit
            mt["power_total"] = p_unit * self.model.n_components
            if "autocorrelation_time" in mt:
                mt["energy_per_sample"] = mt["power_total"] * mt["autocorrelation_time"]
        mt.update(self.exact_comparison())
        return mt

    def exact_comparison(self) -> dict:
        """Compare the samples with the exact posterior where one is computable.

        Gaussian prior: closed-form mean and covariance (T = 1), the relative Frobenius
        error of the sample covariance, and the temperature measured from the samples,
        ``T_meas = tr(A C_hat) / M`` with ``A`` the posterior precision. Laplace prior
        with M <= 2: grid quadrature; total-variation distance of the marginals of ``u``
        and of ``s`` (zero mass included).
        """
        out = {}
        u = self.kept(self.u)
        if len(u) < 20:
            return out
        if self.model.prior == "gaussian":
            mean, cov = models.gaussian_posterior(self.model, self.x)
            c_hat = np.atleast_2d(np.cov(u, rowvar=False))
            a = np.linalg.inv(cov)
            out["mean_error"] = float(np.linalg.norm(u.mean(0) - mean) / np.sqrt(np.trace(cov)))
            out["cov_error"] = float(np.linalg.norm(c_hat - cov) / np.linalg.norm(cov))
            out["posterior_error"] = out["cov_error"]
            out["T_measured"] = float(np.trace(a @ c_hat) / self.model.n_components)
        elif self.model.n_components <= 2:
            grid = models.grid_posterior(self.model, self.x)
            tv_u, tv_s = [], []
            for i in range(self.model.n_components):
                tv_u.append(models.u_total_variation(u[:, i], grid, i, self.u_edges(grid, i)))
                tv_s.append(models.s_total_variation(self.kept(self.s)[:, i], grid, i,
                                                     self.s_edges(grid, i)))
                out[f"zero_mass_{i}"] = float(np.mean(self.kept(self.s)[:, i] == 0))
                out[f"zero_mass_exact_{i}"] = float(grid.s_zero_mass[i])
            out["tv_u"] = float(max(tv_u))
            out["tv_s"] = float(max(tv_s))
            out["posterior_error"] = out["tv_s"]
        elif (self.cfg.learning is None and self.cfg.input.kind == "fixed"
              and self.model.n_components <= MALA_REFERENCE_MAX_M):
            out.update(self.mala_comparison())
        if self.model.prior == "laplace":
            out["activity"] = float(np.mean(self.kept(self.s) != 0))
            if self.model.pi is not None and self.model.pi > 0:
                out["activity_bias"] = out["activity"] / self.model.pi - 1.0
        return out

    def mala_comparison(self, n_chains: int = 8, n_steps: int = MALA_REFERENCE_STEPS) -> dict:
        """Compare with a MALA reference (exact for any M): ``n_chains`` chains started from
        recorded circuit states, step ``0.5 / lambda_max``, first 20% dropped, seed fixed.

        ``posterior_error`` is the largest marginal TV distance of a code ``s_i`` between
        circuit and reference (:func:`models.code_total_variation`); also the largest
        difference of activity ``P(s_i != 0)`` and of ``E[s_i]`` (in reference s.d.).
        """
        u = self.kept(self.u)
        rng = np.random.default_rng(MALA_REFERENCE_SEED)
        starts = u[rng.choice(len(u), size=n_chains, replace=False)] if len(u) >= n_chains \
            else np.repeat(u[-1:], n_chains, axis=0)
        step = 0.5 / models.lambda_max(self.model)
        samples, acc = models.mala(self.model, self.x, starts, n_steps=n_steps, step=step,
                                   rng=rng, record_every=5)
        ref_u = samples[len(samples) // 5:].reshape(-1, self.model.n_components)
        ref_s = models.soft_threshold(ref_u, self.model.u0, self.model.positive)
        s = self.kept(self.s)
        tv = [models.code_total_variation(s[:, i], ref_s[:, i])
              for i in range(self.model.n_components)]
        sd = np.maximum(ref_s.std(0), 1e-12)
        return {"posterior_error": float(max(tv)), "tv_s_vs_mala": float(max(tv)),
                "activity_error_vs_mala": float(np.max(np.abs(np.mean(s != 0, 0)
                                                              - np.mean(ref_s != 0, 0)))),
                "mean_error_vs_mala": float(np.max(np.abs(s.mean(0) - ref_s.mean(0)) / sd)),
                "mala_acceptance": float(np.mean(acc)),
                "mala_samples": int(len(ref_u))}

    @staticmethod
    def _quantile_range(values: np.ndarray, density: np.ndarray, lo=1e-3, hi=1 - 1e-3):
        cdf = np.cumsum(density)
        if cdf[-1] <= 0:
            return values[0], values[-1]
        cdf = cdf / cdf[-1]
        return float(np.interp(lo, cdf, values)), float(np.interp(hi, cdf, values))

    def u_edges(self, grid, i: int, n_bins: int = 30) -> np.ndarray:
        """Histogram edges for ``u_i`` covering the central 99.8% of the exact marginal."""
        a, b = self._quantile_range(grid.u_grid, grid.u_marginals[i])
        return histogram_edges(a, b, n_bins)

    def s_edges(self, grid, i: int, n_bins: int = 20) -> np.ndarray:
        """Histogram edges for the nonzero part of ``s_i``."""
        a, b = self._quantile_range(grid.s_grid, grid.s_densities[i])
        return histogram_edges(a, b, n_bins)

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """A human-readable summary of the run."""
        mt, c = self.metrics, self.cfg.circuit
        lines = [f"circuit-sim {__version__}: {self.model.n_features} inputs x "
                 f"{self.model.n_components} latent units, prior {self.model.prior}"
                 + (f" (pi = {self.model.pi:.3g}, u0 = {self.model.u0:.4g}"
                    f"{', positive' if self.model.positive else ''})" if self.model.prior == "laplace" else ""),
                 f"  design point : C = {format_si(c.capacitance, 'F')}, G_m = "
                 f"{format_si(c.transconductance, 'S')}"
                 f"{' (subthreshold, from bias current)' if c.transconductance_from_bias else ''}, "
                 f"V_u = {format_si(c.volts_per_unit, 'V')}, T = {c.temperature:.4g} K",
                 f"  tau_u = C/G_m = {format_si(self.tau_u, 's')};  T_eff = {self.T_eff:.4g} "
                 f"(noise budget)",
                 f"  integrator   : {self.cfg.run.integrator}, dt = {format_si(self.dt, 's')} "
                 f"(h = dt/tau_u = {mt['h']:.3g}, stability limit 2/lambda_max = "
                 f"{2 / mt['lambda_max']:.3g}{'; dt chosen automatically' if self.dt_auto else ''}); "
                 f"crossbar: {'dense kernel' if self.cfg.run.crossbar_mode == 'dense' else 'Brian2 summed variables'}"
                 + (f"; plasticity dt = {format_si(self.cfg.plasticity_stride() * self.dt, 's')} "
                    f"({self.cfg.plasticity_stride()} steps"
                    f"{', automatic' if self.cfg.learning.plasticity_dt is None else ''})"
                    if self.cfg.learning is not None else ""),
                 f"  simulated    : {format_si(len(self.t) * self.record_stride * self.dt, 's')} of "
                 f"circuit time on backend '{self.cfg.run.backend}' in {self.wall_time:.2f} s wall, "
                 f"{self.run_time:.2f} s of it simulating "
                 f"(seed {self.cfg.run.seed}); {len(self.t)} samples, burn-in {self.burn_in}"
                 + ("  [INTERRUPTED]" if self.interrupted else "")]
        if "autocorrelation_time" in mt:
            lines.append(f"  autocorrelation time {format_si(mt['autocorrelation_time'], 's')} per "
                         f"effective sample (ESS {mt['ess']:.0f}; {mt['ess_per_second']:.4g} "
                         f"effective samples per second of circuit time)")
        if "power_total" in mt:
            lines.append(f"  power {format_si(mt['power_per_unit'], 'W')} per unit, "
                         f"{format_si(mt['power_total'], 'W')} total"
                         + (f"; energy per effective sample {format_si(mt['energy_per_sample'], 'J')}"
                            if "energy_per_sample" in mt else ""))
        if "cov_error" in mt:
            lines.append(f"  vs exact Gaussian posterior: covariance error (rel. Frobenius) "
                         f"{mt['cov_error']:.4f}, mean error {mt['mean_error']:.4f} (in posterior sd), "
                         f"measured temperature {mt['T_measured']:.4f}")
        if "tv_s" in mt:
            zm = ", ".join(f"{mt[f'zero_mass_{i}']:.3f} (exact {mt[f'zero_mass_exact_{i}']:.3f})"
                           for i in range(self.model.n_components))
            lines.append(f"  vs exact posterior (grid quadrature): TV(u) = {mt['tv_u']:.4f}, "
                         f"TV(s) = {mt['tv_s']:.4f}; P(s_i = 0) = {zm}")
        if "activity" in mt:
            lines.append(f"  activity (fraction of nonzero s) {mt['activity']:.4f}; prior pi = "
                         f"{self.model.pi:.4f}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ files
    def to_hdf5(self, path) -> Path:
        """Write the run to one HDF5 file (the public layout described in the README)."""
        path = Path(path)
        f = _open_hdf5(path)
        try:
            for name, data, units in self._sample_datasets():
                f.create_dataset(name, data=data).attrs["units"] = units
            self._write_metadata(f)
        finally:
            f.close()
        return path

    def _sample_datasets(self) -> list[tuple[str, np.ndarray, str]]:
        """(name, array, units) of the recorded samples: the bulk of a file."""
        return [(name, getattr(self, name), units) for name, units in SAMPLE_UNITS.items()
                if getattr(self, name) is not None]

    def _write_metadata(self, f) -> None:
        """Everything of :meth:`to_hdf5` but the sample datasets, into the open file ``f``."""
        def ds(name, data, units):
            d = f.create_dataset(name, data=data)
            d.attrs["units"] = units
            return d
        ds("x", self.x, "1")
        ds("dictionary", self.dictionary, "1")
        if self.u0_final is not None:
            ds("u0", self.u0_final, "1")
        g = f.create_group("noise_budget")
        entries = self.budget.entries
        src = g.create_dataset("source", data=np.array([e.name for e in entries], dtype="S"))
        src.attrs["units"] = ""
        kind = g.create_dataset("kind", data=np.array([e.kind for e in entries], dtype="S"))
        kind.attrs["units"] = ""
        for name, vals, units in (("psd", [e.psd for e in entries], "A^2/Hz"),
                                  ("T_eff", [e.T_eff for e in entries], "1"),
                                  ("share", [e.share for e in entries], "1")):
            d = g.create_dataset(name, data=np.array(vals, dtype=float))
            d.attrs["units"] = units
        g.attrs["total_psd"] = self.budget.total_psd
        g.attrs["T_eff"] = self.budget.T_eff
        if self.devices is not None:
            dg = f.create_group("devices")
            dg.attrs["description"] = ("this chip's fixed variations, drawn from run.seed "
                                       "(circuit_sim.nonideal)")
            dunits = {"gm_rel": "1", "c_rel": "1", "threshold_offset": "V",
                      "weight_gain": "1", "weight_offset": "1 (units of Phi)",
                      "drift_rate": "1/s (units of Phi per second)"}
            for name, arr in self.devices.items():
                dg.create_dataset(name, data=arr).attrs["units"] = dunits.get(name, "")
        mg = f.create_group("metrics")
        for k, v in self.metrics.items():
            mg.attrs[k] = v
        a = f.attrs
        a["config"] = self.cfg.to_toml()
        if self.cfg.source is not None:
            a["config_original"] = self.cfg.source
        a["seed"] = self.cfg.run.seed
        a["backend"] = self.cfg.run.backend
        a["integrator"] = self.cfg.run.integrator
        a["integrator_description"] = INTEGRATOR_DESCRIPTIONS[self.cfg.run.integrator]
        if self.cfg.learning is not None:
            a["plasticity_dt"] = self.cfg.plasticity_stride() * self.dt
            a["plasticity_stride"] = self.cfg.plasticity_stride()
        a["version"] = __version__
        a["git_revision"] = git_revision()
        a["T_eff"] = self.T_eff
        a["tau_u"] = self.tau_u
        a["dt"] = self.dt
        a["burn_in"] = self.burn_in
        a["interrupted"] = self.interrupted
        a["wall_time"] = self.wall_time
        a["run_time"] = self.run_time

    def plot(self, path=None):
        """Figure: marginals of ``s`` (exact where computable) and sample traces; PNG if ``path``."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        m = min(self.model.n_components, 4)
        fig, axes = plt.subplots(2, m, figsize=(4 * m, 6.5), squeeze=False)
        s = self.kept(self.s)
        grid = None
        if self.model.prior == "laplace" and self.model.n_components <= 2:
            grid = models.grid_posterior(self.model, self.x)
        gauss = models.gaussian_posterior(self.model, self.x) if self.model.prior == "gaussian" else None
        for i in range(m):
            ax = axes[0, i]
            if grid is not None:
                edges = self.s_edges(grid, i)
                nz = s[:, i][s[:, i] != 0]
                widths = np.diff(edges)
                hist, _ = np.histogram(nz, edges)
                ax.bar(edges[:-1], hist / len(s) / widths, widths, align="edge", alpha=0.5,
                       label="circuit samples")
                ax.plot(grid.s_grid, grid.s_densities[i], "k-", lw=1.2, label="exact posterior")
                p0 = np.mean(s[:, i] == 0)
                ax.set_title(f"s_{i}: P(s=0) = {p0:.3f} (exact {grid.s_zero_mass[i]:.3f})")
                ax.set_xlim(edges[0], edges[-1])
                ax.set_ylabel("density of s != 0 (area = P(s != 0))")
            else:
                ax.hist(s[:, i], bins=40, density=True, alpha=0.5, label="circuit samples")
                if gauss is not None:
                    mu, sd = gauss[0][i], np.sqrt(gauss[1][i, i])
                    z = np.linspace(mu - 4 * sd, mu + 4 * sd, 200)
                    ax.plot(z, np.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), "k-",
                            label="exact posterior")
                ax.set_title(f"s_{i}")
            ax.set_xlabel(f"s_{i}")
            ax.legend(fontsize=8)
            ax2 = axes[1, i]
            n_show = min(len(self.t), 2000)
            ax2.plot(self.t[:n_show] * 1e6, self.u[:n_show, i], lw=0.6)
            if self.model.prior == "laplace" and self.model.u0 > 0:
                for sign in (-1, 1):
                    ax2.axhline(sign * self.model.u0, color="r", lw=0.6, ls="--")
            ax2.set_xlabel("t [us]")
            ax2.set_ylabel(f"u_{i} = v_{i}/V_u")
        fig.suptitle(f"T_eff = {self.T_eff:.3g}, tau_u = {format_si(self.tau_u, 's')}", fontsize=10)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig
