"""Run the inference circuit of one design and collect an :class:`InferenceResult`."""

from __future__ import annotations

import sys
import time

import numpy as np

import brian2 as b2

from ..circuit.backends import (backend_context, reporting_program_errors,
                               standalone_monitor_array)
from ..circuit.equations import RUN_TIME_STOP_HORIZON
from ..design.cost import check_run, estimate
from ..design.streams import check_fixed_input
from ..results.hdf5 import check_output_path
from ..circuit.network import add_progress_file, add_run_time_stop, build_network
from ..errors import ConfigError
from ..results.inference import InferenceResult, RunRecord
from .interrupt import Interrupt, stopped_by
from .progress import BrianProgress, BuildProgress, ProgramWatcher, Reporter


def as_design(cfg_or_design):
    """The design of a Config (resolved once, cached on it) or a Design itself."""
    from ..design import Design

    return cfg_or_design if isinstance(cfg_or_design, Design) else cfg_or_design.design


def _run_standalone(design, circ, directory, reporter: Reporter) -> tuple[float, bool]:
    n_steps = design.timestep.n_steps
    if n_steps >= RUN_TIME_STOP_HORIZON:
        raise ConfigError("run.duration", f"fewer than {RUN_TIME_STOP_HORIZON} steps on the "
                          "standalone backend", f"{n_steps} steps")
    # the program runs "for ever" and stops itself after n_stop steps, a command-line value:
    # a run of another length reuses the compiled program (no recompilation); it writes its
    # step count to results/progress.txt about twice a second (Brian2's own report would read
    # the CPU clock, a system call, every step)
    add_run_time_stop(circ)
    add_progress_file(circ, design.dt)  # always: the generated code must not depend on it
    circ.net.run(RUN_TIME_STOP_HORIZON * design.dt * b2.second, namespace={})
    watcher = ProgramWatcher(reporter, directory, 0, n_steps)
    with Interrupt() as ctrl_c, BuildProgress(reporter, watcher):
        with stopped_by(ctrl_c), reporting_program_errors(directory):
            b2.device.build(directory=directory, run=True, compile=True, with_output=False,
                            run_args=_run_args(design, circ, n_steps))
    return float(getattr(b2.device, "_last_run_time", float("nan"))), ctrl_c.requested


def _run_args(design, circ, n_steps: int) -> dict:
    """The standalone program's command-line values: its length, the seed of an ensemble's
    white-noise generator (stream ``noise``, index (0, 1)), and the files of the crossbar's
    starting values (:meth:`CircuitNetwork.set_synapses`)."""
    args = {circ.residual.n_stop: n_steps, **circ.run_args()}
    if "noise_seed" in circ.residual.variables:
        args[circ.residual.noise_seed] = design.seeds.integer("noise", 0, 1)
    return args


def _run_runtime(design, circ, reporter: Reporter) -> tuple[float, bool]:
    n_steps = design.timestep.n_steps
    report = BrianProgress(reporter, n_steps) if reporter.enabled else None
    reporter.phase(f"running {n_steps} steps on the {design.backend} backend")
    t_run = time.perf_counter()
    with Interrupt(circ.net.stop) as ctrl_c:
        circ.net.run(n_steps * design.dt * b2.second, report=report,
                     report_period=1 * b2.second, namespace={})
    return time.perf_counter() - t_run, ctrl_c.requested


def _samples(circ, standalone: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(t, v, u0_trace)`` of the monitor, time-major, without copying a long recording;
    an ensemble's ``v`` as (samples, Q, M)."""
    t, v, u0 = _monitor_arrays(circ, standalone)
    if circ.copies > 1:
        v = v.reshape(len(v), circ.copies, -1)
    return t, v, u0


def _monitor_arrays(circ, standalone: bool):
    learned_u0 = "u0" in circ.monitor.record_variables
    if standalone:  # the program's result files, mapped: no copy
        t = standalone_monitor_array(circ.monitor, "t")
        v = standalone_monitor_array(circ.monitor, "v")
        u0 = standalone_monitor_array(circ.monitor, "u0") if learned_u0 else None
        return t, v, u0
    t = np.asarray(circ.monitor.t_[:], dtype=float)
    # Brian2 keeps a monitor's samples time-major, (samples, M), and hands out the
    # transposed view: transposing back is free (no copy of a long recording)
    v = np.ascontiguousarray(np.asarray(circ.monitor.v_[:], dtype=float).T)
    u0 = (np.ascontiguousarray(np.asarray(circ.monitor.u0[:], dtype=float).T)
          if learned_u0 else None)
    return t, v, u0


def _per_copy(values: np.ndarray, copies: int) -> np.ndarray:
    """A latent variable (Q M,) as (M,) for one copy, (Q, M) for an ensemble (a copy)."""
    return values.copy() if copies == 1 else values.reshape(copies, -1).copy()


def run_inference(cfg, *, progress=None, build_dir: str | None = None,
                  u_init: np.ndarray | None = None, schedule: tuple | None = None,
                  out=None) -> InferenceResult:
    """Simulate the circuit described by ``cfg`` and return its recorded samples.

    Parameters
    ----------
    cfg : Config or Design
        Validated configuration (its design is resolved once) or a resolved design; its
        backend and seed are used.
    progress : file-like or Reporter, optional
        Where phases and progress go (e.g. ``sys.stderr``: bars on a terminal, plain lines
        otherwise; :class:`~circuit_sim.run.progress.Reporter`); None for silence.
    build_dir : str, optional
        Standalone build directory (default: the cached project of this design's structure).
    u_init : ndarray (M,) or (Q, M), optional
        Initial state overriding the design's (an ensemble of Q copies: one for all, or one
        per copy).
    schedule : (patches (K, N), switch_at (K,) in steps), optional
        A stream of inputs instead of the config's fixed ``x``. Without it a config whose
        input is a stream is refused (ConfigError naming ``input.kind``): its stream is
        presented by :func:`~circuit_sim.run.learning.run_learning`.
    out : path, optional
        Also write the run to this HDF5 file (the layout of ``InferenceResult.to_hdf5``).
        The samples are written on a background thread while the figures of merit are
        computed, which hides most of the file's cost on a machine with two or more cores
        (``circuit-sim infer`` does this).

    Returns
    -------
    InferenceResult
        SI arrays; if the run was interrupted (Ctrl-C), the samples recorded so far, with
        ``interrupted = True``.
    """
    design = as_design(cfg)
    if schedule is None:
        check_fixed_input(design)  # a stream is the learning runner's (it presents it)
    check_run(design, estimate(design))  # refuses a run that cannot finish (run.force)
    if out is not None:
        check_output_path(out, "out")
    reporter = Reporter.of(progress)
    standalone = design.backend == "standalone"
    t_wall = time.perf_counter()
    reporter.phase("building the network")
    with backend_context(design.backend, build_dir=build_dir,
                         cache_key=design.structure_key("infer")) as directory:
        b2.seed(design.seeds.integer("noise", 0))
        circ = build_network(design)
        if schedule is not None:
            circ.set_schedule(*schedule, n_step=0, settle=True)
        if u_init is not None:
            u_init = np.broadcast_to(np.asarray(u_init, dtype=float),
                                     (design.copies, design.n_components)).ravel()
            circ.latent.v = u_init * design.circuit.volts_per_unit * b2.volt
        if standalone:
            run_time, interrupted = _run_standalone(design, circ, directory, reporter)
        else:
            run_time, interrupted = _run_runtime(design, circ, reporter)
        t, v, u0_trace = _samples(circ, standalone)
        record = RunRecord(t=t, v=v, dictionary=circ.dictionary(),
                           u0_final=_per_copy(np.asarray(circ.latent.u0[:], dtype=float),
                                              design.copies),
                           u0_trace=u0_trace, wall_time=0.0, run_time=run_time,
                           interrupted=interrupted)
    record.wall_time = time.perf_counter() - t_wall
    if interrupted:
        reporter.say("  interrupted: keeping the samples recorded so far")
    reporter.phase("figures of merit" + (f" and the file {out}" if out is not None else ""))
    return InferenceResult.from_run(design, record, out=out)


def run_config_file(path, *, seed=None, backend=None, progress=sys.stderr) -> InferenceResult:
    """Load a TOML file and run it (convenience for scripts)."""
    from ..config import load_config

    cfg = load_config(path).with_overrides(seed=seed, backend=backend)
    return run_inference(cfg, progress=progress)
