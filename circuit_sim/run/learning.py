"""Learning runs: inference and plasticity together on a stream of inputs, with snapshots.

A run is cut into segments of ``learning.snapshot_every``. Each segment is seeded from the
run's ``noise`` stream (index = segment number), presents the patches its steps need, and
ends with a snapshot appended to the HDF5 file (dictionary, thresholds, running statistics,
and the full circuit state for ``--resume``), flushed to disk. Because the input switches
are counted in integer steps and every segment has its own seed, a run resumed from a
snapshot continues exactly as the uninterrupted run would have (same backend).

Runtime backends (numpy, cython) run the segments from Python, so Ctrl-C or a crash leaves
every snapshot written so far; only the patches of one segment are in memory. The
standalone backend compiles a chunk of segments into one program (per-segment seeds
included) and writes their snapshots when it ends; Ctrl-C stops it gracefully at the
current step and the snapshots recorded so far are written.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

import brian2 as b2

from ..circuit.backends import (backend_context, reporting_program_errors,
                               standalone_monitor_array)
from ..circuit import equations as eq
from ..circuit.network import add_progress_file, add_run_time_stop, build_network
from ..errors import ConfigError
from ..results.hdf5 import LearningFile, check_output_path, learning_progress
from ..results.learning import HIST_EDGES, ensemble_statistics
from ..design.cost import check_run, estimate, step_seconds
from .inference import as_design
from .interrupt import Interrupt, stopped_by
from .progress import BuildProgress, ProgramWatcher, Reporter

#: Default bound (bytes) on the samples one standalone program records (see run_learning).
STANDALONE_MEMORY_LIMIT = 256_000_000


class Plan:
    """The segment and patch arithmetic of a learning run (integer steps throughout).

    A presentation is one entry of the schedule; an ensemble's ``K_c`` chains see ``K_c``
    consecutive patches of the stream at each (chain ``k``: patch ``p K_c + k`` at
    presentation ``p``), so a presentation is ``K_c`` patches of the stream. A batch of
    seeds presents ``S`` streams (``design.streams``, one per seed) side by side at the one
    schedule; ``streams`` below is that tuple (one stream otherwise)."""

    def __init__(self, design):
        self.chains = design.chains
        ts = design.timestep
        self.dt, self.n_total, self.stride = ts.dt, ts.n_steps, ts.record_stride
        lc = design.learning
        snap = (lc.snapshot_every if lc is not None else None) or self.n_total * self.dt / 20
        self.sps = self.stride * max(1, int(round(snap / self.dt / self.stride)))
        self.n_seg = max(1, int(round(self.n_total / self.sps)))  # the last runs to the end
        sched = design.schedule
        self.n_patch = sched.n_patches
        ends = sched.end(np.arange(self.n_patch))
        self.end_steps = np.where(np.isfinite(ends), np.ceil(ends / self.dt - 1e-9), np.inf)

    def bounds(self, k: int) -> tuple[int, int]:
        """First and one-past-last step of segment ``k``."""
        return k * self.sps, (self.n_total if k == self.n_seg - 1 else (k + 1) * self.sps)

    def patch_at(self, step: int) -> int:
        """Index of the patch presented at ``step``."""
        return int(min(np.searchsorted(self.end_steps, step, side="right"), self.n_patch - 1))

    def presented(self, streams, ka: int, kb: int) -> np.ndarray:
        """Presentations ``ka .. kb - 1``: (K, N), or (K, K_c, N) for ``K_c > 1`` chains;
        with ``S > 1`` streams (K, S, K_c, N)."""
        kc = self.chains
        xs = [s.patches(ka * kc, kb * kc) for s in streams]
        if len(xs) > 1:
            return np.stack([x.reshape(kb - ka, kc, -1) for x in xs], axis=1)
        return xs[0] if kc == 1 else xs[0].reshape(kb - ka, kc, -1)

    def window(self, streams, step_a: int, step_b: int) -> tuple[np.ndarray, np.ndarray]:
        """The presentations during steps ``[step_a, step_b)`` ((K, N), or (K, S K_c N):
        each stream's chains' patches side by side) and their switch steps."""
        ka, kb = self.patch_at(step_a), self.patch_at(step_b - 1)
        x = self.presented(streams, ka, kb + 1)
        return x.reshape(len(x), -1), self.end_steps[ka:kb + 1]

    def scored_patches(self, streams, steps: np.ndarray) -> np.ndarray:
        """The patch each sample is scored against. A sample recorded at step ``n`` is the
        state the steps up to ``n - 1`` made: it is paired with the patch presented at step
        ``n - 1`` (at a switch step the patch has just changed, and pairing it with the new
        one would count the switch as error)."""
        if not len(steps):
            n = streams[0].source.n_features
            shape = (0, n) if self.chains == 1 else (0, self.chains, n)
            return np.zeros(shape if len(streams) == 1 else (0, len(streams), self.chains, n))
        idx = np.searchsorted(self.end_steps, np.asarray(steps) - 1,
                              side="right").clip(0, self.n_patch - 1)
        k_lo = int(idx.min())
        return self.presented(streams, k_lo, int(idx.max()) + 1)[idx - k_lo]

    def patches_seen(self, step: int) -> int:
        """Patches of the stream each chip has seen up to ``step`` (all its chains')."""
        return (self.patch_at(step) + 1) * self.chains

    def samples_per_segment(self) -> int:
        return self.sps // self.stride + 1


def standalone_chunk(design, memory_limit: float) -> int:
    """Segments per standalone program run such that its recorded samples (``v``, and ``u0``
    when learned) stay within ``memory_limit`` bytes (at least one segment)."""
    per_segment = (Plan(design).samples_per_segment() * design.n_components * design.copies
                   * 8 * (2 if design.learn_u0 else 1))
    return max(1, int(memory_limit // per_segment))


class _Snapshots:
    """Writes each segment's snapshot, statistics and resume state, and reports it."""

    def __init__(self, design, plan: Plan, lfile: LearningFile, reporter: Reporter,
                 segments: range):
        self.design, self.plan, self.lfile, self.reporter = design, plan, lfile, reporter
        self.streams = design.streams
        self.true_dict = self.streams[0].source.true_dictionary
        self.segments = segments
        self.t0 = time.perf_counter()

    def write(self, seg: int, phi, v, u0, steps, state: dict) -> dict:
        """Append the snapshot taken at the end of segment ``seg``."""
        seg_end = self.plan.bounds(seg)[1]
        t = seg_end * self.plan.dt
        xs = self.plan.scored_patches(self.streams, steps)
        st = ensemble_statistics(self.design, xs, v, u0, phi, self.true_dict)
        with self.lfile.update():  # one atomic update: snapshot, statistics, resume state
            self.lfile.append("snapshots", t=t, dictionary=phi, u0=self._chip_u0(state["u0"]),
                              patches_seen=self.plan.patches_seen(seg_end - 1))
            self.lfile.append("stats", t=t, **st)
            self.lfile.write_state(state, phi, seg + 1)
        self._report(seg + 1, st)
        return st

    def _chip_u0(self, u0: np.ndarray) -> np.ndarray:
        """Thresholds of each chip (its first chain's): (M,), or (chips, M)."""
        d = self.design
        if d.copies == 1:
            return u0
        per_chip = np.asarray(u0).reshape(d.chips, d.chains, d.n_components)[:, 0]
        return per_chip[0] if d.chips == 1 else per_chip

    def _report(self, seg_done: int, st: dict) -> None:
        el = time.perf_counter() - self.t0
        frac = (seg_done - self.segments.start) / max(1, len(self.segments))
        eta = el * (1 - frac) / frac if frac > 0 else float("nan")
        timing = ("written after the standalone run" if self.design.backend == "standalone"
                  else f"elapsed {el:.0f} s, ETA {eta:.0f} s")
        med = {k: float(np.median(st[k])) for k in ("activity", "reconstruction_error",
                                                      "recovery_mean", "recovery_min")}
        rec = (f", recovery {med['recovery_mean']:.3f} (min {med['recovery_min']:.3f})"
               if self.true_dict is not None else "")
        ens = self.design.ensemble
        who = "learners" if ens is not None and ens.learners_per_chip > 1 else "chips"
        chips = f" (median over {who})" if self.design.chips > 1 else ""
        self.reporter.say(f"  segment {seg_done}/{self.plan.n_seg}: activity "
                          f"{med['activity']:.3f}, error {med['reconstruction_error']:.4f}"
                          f"{rec}{chips}; {timing}")


def _state_of(circ, names) -> dict:
    """The full circuit state a resume needs (copies)."""
    state = {"v": np.asarray(circ.latent.v_[:]).copy(), "u0": np.asarray(circ.latent.u0[:]).copy(),
             "g": np.asarray(circ.crossbar.g_[:]).copy(),
             **{n: np.asarray(getattr(circ.latent, n + "_")[:]).copy() for n in names}}
    if circ.finite_bandwidth:
        state["vr"] = np.asarray(circ.residual.vr_[:]).copy()
    return state


def _restore(circ, state: dict) -> None:
    circ.latent.v = state["v"] * b2.volt  # exactly (not via u = v / V_u)
    circ.latent.u0 = state["u0"]
    circ.set_synapses("g", state["g"] * b2.siemens)
    for name in circ.state_names():
        if name in state:
            var = circ.latent.variables[name]
            setattr(circ.latent, name, state[name] * var.unit if var.dim else state[name])
    if circ.finite_bandwidth and "vr" in state:
        circ.residual.vr = state["vr"] * b2.volt


def _runtime_segments(design, plan: Plan, circ, snaps: _Snapshots) -> bool:
    """Run segment after segment from Python; True if interrupted (Ctrl-C)."""
    names = circ.state_names()
    with Interrupt(circ.net.stop) as ctrl_c:
        for k in snaps.segments:
            n_a, n_b = plan.bounds(k)
            circ.set_schedule(*plan.window(snaps.streams, n_a, n_b), n_step=n_a)
            b2.seed(design.seeds.integer("noise", k))
            circ.net.run((n_b - n_a) * plan.dt * b2.second, namespace={})
            if ctrl_c.requested:
                return True  # a partial segment is not a snapshot
            # copies: the monitor's arrays are views of its buffer, which the resize below
            # reuses (a view kept past it reads zeros)
            v = np.array(circ.monitor.v_[:]).T
            u0 = (np.array(circ.monitor.u0[:]).T if "u0" in circ.monitor.record_variables
                  else design.model.u0)
            steps = n_a + np.arange(len(v)) * plan.stride
            circ.monitor.resize(0)  # memory stays flat
            snaps.write(k, circ.dictionary(), v, u0, steps, _state_of(circ, names))
    return False


def _synapse_monitor(circ, every) -> b2.StateMonitor:
    """The snapshots' monitor of every conductance. On standalone Brian2 cannot count
    synapses made by a generator before the program runs and warns that it cannot check the
    recorded indices; they are ``0 .. n_synapses - 1`` of the synapses this network made
    (:func:`.network.build_network`), so that warning (which every learning run printed) is
    silenced here and only here."""
    quiet = logging.getLogger("brian2.monitors.statemonitor.cannot_check_statemonitor_indices")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return b2.StateMonitor(circ.crossbar, "g", record=np.arange(circ.n_synapses), dt=every,
                               when="start", order=-10, name="snapshot_crossbar")
    finally:
        quiet.setLevel(level)


def _standalone_segments(design, plan: Plan, circ, snaps: _Snapshots, directory) -> bool:
    """Compile the chunk's segments into one program, run it, write the snapshots; True if
    interrupted (Ctrl-C: the program stops at the current step)."""
    names = circ.state_names()
    every = plan.sps * plan.dt * b2.second
    monitors = {"latent": b2.StateMonitor(circ.latent, ["v", "u0", *names], record=True, dt=every,
                                          when="start", order=-10, name="snapshot_latent"),
                "crossbar": _synapse_monitor(circ, every)}
    if circ.finite_bandwidth:
        monitors["residual"] = b2.StateMonitor(circ.residual, "vr", record=True, dt=every,
                                               when="start", order=-10, name="snapshot_residual")
    circ.net.add(*monitors.values())
    add_progress_file(circ, plan.dt)
    add_run_time_stop(circ)
    _add_segment_seeds(design, plan, circ)
    # one run of the program for the whole chunk, stopped at run time (residual.n_stop): a
    # program with a run per segment held a copy of every code object per segment (8
    # segments compiled for 24 s instead of 5), and one of each chunk length
    circ.net.run(eq.RUN_TIME_STOP_HORIZON * plan.dt * b2.second, namespace={})
    n_first = snaps.segments.start * plan.sps
    n_last = plan.bounds(snaps.segments.stop - 1)[1]
    watcher = ProgramWatcher(snaps.reporter, directory, n_first, n_last - n_first)
    with Interrupt() as ctrl_c, BuildProgress(snaps.reporter, watcher):  # SIGINT: it stops
        with stopped_by(ctrl_c), reporting_program_errors(directory):  # at the current step
            b2.device.build(directory=directory, run=True, compile=True, with_output=False,
                            run_args={**circ.run_args(), circ.residual.n_stop: n_last})
    v_all = standalone_monitor_array(circ.monitor, "v")  # mapped from the result files
    u0_all = (standalone_monitor_array(circ.monitor, "u0")
              if "u0" in circ.monitor.record_variables
              else np.broadcast_to(design.model.u0, v_all.shape))
    t_steps = n_first + np.round(standalone_monitor_array(circ.monitor, "t")
                                 / plan.dt).astype(np.int64)
    states = _snapshot_states(circ, monitors, names, len(snaps.segments), ctrl_c.requested)
    with snaps.lfile.update():  # the chunk's snapshots in one atomic update of the file
        for j, state in enumerate(states[1:], start=1):  # entry j: the state at the end of seg-1
            seg = snaps.segments.start + j - 1
            a, b = plan.bounds(seg)
            sel = (t_steps >= a) & (t_steps < b)
            snaps.write(seg, circ.dictionary_from(state["g"]), v_all[sel], u0_all[sel],
                        t_steps[sel], state)
    return ctrl_c.requested


def _add_segment_seeds(design, plan: Plan, circ) -> None:
    """Reseed the program's generators at the start of every segment, as the runtime
    backends do between segments (resume exact): Brian2's with ``noise``'s integer of the
    segment (as ``brian2.seed`` does), an ensemble's noise kernel through ``noise_seed``
    (its own seed, index (k, 1); the kernel restarts its stream when it changes). The seeds
    of every segment are tables indexed by the segment of the stream's step count, read
    once per segment (a clock of one segment: a program starts at a segment's start); the
    last segment, longer than the others, keeps its seed (the function reseeds only on a
    new value)."""
    seg = np.arange(plan.n_seg)
    ns = circ.residual.namespace
    ns["segment_seed"] = b2.TimedArray([float(design.seeds.integer("noise", int(k)))
                                        for k in seg], dt=1 * b2.second, name="segment_seed")
    ns["last_segment"], ns["steps_per_segment"] = plan.n_seg - 1, plan.sps
    f = b2.Function(pyfunc=None, arg_units=[1], return_unit=1, stateless=False)
    f.implementations.add_implementation("cpp", eq.RESEED_CODE, name="circuit_reseed",
                                         compiler_kwds={"headers": ['"objects.h"']})
    ns["circuit_reseed"] = f
    k = "clip(floor(n_step / steps_per_segment), 0, last_segment) * second"
    code = [f"kernel_reseed = circuit_reseed(segment_seed({k}))"]
    if "noise_seed" in circ.residual.variables:  # an ensemble's noise kernel
        ns["segment_noise_seed"] = b2.TimedArray(
            [float(design.seeds.integer("noise", int(j), 1)) for j in seg], dt=1 * b2.second,
            name="segment_noise_seed")
        code.append(f"noise_seed = segment_noise_seed({k})")
    circ.residual.run_regularly("\n".join(code), when="start", order=-20,
                                dt=plan.sps * plan.dt * b2.second, name="residual_reseed")


def _snapshot_states(circ, monitors, names, n_run: int, interrupted: bool) -> list[dict]:
    """The circuit states at the start of each segment run and, if the program finished, at
    its end (the state as the program left it)."""
    lat = {n: list(np.asarray(getattr(monitors["latent"], n + "_")[:]).T)[:n_run]
           for n in ["v", "u0", *names]}
    g = list(np.asarray(monitors["crossbar"].g_[:]).T)[:n_run]
    vr = (list(np.asarray(monitors["residual"].vr_[:]).T)[:n_run]
          if "residual" in monitors else None)
    if not interrupted:
        for n in lat:
            lat[n].append(np.asarray(getattr(circ.latent, n + "_")[:]))
        g.append(np.asarray(circ.crossbar.g_[:]))
        if vr is not None:
            vr.append(np.asarray(circ.residual.vr_[:]))
    states = []
    for j in range(len(g)):
        st = {"v": lat["v"][j], "u0": lat["u0"][j], "g": g[j], **{n: lat[n][j] for n in names}}
        if vr is not None:
            st["vr"] = vr[j]
        states.append(st)
    return states


def _start(design, lfile: LearningFile, resume: bool, out) -> tuple[int, dict | None]:
    """``(first segment, saved state)``: a new run starts at 0; a resume at the file's last
    snapshot, or at 0 if the run stopped before its first (ConfigError if the file was
    written by another config)."""
    if not resume:
        return 0, None
    if lfile.config_text() != design.to_toml():
        raise ConfigError("--resume", "a file written by the same configuration", str(out))
    saved = lfile.state()
    return (0, None) if saved is None else saved


def _initial_u(design, state) -> np.ndarray:
    """Every copy's start (Q M,): the saved state's, or the design's for each copy."""
    if state is not None:
        return state["v"] / design.circuit.volts_per_unit
    return design.copy_starts()


def _run_once(design, out, *, resume: bool, progress, stop_after: int | None) -> Path:
    """One program run (standalone) or the whole run (runtime backends): see run_learning."""
    if not design.is_stream:
        raise ConfigError("input.kind", "a stream (\"bars\", \"file\" or \"images\") to learn "
                          "from", "fixed")
    out = Path(out)
    plan = Plan(design)
    streams = design.streams  # opens the patch sources (errors before the file is made)
    lfile = LearningFile(out, design, streams[0].source.true_dictionary, resume, HIST_EDGES)
    try:
        start_seg, state = _start(design, lfile, resume, out)
    except BaseException:
        lfile.abandon()  # a file that is not ours to continue stays as it was
        raise
    interrupted = False
    t_wall = time.perf_counter()
    try:
        last_seg = plan.n_seg if stop_after is None else min(plan.n_seg, start_seg + stop_after)
        snaps = _Snapshots(design, plan, lfile, Reporter.of(progress),
                           range(start_seg, last_seg))
        standalone = design.backend == "standalone"
        with backend_context(design.backend, cache_key=design.structure_key("learn")) as directory:
            n_first = start_seg * plan.sps
            b2.seed(design.seeds.integer("initial"))  # the build's draws (LM's first R)
            circ = build_network(design)
            circ.latent.v = _initial_u(design, state) * design.circuit.volts_per_unit * b2.volt
            # the patches of this program run (standalone: the whole chunk; runtime: the
            # first segment, each segment then presents its own)
            end = plan.bounds(last_seg - 1 if standalone else start_seg)[1]
            circ.set_schedule(*plan.window(streams, n_first, end), n_step=n_first, settle=True)
            if state is not None:
                _restore(circ, state)
            if standalone:
                interrupted = _standalone_segments(design, plan, circ, snaps, directory)
            else:
                interrupted = _runtime_segments(design, plan, circ, snaps)
    finally:
        lfile.close(complete=lfile.n_snapshots() >= plan.n_seg, interrupted=interrupted,
                    wall_time=time.perf_counter() - t_wall)
    if interrupted:
        Reporter.of(progress).say("  interrupted: the file holds every snapshot up to the last one")
    return out


def run_learning(cfg, out, *, resume: bool = False, progress=None,
                 stop_after: int | None = None,
                 memory_limit: float = STANDALONE_MEMORY_LIMIT,
                 checkpoint_seconds: float | None = None) -> Path:
    """Run inference and learning on the config's input stream; write snapshots to ``out``.

    The runtime backends run one segment (``learning.snapshot_every``) at a time and write
    its snapshot before the next. A standalone program keeps what it records until it ends, so
    a standalone run is cut into chunks of segments, each one run of the compiled program that
    resumes from the previous chunk's state (as ``--resume`` does, bit for bit) and whose
    snapshots are written before the next starts: a chunk's samples fit in ``memory_limit``
    bytes, and it runs for at most about ``checkpoint_seconds`` of wall time (at least one
    segment; the first chunk's length is a tenth of what
    :func:`circuit_sim.design.cost.step_seconds` suggests, later ones come from the chunks
    measured, start-up included). A crash or ``kill -9`` loses at most the chunk in
    progress: about ``checkpoint_seconds``, or one snapshot interval if a segment takes longer.

    Parameters
    ----------
    cfg : Config or Design
        Needs a stream input (``input.kind``); without a ``[learning]`` section the
        dictionary and thresholds stay fixed (inference on a stream).
    out : path
        HDF5 file; with ``resume=True`` an existing file of the same config to continue.
    progress : file-like or Reporter, optional
        Phases, progress bars and a line per snapshot (e.g. ``sys.stderr``).
    stop_after : int, optional
        Stop after this many segments (testing interruption and resume).
    memory_limit : float
        Standalone only: bytes of recorded samples one program run may hold (default 256 MB).
    checkpoint_seconds : float, optional
        Standalone only: wall time one program run may take (default ``run.checkpoint_every``,
        30 s unless set).

    Returns
    -------
    Path of the HDF5 file.
    """
    design = as_design(cfg)
    check_run(design, estimate(design, learning=True))  # refuses a run that cannot finish
    if not resume:
        check_output_path(out, "out")
    if design.backend != "standalone" or not design.is_stream:
        return _run_once(design, out, resume=resume, progress=progress, stop_after=stop_after)
    if checkpoint_seconds is None:
        checkpoint_seconds = design.config.run.checkpoint_every
    plan = Plan(design)
    mem_chunk = standalone_chunk(design, memory_limit)
    seg_seconds = plan.sps * step_seconds(design)
    remaining, first = stop_after, True
    t0, done0 = time.perf_counter(), None
    while True:
        chunk = max(1, min(mem_chunk, int(checkpoint_seconds // max(seg_seconds, 1e-9))))
        if first:  # the estimate is trusted to a factor of 10 only (small runs: 10x low)
            chunk = max(1, chunk // 10)
        n = chunk if remaining is None else min(chunk, remaining)
        t_chunk = time.perf_counter()
        path = _run_once(design, out, resume=resume or not first, progress=progress,
                         stop_after=n)
        first = False
        if remaining is not None:
            remaining -= n
        finished, done = learning_progress(path)
        if done0 is None:
            done0 = done - min(n, done)
        seg_seconds = (time.perf_counter() - t_chunk) / max(1, n)  # measured, startup included
        if finished or remaining == 0:
            return path
        el = time.perf_counter() - t0
        left = (plan.n_seg - done) if remaining is None else min(remaining, plan.n_seg - done)
        Reporter.of(progress).say(f"  standalone chunk done: {done}/{plan.n_seg} segments; "
                                  f"elapsed {el:.0f} s, ETA "
                                  f"{el / max(1, done - done0) * left:.0f} s")
