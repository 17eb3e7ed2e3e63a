"""Learning runs: inference and plasticity together on a stream of inputs, with snapshots.

A run is cut into segments of ``learning.snapshot_every``. Each segment is reseeded from
``(run.seed, segment index)``, presents the patches its steps need, and ends with a
snapshot appended to the HDF5 file (dictionary, thresholds, running statistics, and the
full circuit state for ``--resume``), flushed to disk. Because the input switches are
counted in integer steps and every segment has its own seed, a run resumed from a
snapshot continues exactly as the uninterrupted run would have (same backend).

Runtime backends (numpy, cython) run the segments from Python, so Ctrl-C or a crash
leaves every snapshot written so far; only the patches of one segment are in memory. The
standalone backend compiles all segments into one program (per-segment seeds included)
and writes the snapshots when it ends; Ctrl-C stops it gracefully at the current step and
the snapshots recorded so far are written. It holds the whole stream in memory.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

import brian2 as b2

import models

from . import __version__
from .backends import backend_context, standalone_monitor_array
from .config import INTEGRATOR_DESCRIPTIONS, Config
from .errors import ConfigError
from .interrupt import Interrupt
from .network import build_network
from .result import git_revision
from .simulate import initial_state, structure_key
from .streams import make_stream

#: Edges (in units of 1/lambda) of the histogram of nonzero |s| kept per snapshot.
HIST_EDGES = np.linspace(0.0, 8.0, 41)


def segment_seed(seed: int, k: int) -> int:
    """Seed of segment ``k`` (a 31-bit integer derived from the run's seed)."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0] & 0x7FFFFFFF)


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


class _Snapshots:
    """The HDF5 file of a learning run, appended to and flushed at every snapshot."""

    def __init__(self, path: Path, cfg: Config, n: int, m: int, true_dict, resume: bool):
        import h5py

        self.path = path
        try:
            if resume:
                self.f = h5py.File(path, "r+")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self.f = h5py.File(path, "w")
        except OSError as exc:  # locked by another process, open here, not writable, ...
            raise ConfigError("--out", "a writable HDF5 file that nothing else has open",
                              f"{path} ({exc})") from exc
        a = f.attrs
        a["config"] = cfg.to_toml()
        if cfg.source is not None:
            a["config_original"] = cfg.source
        a["seed"], a["version"], a["git_revision"] = cfg.run.seed, __version__, git_revision()
        a["backend"], a["integrator"] = cfg.run.backend, cfg.run.integrator
        a["integrator_description"] = INTEGRATOR_DESCRIPTIONS[cfg.run.integrator]
        a["dynamics"] = cfg.learning.dynamics if cfg.learning is not None else "langevin"
        a["learning"] = cfg.learning is not None
        a["tau_u"] = cfg.circuit.tau_u
        a["T_eff"] = cfg.noise_budget().T_eff
        a["complete"] = False
        g = f.create_group("snapshots")
        for name, shape, units in (("t", (), "s"), ("dictionary", (n, m), "1"),
                                   ("u0", (m,), "1"), ("patches_seen", (), "1")):
            d = g.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=float)
            d.attrs["units"] = units
        s = f.create_group("stats")
        for name, shape, units in (("t", (), "s"), ("activity", (), "1"),
                                   ("reconstruction_error", (), "1"), ("energy", (), "1"),
                                   ("kl_prior", (), "nat"), ("hist_nonzero", (len(HIST_EDGES) - 1,), "count"),
                                   ("recovery_mean", (), "1"), ("recovery_min", (), "1")):
            d = s.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=float)
            d.attrs["units"] = units
        s["hist_nonzero"].attrs["edges_times_lambda"] = HIST_EDGES
        if true_dict is not None:
            d = f.create_dataset("true_dictionary", data=true_dict)
            d.attrs["units"] = "1"
        f.flush()

    def append(self, group: str, **values):
        g = self.f[group]
        for name, value in values.items():
            d = g[name]
            d.resize(d.shape[0] + 1, axis=0)
            d[-1] = value

    def write_state(self, state: dict, dictionary: np.ndarray, segment: int):
        f = self.f
        if "state" in f:
            del f["state"]
        g = f.create_group("state")
        for k, v in state.items():
            g.create_dataset(k, data=v)
        g.attrs["next_segment"] = segment
        if "dictionary" in f:
            del f["dictionary"]
        d = f.create_dataset("dictionary", data=dictionary)
        d.attrs["units"] = "1"
        f.flush()

    def n_snapshots(self) -> int:
        return int(self.f["snapshots/t"].shape[0])

    def close(self, complete: bool):
        self.f.attrs["complete"] = complete
        self.f.flush()
        self.f.close()


def _state_names(circ) -> list[str]:
    """Latent state variables to save for a resume (beyond v, u0, g)."""
    return [k for k in circ.latent.variables if k.startswith(("rprev_", "y_"))]


#: Default bound (bytes) on the samples one standalone program records (see run_learning).
STANDALONE_MEMORY_LIMIT = 256_000_000


def _segments(cfg: Config) -> tuple[int, int]:
    """(steps per segment, number of segments) of a learning run."""
    dt, _ = cfg.resolved_dt()
    n_total = cfg.n_steps()
    stride = cfg.record_stride()
    snap = (cfg.learning.snapshot_every if cfg.learning is not None else None) or n_total * dt / 20
    sps = stride * max(1, int(round(snap / dt / stride)))  # whole numbers of samples
    return sps, max(1, int(round(n_total / sps)))  # the last segment runs to the end


def _standalone_chunk(cfg: Config, n_components: int, memory_limit: float) -> int:
    """Segments per standalone program run such that its recorded samples (``v``, and ``u0``
    when learned) stay within ``memory_limit`` bytes (at least one segment)."""
    stride = cfg.record_stride()
    sps, _ = _segments(cfg)
    learn_u0 = cfg.learning is not None and cfg.learning.threshold_time_constant is not None
    per_segment = (sps // stride + 1) * n_components * 8 * (2 if learn_u0 else 1)
    return max(1, int(memory_limit // per_segment))


def run_learning(cfg: Config, out, *, resume: bool = False, progress=None,
                 stop_after: int | None = None,
                 memory_limit: float = STANDALONE_MEMORY_LIMIT) -> Path:
    """Run inference and learning on the config's input stream; write snapshots to ``out``.

    The runtime backends run one segment (``learning.snapshot_every``) at a time and write
    its snapshot before the next. A standalone program records its samples in memory until
    it ends, so a long standalone run is cut into chunks of segments whose samples fit in
    ``memory_limit`` bytes: each chunk is one run of the compiled program that resumes from
    the previous chunk's state (as ``--resume`` does, bit for bit), and its snapshots are
    written before the next chunk starts. Memory stays bounded however long the run.

    Parameters
    ----------
    cfg : Config
        Needs a stream input (``input.kind``); without a ``[learning]`` section the
        dictionary and thresholds stay fixed (inference on a stream).
    out : path
        HDF5 file; with ``resume=True`` an existing file of the same config to continue.
    progress : file-like, optional
        Progress lines with an ETA (e.g. ``sys.stderr``).
    stop_after : int, optional
        Stop after this many segments (testing interruption and resume).
    memory_limit : float
        Standalone only: bytes of recorded samples one program run may hold (default
        256 MB); the run is chunked accordingly (see above).

    Returns
    -------
    Path of the HDF5 file.
    """
    if cfg.run.backend == "standalone" and cfg.input.kind != "fixed":
        import h5py

        chunk = _standalone_chunk(cfg, cfg.model.n_components, memory_limit)
        n_seg = _segments(cfg)[1]
        remaining = stop_after
        first = True
        t0, done0 = time.perf_counter(), None
        while True:
            n = chunk if remaining is None else min(chunk, remaining)
            path = _run_learning(cfg, out, resume=resume or not first, progress=progress,
                                 stop_after=n)
            first = False
            if remaining is not None:
                remaining -= n
            with h5py.File(path, "r") as f:
                finished = bool(f.attrs["complete"]) or bool(f.attrs["interrupted"])
                done = int(f["snapshots/t"].shape[0])
            if done0 is None:
                done0 = done - min(n, done)
            if finished or remaining == 0:
                return path
            if progress is not None:  # an ETA from the chunks run so far
                el = time.perf_counter() - t0
                left = (n_seg - done) if remaining is None else min(remaining, n_seg - done)
                rate = el / max(1, done - done0)
                progress.write(f"  standalone chunk done: {done}/{n_seg} segments; elapsed "
                               f"{el:.0f} s, ETA {rate * left:.0f} s\n")
                progress.flush()
    return _run_learning(cfg, out, resume=resume, progress=progress, stop_after=stop_after)


def _run_learning(cfg: Config, out, *, resume: bool, progress, stop_after: int | None) -> Path:
    """One program run (standalone) or the whole run (runtime backends): see run_learning."""
    if cfg.input.kind == "fixed":
        raise ConfigError("input.kind", "a stream (\"bars\", \"file\" or \"images\") to learn from",
                          "fixed")
    out = Path(out)
    model = cfg.build_model()
    stream = make_stream(cfg)
    dt, _ = cfg.resolved_dt()
    n_total = cfg.n_steps()
    sps, n_seg = _segments(cfg)

    def seg_bounds(k: int) -> tuple[int, int]:
        return k * sps, (n_total if k == n_seg - 1 else (k + 1) * sps)
    stride = cfg.record_stride()
    sched = stream.schedule
    n_patch = sched.n_patches
    ends = sched.end(np.arange(n_patch))
    end_steps = np.where(np.isfinite(ends), np.ceil(ends / dt - 1e-9), np.inf)

    def patch_at(step: int) -> int:
        return int(min(np.searchsorted(end_steps, step, side="right"), n_patch - 1))

    true_dict = stream.source.true_dictionary
    snaps = _Snapshots(out, cfg, model.n_features, model.n_components, true_dict, resume)
    start_seg, state = 0, None
    if resume:
        if "state" not in snaps.f:
            raise ConfigError("--resume", "a learning file with at least one snapshot", str(out))
        start_seg = int(snaps.f["state"].attrs["next_segment"])
        state = {k: np.asarray(v[()]) for k, v in snaps.f["state"].items()}
        if snaps.f.attrs["config"] != cfg.to_toml():
            raise ConfigError("--resume", "a file written by the same configuration", str(out))
    last_seg = n_seg if stop_after is None else min(n_seg, start_seg + stop_after)
    backend = cfg.run.backend
    t_wall = time.perf_counter()
    interrupted = False
    budget = cfg.noise_budget()
    if state is not None:
        u_init = state["v"] / cfg.circuit.volts_per_unit
    elif cfg.learning is not None and cfg.learning.dynamics == "map" and model.prior == "laplace":
        # T = 0 descent cannot leave the dead zone (h'(u) = 0 gates the likelihood's pull), so
        # from u = 0 nothing would ever switch on: start from a draw of the prior instead
        u_init = np.random.default_rng([cfg.run.seed, 404]).laplace(0.0, 1.0 / model.lam,
                                                                  model.n_components)
    else:
        u_init = initial_state(cfg, model, cfg.x)

    l1_model = (model.prior == "laplace" and model.u0 == 0
                and (cfg.learning is None or cfg.learning.threshold_time_constant is None))

    def stats_of(v_samples, u0_samples, steps, phi):
        """Running statistics of one segment from its recorded samples."""
        u = v_samples / cfg.circuit.volts_per_unit
        if model.prior == "gaussian":
            s = u
        else:
            mag = np.maximum(np.abs(u) - u0_samples, 0.0)
            s = mag if model.positive else np.sign(u) * mag
        # a sample recorded at step n is the state the steps up to n - 1 made: it is paired
        # with the patch presented at step n - 1 (at a switch step the patch has just
        # changed, and pairing it with the new one would count the switch as error)
        idx = np.searchsorted(end_steps, np.asarray(steps) - 1, side="right").clip(0, n_patch - 1)
        k_lo = int(idx.min()) if len(idx) else 0
        xs = stream.patches(k_lo, int(idx.max()) + 1)[idx - k_lo] if len(idx) else np.zeros((0, model.n_features))
        r = xs - s @ phi.T
        err = float(np.mean(np.sum(r**2, axis=1)) / model.n_features) if len(r) else float("nan")
        energy = (np.sum(r**2, axis=1) / (2 * model.sigma**2)
                  + (model.lam * np.sum(np.abs(u), axis=1) if model.prior == "laplace"
                     else np.sum(u**2, axis=1) / (2 * model.prior_variance)))
        if l1_model and len(s):
            # u0 = 0 (the L1 model, e.g. the paper's DSC baseline): no dead zone, so the T = 0
            # flow's zeros are a sliding mode that a discrete step shows as chatter around 0;
            # count as zero what the energy says is zero (models.zero_by_energy)
            s = models.zero_by_energy(s, xs, phi, model.sigma, model.lam)
        nz = np.abs(s[s != 0]) * model.lam
        counts, _ = np.histogram(nz, HIST_EDGES)
        out_stats = {"activity": float(np.mean(s != 0)) if len(s) else float("nan"),
                     "reconstruction_error": err,
                     "energy": float(np.mean(energy)) if len(energy) else float("nan"),
                     "kl_prior": slab_kl(counts, model.lam), "hist_nonzero": counts}
        if true_dict is not None:
            out_stats["recovery_mean"], out_stats["recovery_min"] = dictionary_recovery(phi, true_dict)
        else:
            out_stats["recovery_mean"] = out_stats["recovery_min"] = float("nan")
        return out_stats

    def write_snapshot(seg: int, seg_end: int, phi, u0, v_samples, u0_samples, steps, full_state):
        """Append the snapshot taken at the end of segment ``seg`` (ending at step ``seg_end``)."""
        t = seg_end * dt
        snaps.append("snapshots", t=t, dictionary=phi, u0=u0, patches_seen=patch_at(seg_end - 1) + 1)
        st = stats_of(v_samples, u0_samples, steps, phi)
        snaps.append("stats", t=t, **st)
        if full_state is not None:
            snaps.write_state(full_state, phi, seg + 1)
        return st

    def report(seg_done: int, st: dict):
        if progress is None:
            return
        el = time.perf_counter() - t_wall
        frac = (seg_done - start_seg) / max(1, last_seg - start_seg)
        eta = el * (1 - frac) / frac if frac > 0 else float("nan")
        timing = ("written after the standalone run" if backend == "standalone"
                  else f"elapsed {el:.0f} s, ETA {eta:.0f} s")
        rec = (f", recovery {st['recovery_mean']:.3f} (min {st['recovery_min']:.3f})"
               if true_dict is not None else "")
        progress.write(f"  segment {seg_done}/{n_seg}: activity {st['activity']:.3f}, "
                       f"error {st['reconstruction_error']:.4f}{rec}; {timing}\n")
        progress.flush()

    try:
        with backend_context(backend, cache_key=structure_key(cfg, "learn")) as directory:
            n_first = start_seg * sps
            k0 = patch_at(n_first)
            if backend == "standalone":
                # the patches of this program run only (a chunk of a long run)
                k1 = patch_at(seg_bounds(last_seg - 1)[1] - 1)
                window = (stream.patches(k0, k1 + 1), end_steps[k0:k1 + 1])
            else:
                k1 = patch_at(seg_bounds(start_seg)[1] - 1)
                window = (stream.patches(k0, k1 + 1), end_steps[k0:k1 + 1])
            b2.seed(segment_seed(cfg.run.seed, 1 << 30))  # initial draws (e.g. LM's first R)
            circ = build_network(cfg, model, cfg.x, dt, stride, u_init, budget.sources,
                                 cfg.run.crossbar_mode, window)
            circ.residual.n_step = n_first
            if state is not None:
                circ.latent.v = state["v"] * b2.volt  # exactly (not via u = v / V_u)
                circ.latent.u0 = state["u0"]
                circ.crossbar.g = state["g"] * b2.siemens
                for name in _state_names(circ):
                    if name in state:
                        var = circ.latent.variables[name]
                        setattr(circ.latent, name, state[name] * var.unit if var.dim else state[name])
            names = _state_names(circ)
            if backend == "standalone":
                snap_mon_l = b2.StateMonitor(circ.latent, ["v", "u0", *names], record=True,
                                             dt=sps * dt * b2.second, when="start", order=-10,
                                             name="snapshot_latent")
                snap_mon_g = b2.StateMonitor(circ.crossbar, "g", record=True,
                                             dt=sps * dt * b2.second, when="start", order=-10,
                                             name="snapshot_crossbar")
                circ.net.add(snap_mon_l, snap_mon_g)
                for k in range(start_seg, last_seg):
                    b2.seed(segment_seed(cfg.run.seed, k))
                    n_a, n_b = seg_bounds(k)
                    circ.net.run((n_b - n_a) * dt * b2.second, namespace={})
                with Interrupt() as ctrl_c:  # the program stops itself gracefully on SIGINT
                    b2.device.build(directory=directory, run=True, compile=True, with_output=False)
                interrupted = ctrl_c.requested
                # the program's result files, mapped: no copy of the samples
                v_all = standalone_monitor_array(circ.monitor, "v")
                u0_all = (standalone_monitor_array(circ.monitor, "u0")
                          if "u0" in circ.monitor.record_variables
                          else np.broadcast_to(model.u0, v_all.shape))
                t_steps = n_first + np.round(standalone_monitor_array(circ.monitor, "t")
                                             / dt).astype(np.int64)
                lv = {n: list(np.asarray(getattr(snap_mon_l, n + "_")[:]).T) for n in ["v", "u0", *names]}
                g_list = list(np.asarray(snap_mon_g.g_[:]).T)  # state at n_first + j sps
                n_done = last_seg - start_seg  # segments run
                del g_list[n_done:]
                for n in lv:
                    del lv[n][n_done:]
                if not interrupted:  # the end of the last segment: the state as the program left it
                    for n in ["v", "u0", *names]:
                        lv[n].append(np.asarray(getattr(circ.latent, n + "_")[:]))
                    g_list.append(np.asarray(circ.crossbar.g_[:]))
                pre, post = np.asarray(circ.crossbar.i[:]), np.asarray(circ.crossbar.j[:])
                for j in range(1, len(g_list)):
                    seg = start_seg + j  # entry j is the state at the end of segment seg-1
                    if seg > last_seg:
                        break
                    seg_start, seg_end = seg_bounds(seg - 1)
                    phi = np.zeros((model.n_features, model.n_components))
                    phi[post, pre] = g_list[j] / circ.weight_conductance
                    sel = (t_steps >= seg_start) & (t_steps < seg_end)
                    full = {"v": lv["v"][j], "u0": lv["u0"][j], "g": g_list[j],
                            **{n: lv[n][j] for n in names}}
                    st = write_snapshot(seg - 1, seg_end, phi, lv["u0"][j], v_all[sel], u0_all[sel],
                                        t_steps[sel], full)
                    report(seg, st)
            else:
                with Interrupt(circ.net.stop) as ctrl_c:
                    for k in range(start_seg, last_seg):
                        n_a, n_b = seg_bounds(k)
                        ka, kb = patch_at(n_a), patch_at(n_b - 1)
                        circ.set_schedule(stream.patches(ka, kb + 1), end_steps[ka:kb + 1], n_step=n_a)
                        b2.seed(segment_seed(cfg.run.seed, k))
                        circ.net.run((n_b - n_a) * dt * b2.second, namespace={})
                        if ctrl_c.requested:
                            interrupted = True
                            break  # a partial segment is not a snapshot
                        # copies: the monitor's arrays are views of its buffer, which the
                        # resize below reuses (a view kept past it reads zeros)
                        v_s = np.array(circ.monitor.v_[:]).T
                        u0_s = (np.array(circ.monitor.u0[:]).T
                                if "u0" in circ.monitor.record_variables
                                else np.broadcast_to(model.u0, v_s.shape))
                        steps = n_a + np.arange(len(v_s)) * stride
                        circ.monitor.resize(0)  # memory stays flat
                        full = {"v": np.asarray(circ.latent.v_[:]).copy(),
                                "u0": np.asarray(circ.latent.u0[:]).copy(),
                                "g": np.asarray(circ.crossbar.g_[:]).copy(),
                                **{n: np.asarray(getattr(circ.latent, n + "_")[:]).copy() for n in names}}
                        st = write_snapshot(k, n_b, circ.dictionary(), full["u0"], v_s, u0_s, steps,
                                            full)
                        report(k + 1, st)
    finally:
        done = snaps.n_snapshots() >= n_seg
        snaps.f.attrs["interrupted"] = interrupted
        snaps.f.attrs["wall_time"] = time.perf_counter() - t_wall + float(snaps.f.attrs.get("wall_time", 0.0))
        snaps.close(complete=done)
    if interrupted and progress is not None:
        progress.write("  interrupted: the file holds every snapshot up to the last one\n")
    return out
