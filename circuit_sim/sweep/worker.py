"""The worker side of a sweep: one point run in a Dask worker process, never raising."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from ..config import Config
from ..results import hdf5
from ..results.learning_file import learners

__all__ = ["run_point", "run_batch", "dask_setup", "learning_metrics", "one_line"]

# --------------------------------------------------------------------------- the worker side
_TASK_LOCK = threading.Lock()  # Brian2's global state: one point at a time per process


def one_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": ")


def _worker_slot() -> str:
    """A name for this worker process, stable across sessions where Dask gives one (the
    LocalCluster's workers are named 0, 1, ...): caches keyed by it are reused on resume."""
    name = None
    with contextlib.suppress(Exception):
        from distributed import get_worker

        name = get_worker().name
    if name is None or name == "":
        return f"{socket.gethostname()}-pid{os.getpid()}"
    return f"{socket.gethostname()}-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def dask_setup(worker=None) -> None:
    """Dask preload for sweep workers (the local cluster uses it; for your own workers:
    ``dask worker ADDRESS --nthreads 1 --preload circuit_sim.sweep``).

    Imports Brian2 in the worker's main thread (Brian2 installs a SIGINT handler when it is
    imported, which only works there) and then ignores SIGINT: a Ctrl-C in the terminal
    reaches every process of the group, and it is the client's to handle (stop submitting,
    write the index, close the cluster); a worker that saw it would stop its Brian2 run
    half-way.
    """
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    from ..circuit.backends import import_brian

    import_brian()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_cache(cache_root: str) -> None:
    """Give this worker process build caches of its own, ``cache_root/worker-<host>-<name>/``:
    Brian2's cython cache (``cython/``) and the standalone project cache
    (``CIRCUIT_SIM_CACHE``, ``standalone/``), so that workers never wait for, or rebuild
    around, each other's builds (a temporary folder if ``cache_root`` is not writable)."""
    from ..circuit.backends import set_cython_cache

    cache = Path(cache_root) / f"worker-{_worker_slot()}"
    try:
        (cache / "cython").mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = Path(tempfile.gettempdir()) / "circuit_sim_sweep_cache" / f"worker-{os.getpid()}"
        (cache / "cython").mkdir(parents=True, exist_ok=True)
    set_cython_cache(cache / "cython")
    os.environ["CIRCUIT_SIM_CACHE"] = str(cache)  # standalone projects: cache/standalone


def _deliver(write, local_dir, marker) -> dict:
    """Run ``write(path)`` (it writes the point's file and returns its metrics) into
    ``local_dir`` when this process sees the sweep directory (``marker`` exists there), else
    into a temporary file whose bytes are returned."""
    if local_dir is not None and marker is not None and (Path(local_dir) / marker).exists():
        fd, tmp = tempfile.mkstemp(prefix=".result.", suffix=".h5.tmp", dir=local_dir)
        os.close(fd)
        return {"metrics": write(Path(tmp)), "path": tmp}
    with tempfile.TemporaryDirectory(prefix="circuit_sim_sweep_") as tmpdir:
        path = Path(tmpdir) / "point.h5"
        metrics = write(path)
        return {"metrics": metrics, "h5": path.read_bytes()}


def _written(res, path: Path) -> dict:
    """Write an inference result to ``path``; its scalar metrics (with T_eff, run_time)."""
    metrics = {k: hdf5.plain(v) for k, v in res.metrics.items()}
    metrics = {k: v for k, v in metrics.items() if _is_number(v) or isinstance(v, bool)}
    metrics["T_eff"] = float(res.T_eff)
    metrics["run_time"] = float(res.run_time)
    res.to_hdf5(path)
    return metrics


def _inference_point(cfg):
    from ..run.inference import run_inference

    def write(path: Path) -> dict:
        res = run_inference(cfg)
        if res.interrupted:
            raise RuntimeError("the simulation was interrupted")
        return _written(res, path)
    return write


def _learning_point(cfg):
    """A point whose input is a stream (learning from it, or inference on it without
    ``[learning]``): :func:`run_learning` writes the point's file (the layout of
    ``circuit-sim learn``); its metrics are the last entry of each learning statistic
    (activity, reconstruction_error, kl_prior, recovery_mean, ...)."""
    from ..run.learning import run_learning

    def write(path: Path) -> dict:
        run_learning(cfg, path)
        m = learning_metrics(path, cfg)
        if m.pop("interrupted"):
            raise RuntimeError("the learning run was interrupted")
        return m
    return write


def _task(config_dict: dict, source: str | None, cache_root: str, work) -> dict:
    """What every sweep task does around its work: one thread of BLAS, the worker's own
    build caches, the config validated, ``work(cfg)`` (a dict of results) run under the
    process's task lock; a failure is returned as ``{"status": "failed", ...}``, never
    raised; ``worker`` and ``wall_time`` added."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    with _TASK_LOCK:
        try:
            _worker_cache(cache_root)
            out = {"status": "ok", "worker": worker,
                   **work(Config.from_dict(config_dict, source=source))}
        except Exception as exc:  # noqa: BLE001 -- recorded as a failed point (or batch)
            out = {"status": "failed", "error": one_line(exc),
                   "traceback": traceback.format_exc(), "worker": worker}
    out["wall_time"] = time.perf_counter() - t0
    return out


def run_point(config_dict: dict, source: str | None, cache_root: str,
              local_dir: str | None = None, marker: str | None = None) -> dict:
    """Run one point (in a Dask worker); never raises for a failing simulation.

    Sets ``OPENBLAS_NUM_THREADS=1``, gives the worker its own build caches, validates the
    config, runs :func:`run_inference` (or :func:`run_learning` for a stream: learning with
    ``[learning]``, inference on the stream without) and writes the result to an HDF5 file
    (see :func:`_deliver`).
    """
    def work(cfg) -> dict:
        write = _learning_point(cfg) if cfg.input.kind != "fixed" else _inference_point(cfg)
        return _deliver(write, local_dir, marker)

    return _task(config_dict, source, cache_root, work)


def _learning_batch(cfg, local_dir: str | None, marker: str | None) -> list:
    """A batch of points on a stream (chips; learning, or inference on the stream): one
    ensemble run by :func:`run_learning`, then each chip's file as the file of that chip
    alone (:func:`write_chip_learning`; with ``learning.share = "none"`` its K_c learners)
    with its metrics."""
    from ..results.learning_file import write_chip_learning
    from ..run.learning import run_learning

    design = cfg.design
    # with learning.share = "none" the ensemble holds k = K_c learner blocks per chip
    k = design.ensemble.learners_per_chip
    chips = design.chips // k
    with tempfile.TemporaryDirectory(prefix="circuit_sim_batch_") as tmp:
        data = hdf5.load_learning(run_learning(cfg, Path(tmp) / "batch.h5"))
        if data["attrs"].get("interrupted"):
            raise RuntimeError("the learning run was interrupted")

        def write(path, c):
            alone = design.chip_alone(c * k)  # chip c's first block: its draw, chips = 1
            write_chip_learning(data, c, alone, path, chips)
            m = learning_metrics(path, alone.config)
            m.pop("interrupted")
            return m
        return [_deliver(lambda path, c=c: write(path, c), local_dir, marker)
                for c in range(chips)]


def run_batch(config_dict: dict, source: str | None, cache_root: str,
              local_dir: str | None = None, marker: str | None = None) -> dict:
    """Run a batch of sweep points that differ only in their device draw (or seed) as one
    ensemble (``config_dict`` has ``mismatch.chips`` = the batch's size and ``first_chip``
    its first, or ``run.seeds``; :func:`circuit_sim.sweep.runner.plan_batches`), then
    write each chip's file as the result of that chip alone (:meth:`InferenceResult.chip`;
    a batch on a stream: :func:`_learning_batch`). Returns ``{"status",
    "points": [{"metrics", "path" or "h5"}, ...] in chip order, "worker", "wall_time"}``;
    never raises for a failing simulation (the whole batch then fails)."""
    def work(cfg) -> dict:
        from ..run.inference import run_inference

        if cfg.input.kind != "fixed":
            return {"points": _learning_batch(cfg, local_dir, marker)}
        res = run_inference(cfg)
        if res.interrupted:
            raise RuntimeError("the simulation was interrupted")
        return {"points": [_deliver(lambda path, c=c: _written(res.chip(c), path), local_dir,
                                    marker) for c in range(res.design.chips)]}

    return _task(config_dict, source, cache_root, work)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def learning_metrics(path, cfg) -> dict:
    """The metrics of a learning point's file: the last entry of each learning statistic
    (several learners: its ``_median``, ``_p10``, ``_p90`` across chips, or chains with
    ``learning.share = "none"``), ``patches_seen``, the
    config's ``T_eff`` and ``interrupted``."""
    data = hdf5.load_learning(path)
    several = learners(data["attrs"]) > 1
    m = {}
    for key, arr in data["stats"].items():
        arr = np.asarray(arr)
        if not (arr.size and np.issubdtype(arr.dtype, np.number)):
            continue
        if arr.ndim == 1:
            m[key] = float(arr[-1])
        elif arr.ndim == 2 and several:  # (snapshots, learners)
            for name, q in (("median", 50), ("p10", 10), ("p90", 90)):
                m[f"{key}_{name}"] = float(np.nanpercentile(arr[-1], q))
    m["T_eff"] = float(cfg.noise_budget().T_eff)
    m["patches_seen"] = float(np.asarray(data["snapshots"].get("patches_seen", [np.nan]))[-1])
    m["interrupted"] = bool(data["attrs"].get("interrupted", False))
    return m
