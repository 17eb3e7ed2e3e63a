"""Run the inference circuit for one configuration and collect an :class:`InferenceResult`."""

from __future__ import annotations

import sys
import time

import numpy as np

import brian2 as b2

import models

from .backends import backend_context, standalone_monitor_array
from .config import Config
from .interrupt import Interrupt
from .network import RUN_TIME_STOP_HORIZON, build_network
from .result import InferenceResult


class _Progress:
    """Brian2 ``report`` callback printing percent done and an ETA to a stream."""

    def __init__(self, stream, min_interval: float = 2.0):
        self.stream = stream
        self.min_interval = min_interval
        self.last = -np.inf

    def __call__(self, elapsed, completed, start, duration):
        now = time.monotonic()
        if completed < 1.0 and now - self.last < self.min_interval:
            return
        self.last = now
        el = float(elapsed)
        eta = el * (1 - completed) / completed if completed > 0 else float("nan")
        self.stream.write(f"\r  simulating: {100 * completed:5.1f}%  elapsed {el:6.1f} s  "
                          f"ETA {eta:6.1f} s")
        if completed >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def initial_state(cfg: Config, model: models.SparseCodingModel, x: np.ndarray) -> np.ndarray:
    """The initial ``u`` (M,): ``run.u_init`` if given, else the posterior mean (Gaussian
    prior) or zero (Laplace: every unit starts in the dead zone, off)."""
    if cfg.run.u_init is not None:
        return np.array(cfg.run.u_init, dtype=float)
    if model.prior == "gaussian":
        mean, _ = models.gaussian_posterior(model, x)
        return mean
    return np.zeros(model.n_components)


def structure_key(cfg: Config, kind: str) -> str:
    """What decides the generated code's layout (for the standalone build cache)."""
    m, r = cfg.model, cfg.run
    lc = cfg.learning
    return "|".join(map(str, (kind, m.n_features, m.n_components, m.prior, m.positive,
                              r.integrator, r.crossbar_mode, [n.kind for n in cfg.noise],
                              cfg.plasticity_stride() > 1,
                              cfg.mismatch is not None and cfg.mismatch.weight_gain_sigma > 0,
                              None if cfg.weights is None else
                              (cfg.weights.bits is None, cfg.weights.rounding,
                               cfg.weights.retention_time is None, cfg.weights.drift_sigma > 0),
                              cfg.circuit.rail_voltage is None,
                              cfg.circuit.residual_time_constant is None,
                              None if lc is None else (lc.threshold_time_constant is None,
                                                       lc.gamma > 0, lc.dynamics))))


def run_inference(cfg: Config, *, progress=None, build_dir: str | None = None,
                  u_init: np.ndarray | None = None, schedule: tuple | None = None,
                  out=None) -> InferenceResult:
    """Simulate the circuit described by ``cfg`` and return its recorded samples.

    Parameters
    ----------
    cfg : Config
        Validated configuration; its ``run.backend`` and ``run.seed`` are used.
    progress : file-like, optional
        Stream for progress lines (e.g. ``sys.stderr``); None for silence.
    build_dir : str, optional
        Standalone build directory (default: a fresh temporary one).
    u_init : ndarray (M,), optional
        Initial state overriding :func:`initial_state`.
    schedule : (patches (K, N), switch_at (K,) in steps), optional
        A stream of inputs instead of the config's fixed ``x``.
    out : path, optional
        Also write the run to this HDF5 file (the layout of ``InferenceResult.to_hdf5``).
        The samples are written on a background thread while the figures of merit are
        computed, which hides most of the file's cost on a machine with two or more cores
        (``circuit-sim infer`` does this).

    Returns
    -------
    InferenceResult
        SI arrays; if the run was interrupted (Ctrl-C), the samples
        recorded so far, with ``interrupted = True``.
    """
    model = cfg.build_model()
    x = cfg.x
    dt, dt_auto = cfg.resolved_dt()
    stride = cfg.record_stride()
    n_steps = cfg.n_steps()
    budget = cfg.noise_budget()
    u0 = initial_state(cfg, model, x) if u_init is None else np.asarray(u_init, dtype=float)
    backend = cfg.run.backend
    interrupted = False
    t_wall = time.perf_counter()
    with backend_context(backend, build_dir=build_dir, cache_key=structure_key(cfg, "infer")) as directory:
        b2.seed(cfg.run.seed)
        circ = build_network(cfg, model, x, dt, stride, u0, budget.sources,
                             cfg.run.crossbar_mode, schedule,
                             run_time_stop=backend == "standalone")
        duration = n_steps * dt * b2.second
        if backend == "standalone":
            if n_steps >= RUN_TIME_STOP_HORIZON:
                raise ValueError(f"run.duration: expected fewer than {RUN_TIME_STOP_HORIZON} "
                                 f"steps on the standalone backend, got {n_steps}")
            # No progress report in standalone: Brian2's generated report check calls
            # std::clock() every step, a system call that made a 2-unit run 4x slower.
            if progress is not None:
                progress.write(f"  standalone: compiling and running {n_steps} steps "
                               "(no progress display in standalone mode)\n")
                progress.flush()
            # the program runs "for ever" and stops itself after n_stop steps, a command-line
            # value: a run of another length reuses the compiled program (no recompilation)
            circ.net.run(RUN_TIME_STOP_HORIZON * dt * b2.second, namespace={})
            with Interrupt() as ctrl_c:
                b2.device.build(directory=directory, run=True, compile=True, with_output=False,
                                run_args={circ.residual.n_stop: n_steps})
            interrupted = ctrl_c.requested
            run_time = float(getattr(b2.device, "_last_run_time", float("nan")))
        else:
            report = _Progress(progress) if progress is not None else None
            t_run = time.perf_counter()
            with Interrupt(circ.net.stop) as ctrl_c:
                circ.net.run(duration, report=report, report_period=1 * b2.second,
                             namespace={})
            run_time = time.perf_counter() - t_run
            interrupted = ctrl_c.requested
        learned_u0 = "u0" in circ.monitor.record_variables
        if backend == "standalone":  # the program's result files, mapped: no copy
            t = standalone_monitor_array(circ.monitor, "t")
            v = standalone_monitor_array(circ.monitor, "v")
            u0_trace = standalone_monitor_array(circ.monitor, "u0") if learned_u0 else None
        else:
            t = np.asarray(circ.monitor.t_[:], dtype=float)
            # Brian2 keeps a monitor's samples time-major, (samples, M), and hands out the
            # transposed view: transposing back is free (no copy of a long recording)
            v = np.ascontiguousarray(np.asarray(circ.monitor.v_[:], dtype=float).T)
            u0_trace = (np.ascontiguousarray(np.asarray(circ.monitor.u0[:], dtype=float).T)
                        if learned_u0 else None)
        phi = circ.dictionary()
        u0_final = np.asarray(circ.latent.u0[:], dtype=float).copy()
    wall = time.perf_counter() - t_wall
    if interrupted and progress is not None:
        progress.write("\n  interrupted: keeping the samples recorded so far\n")
    return InferenceResult.from_run(
        cfg=cfg, model=model, x=x, t=t, v=v, dictionary=phi, budget=budget, dt=dt,
        dt_auto=dt_auto, record_stride=stride, wall_time=wall, run_time=run_time,
        interrupted=interrupted, u0_final=u0_final, u0_trace=u0_trace,
        devices=(cfg.devices().as_dict() if cfg.mismatch is not None or cfg.weights is not None
                 else None), out=out)


def run_config_file(path, *, seed=None, backend=None, progress=sys.stderr) -> InferenceResult:
    """Load a TOML file and run it (convenience for scripts)."""
    from .config import load_config

    cfg = load_config(path).with_overrides(seed=seed, backend=backend)
    return run_inference(cfg, progress=progress)
