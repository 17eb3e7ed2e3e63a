"""The client side of a sweep: submit the points to Dask, record results as they come,
keep the index valid through Ctrl-C and SIGTERM, resume into the same directory."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import importlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from ..design.ensemble import seeds_share_a_schedule
from ..errors import ConfigError
from ..results import hdf5
from .index import SweepIndex, _atomic_write, _Book, _canonical, _file_mode, _now
from .spec import SweepPoint, _fmt_params, load_sweep, toml_source
from .worker import one_line

__all__ = ["run_sweep"]

#: The most chips one batched network simulates (the benchmark's size, benchmarks/ensemble.py:
#: 64 chips in one network ran 4.7-7x faster end to end than as 64 separate points).
MAX_BATCH = 64


def _first_chip(p: SweepPoint) -> int:
    return int(p.config.mismatch.first_chip)


def _batch_key(p: SweepPoint) -> str | None:
    """What points must share to run as one ensemble of device draws: everything but
    ``mismatch.first_chip`` (None: this point runs alone: no [mismatch], or a point that is
    already a batch)."""
    cfg = p.config
    if cfg.mismatch is None or cfg.mismatch.chips != 1 or cfg.run.seeds is not None:
        return None
    d = copy.deepcopy(p.config_dict)
    d.get("mismatch", {}).pop("first_chip", None)
    return _canonical(d)


def _seed_key(p: SweepPoint) -> str | None:
    """What points must share to run as one batch of seeds (``run.seeds``): everything but
    ``run.seed``. None where a batch cannot be each seed's run alone
    (:func:`circuit_sim.design.ensemble.check_ensemble`: a Poisson schedule, drawn from the
    seed) or the point is already a batch."""
    cfg = p.config
    if not seeds_share_a_schedule(cfg) \
            or (cfg.mismatch is not None and cfg.mismatch.chips != 1) \
            or cfg.run.seeds is not None:
        return None
    d = copy.deepcopy(p.config_dict)
    d.get("run", {}).pop("seed", None)
    return _canonical(d)


def _batch_cap(p: SweepPoint, n_workers: int) -> int:
    """The most chips of ``p``'s design one batch may hold: :data:`MAX_BATCH`, and no more
    than fit in a worker's share of the memory and in ``run.time_limit`` (estimated from one
    chip: the cost of a batch grows with its copies), so that a batch is not refused where
    its points alone would run."""
    from ..design.cost import available_memory, estimate

    est = estimate(p.config.design)
    by_memory = available_memory() // max(1, n_workers) // max(1, est.peak_bytes)
    by_time = p.config.run.time_limit / max(est.seconds, 1e-9)
    return int(max(1, min(MAX_BATCH, by_memory, by_time)))


def plan_batches(points: list, n_workers: int, enabled: bool = True) -> list:
    """The jobs of a sweep: lists of points, each run in one network.

    Points that differ only in ``mismatch.first_chip`` (their device draw) and whose draws
    are consecutive chips run as one ensemble (``mismatch.chips`` copies; inference on a
    fixed input or on a stream, or learning: each chip learns its own dictionary, or with
    ``learning.share = "none"`` each of its chains): each chip is then the same draw it is
    alone, and the network's crossbar products for all of them are one batched product
    (issue 16). Points left alone by that and that differ only in
    ``run.seed`` run as one batch of seeds (``run.seeds``: each chip its seed's device
    draw; without a given dictionary its seed's dictionary, hence its own posterior, or
    when learning its own starting point; on a stream its seed's patches), where every
    chip can then be its seed's run alone (:func:`_seed_key`: not on a Poisson schedule).
    In both, each point's noise is the batch's draw, not its own (the same law). A batch holds at most :data:`MAX_BATCH`
    chips (fewer where the memory or ``run.time_limit`` would not take them,
    :func:`_batch_cap`), and a group of ``n`` such points on ``n_workers`` workers is cut
    into batches of ``ceil(n / n_workers)``, so that every worker gets one. ``enabled``
    False (the sweep file's ``batch = false``): every point alone. Jobs are in the order of
    their first point.
    """
    if not enabled:
        return [[p] for p in points]
    groups, jobs, alone = {}, [], []
    for p in points:
        key = _batch_key(p)
        (alone.append(p) if key is None else groups.setdefault(key, []).append(p))
    for members in groups.values():
        members.sort(key=_first_chip)
        runs = []
        for p in members:  # runs of consecutive draws
            if runs and _first_chip(p) == _first_chip(runs[-1][-1]) + 1:
                runs[-1].append(p)
            else:
                runs.append([p])
        alone += [run[0] for run in runs if len(run) == 1]
        jobs += _cut([run for run in runs if len(run) > 1], len(members), n_workers)
    seeds = {}
    for p in alone:
        key = _seed_key(p)
        (jobs.append([p]) if key is None else seeds.setdefault(key, []).append(p))
    for members in seeds.values():
        jobs += _cut([members], len(members), n_workers)
    return sorted(jobs, key=lambda job: min(p.index for p in job))


def _cut(runs: list, n: int, n_workers: int) -> list:
    """Runs of points (a group of ``n``) cut into batches of at most ``ceil(n / n_workers)``
    and :func:`_batch_cap` points."""
    if not runs:
        return []
    size = min(_batch_cap(runs[0][0], n_workers), max(1, math.ceil(n / max(1, n_workers))))
    return [run[i:i + size] for run in runs for i in range(0, len(run), size)]


def _is_seed_batch(job: list) -> bool:
    return len({p.config.run.seed for p in job}) > 1


def _batch_config(job: list) -> tuple[dict, str | None]:
    """The config (dict and TOML text) of a batch: its first point's, with ``chips`` and
    ``first_chip`` spanning the batch, or for a batch of seeds ``run.seeds`` its seeds."""
    d = copy.deepcopy(job[0].config_dict)
    if _is_seed_batch(job):
        d["run"]["seeds"] = [int(p.config.run.seed) for p in job]
    else:
        d["mismatch"]["first_chip"] = _first_chip(job[0])
        d["mismatch"]["chips"] = len(job)
    return d, toml_source(d)


def _split(job: list, result: dict) -> list:
    """``[(point, result)]`` of a finished job (a batch's result split into its points')."""
    if len(job) == 1:
        return [(job[0], result)]
    share = {"worker": result.get("worker", ""), "batch": len(job),
             "wall_time": (result["wall_time"] / len(job)
                           if result.get("wall_time") is not None else None)}
    if result["status"] != "ok":
        return [(p, {**result, **share}) for p in job]
    return [(p, {"status": "ok", **sub, **share}) for p, sub in zip(job, result["points"])]


# --------------------------------------------------------------------------- the client side
def _fmt_time(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _write_json(path: Path, obj) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


@contextlib.contextmanager
def _dir_lock(out: Path):
    """Hold ``out/.lock`` exclusively while the sweep runs (a second sweep into the same
    directory is refused); the file is removed afterwards."""
    path = out / ".lock"
    fh = open(path, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fh.fileno()).st_ino != os.stat(path).st_ino:
                raise OSError("lock file replaced")  # its holder just removed it
        except OSError:
            raise ConfigError("sweep --out", "a directory no other running sweep writes to",
                              str(out)) from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()  # while still holding the lock
    finally:
        fh.close()


#: Set by Ctrl-C or SIGTERM while a sweep runs; the loop checks it after every finished point,
#: so an interrupt that lands inside library code that swallows it (Dask's client calls turn a
#: KeyboardInterrupt into their own errors) still stops the sweep.
_STOP = threading.Event()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM and Ctrl-C raise KeyboardInterrupt while the sweep runs, and set
    :data:`_STOP`."""
    _STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _STOP.set()
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


@contextlib.contextmanager
def _workers_ignore_interrupts(say):
    """Start worker processes that ignore Ctrl-C. A terminal's Ctrl-C goes to the whole
    process group; a Dask worker hit by it while starting prints tracebacks and cannot be
    closed. Processes started while SIGINT is ignored keep ignoring it (Python installs
    its handler only over the default one), so only this process sees Ctrl-C and closes
    the workers itself. A Ctrl-C during these few seconds of start-up is ignored (and the
    user is told so)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    say("  starting workers (Ctrl-C is ignored until they are up, a few seconds) ...")
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _start_client(scheduler, n_workers: int):
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError("--scheduler", "the address of a running Dask scheduler "
                              f"(tcp://host:8786) [{one_line(exc)}]", scheduler) from None
        return client, None, f"scheduler {scheduler} ({len(client.nthreads())} workers now)"
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           preload=["circuit_sim.sweep"],
                           env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                "MKL_NUM_THREADS": "1"})
    return Client(cluster), cluster, f"a local Dask cluster ({n_workers} worker processes, 1 thread each)"


def _open_session(sweep, sweep_path, out: Path, scheduler, say):
    """Start a session of the sweep in ``out``: the index with the points already finished
    there, the points to run, and the session log (``sweep.json``) with this session's entry."""
    log_path = out / "sweep.json"
    log = {}
    if log_path.is_file():
        with contextlib.suppress(ValueError, OSError):
            log = json.loads(log_path.read_text())
    sessions = log.get("sessions", [])
    session = len(sessions) + 1
    book = _Book(sweep, out, session)
    todo, stale = [], 0
    for p in sweep.points:
        state = book.load_finished(p)
        if state != "ok":
            todo.append(p)
            stale += state == "stale"
    n_done_before = len(sweep.points) - len(todo)
    book.write()
    entry = {"session": session, "started": _now(), "finished": None,
             "scheduler": scheduler or "local", "to_run": len(todo), "skipped": n_done_before}
    log = {"sweep_file": str(Path(sweep_path).resolve()), "base": str(sweep.base_path or ""),
           "keys": sweep.keys, "n_points": len(sweep.points), "sessions": sessions + [entry]}
    _write_json(log_path, log)
    say(f"sweep {sweep_path}: {len(sweep.points)} points, {n_done_before} already done"
        + (f", {stale} stale (config changed) to rerun" if stale else "")
        + f", {len(todo)} to run")
    return book, todo, log, entry


def run_sweep(sweep_path, out_dir, *, scheduler: str | None = None, workers: int | None = None,
              progress=sys.stderr) -> SweepIndex:
    """Run (or resume) every point of a sweep file on Dask; return the index.

    Parameters
    ----------
    sweep_path : path
        The sweep TOML file (see the module docstring). All points are validated first.
    out_dir : path
        Output directory (``index.csv``, ``index.h5``, ``points/``); a rerun into the same
        directory skips the points already finished there and retries the failed ones.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default: a
        ``distributed.LocalCluster`` of worker processes, one thread each.
    workers : int, optional
        Number of local worker processes (default ``os.cpu_count()``, at most the number of
        points to run); ignored with ``scheduler``.
    progress : file-like or None
        Progress lines (points done / total, failures, elapsed, ETA).

    Returns
    -------
    SweepIndex
        One row per point; ``interrupted`` is True after Ctrl-C / SIGTERM (the points not
        finished stay ``pending``; rerun to complete them).

    Raises
    ------
    ConfigError
        A bad sweep file or point (:class:`SweepError` lists them all); nothing is run.
    """
    def say(msg: str) -> None:
        if progress is not None:
            progress.write(msg + "\n")
            progress.flush()

    sweep = load_sweep(sweep_path)
    out = Path(out_dir)
    (out / "points").mkdir(parents=True, exist_ok=True)
    with _dir_lock(out):
        book, todo, log, entry = _open_session(sweep, sweep_path, out, scheduler, say)
        log_path = out / "sweep.json"
        if not todo:
            entry["finished"] = _now()
            _write_json(log_path, log)
            return book.index()
        interrupted = False
        with _sigterm_as_interrupt():
            try:
                interrupted = _execute(todo, book, out, scheduler, workers, say,
                                       len(sweep.points), len(sweep.points) - len(todo))
            except KeyboardInterrupt:
                interrupted = True
            finally:
                index = book.write(interrupted=interrupted)
                c = index.counts
                entry.update(finished=_now(), ok=c["ok"], failed=c["failed"],
                             pending=c["pending"], interrupted=interrupted)
                _write_json(log_path, log)
        return index


def _execute(todo, book, out, scheduler, workers, say, total, n_done_before) -> bool:
    """Submit ``todo`` to Dask, record results as they come; True if interrupted."""
    from distributed import as_completed

    n_local = max(1, min(int(workers or os.cpu_count() or 1), len(todo)))
    marker = f".sweep-session-{book.session}-{os.getpid()}"
    (book.points_dir / marker).touch()
    client = cluster = None
    futures = {}
    t_start = time.perf_counter()
    try:
        with _workers_ignore_interrupts(say):
            client, cluster, what = _start_client(scheduler, n_local)
        n_workers = max(1, len(client.nthreads()))
        say(f"  on {what}; startup {time.perf_counter() - t_start:.1f} s")
        cache_root = str((out / ".cache").resolve())
        queue = plan_batches(list(todo), n_workers, book.sweep.batch)
        _say_batches(queue, say)
        ac = as_completed()
        worker_module = importlib.import_module("circuit_sim.sweep.worker")  # by reference
        points_dir = str(book.points_dir.resolve())

        def submit_one():
            job = queue.pop(0)
            p = job[0]
            if len(job) == 1:
                fut = client.submit(worker_module.run_point, p.config_dict, p.source,
                                    cache_root, points_dir, marker, pure=False,
                                    key=f"circuit-sim-point-{p.point_id}-s{book.session}")
            else:
                fut = client.submit(worker_module.run_batch, *_batch_config(job), cache_root,
                                    points_dir, marker, pure=False,
                                    key=f"circuit-sim-batch-{p.point_id}-{len(job)}"
                                        f"-s{book.session}")
            futures[fut] = job
            ac.add(fut)

        while queue and len(futures) < 2 * n_workers:
            submit_one()
        times, failed, done = [], 0, n_done_before
        for fut in ac:
            job = futures.pop(fut)
            finished = _split(job, _result_of(fut))
            fut.release()
            for p, result in finished:
                _record(p, result, book)
                if result.get("wall_time") is not None:
                    times.append(result["wall_time"])
                failed += result["status"] != "ok"
            done += len(finished)
            book.write()
            if _STOP.is_set():  # an interrupt some library call swallowed
                raise KeyboardInterrupt
            with contextlib.suppress(Exception):  # workers may come and go on a scheduler
                n_workers = max(1, len(client.nthreads()) or n_workers)
            while queue and len(futures) < 2 * n_workers:  # keep every worker fed, no more
                submit_one()
            elapsed = time.perf_counter() - t_start
            remaining = total - done
            eta = remaining * float(np.mean(times)) / n_workers if times else float("nan")
            for k, (p, result) in enumerate(finished):
                _say_point(say, p, result, done - len(finished) + k + 1, total,
                           f"failed {failed}, elapsed {_fmt_time(elapsed)}, ETA {_fmt_time(eta)}",
                           len(finished) > 1)
        return False
    except KeyboardInterrupt:
        say(f"\n  interrupted: stopping; {len(futures)} point(s) in flight are abandoned "
            "(pending); the index keeps the finished ones")
        return True
    finally:
        _close_session(client, cluster, futures, book, marker)


def _say_batches(queue: list, say) -> None:
    for seeds, what in ((False, "mismatch.first_chip"), (True, "run.seed")):
        batched = [job for job in queue if len(job) > 1 and _is_seed_batch(job) == seeds]
        if batched:
            say(f"  batched: {sum(map(len, batched))} points that differ only in {what} run "
                f"as {len(batched)} network(s) of {min(map(len, batched))}-"
                f"{max(map(len, batched))} chips (at most {MAX_BATCH}, and at least one batch "
                "per worker; each point's noise is its batch's draw; batch = false in the "
                "sweep file runs each alone)")


def _say_point(say, p: SweepPoint, result: dict, n: int, total: int, state: str,
               batched: bool) -> None:
    tail = f"  {result['error']}" if result["status"] != "ok" else ""
    each = " each, in a batch" if batched else ""
    say(f"  [{n:{len(str(total))}d}/{total}] {result['status']:6s} {p.point_id} "
        f"{_fmt_params(p.params)} ({(result.get('wall_time') or 0):.1f} s{each})  "
        f"{state}{tail}")


def _result_of(fut) -> dict:
    """A finished future's result, or a failed point's record for an errored one."""
    if fut.status == "error":
        exc = fut.exception()
        tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
        return {"status": "failed", "error": one_line(exc) if exc else "task error",
                "traceback": tb, "worker": "", "wall_time": None}
    if fut.status != "finished":
        return {"status": "failed", "error": f"Dask task {fut.status}", "traceback": "",
                "worker": "", "wall_time": None}
    return fut.result()


def _close_session(client, cluster, futures, book, marker) -> None:
    """Cancel what is in flight, write the index, close the cluster, remove the marker and
    the files of abandoned points (each step even if another fails)."""
    with contextlib.suppress(BaseException):
        if client is not None and futures:
            client.cancel(list(futures))
    with contextlib.suppress(BaseException):
        book.write()
    with contextlib.suppress(BaseException):
        if client is not None:
            client.close(timeout=10)
    with contextlib.suppress(BaseException):
        if cluster is not None:
            cluster.close(timeout=10)
    with contextlib.suppress(OSError):
        (book.points_dir / marker).unlink()
    for tmp in book.points_dir.glob(".result.*.h5.tmp"):  # results of abandoned points
        with contextlib.suppress(OSError):
            tmp.unlink()


def _tags(p: SweepPoint, result: dict, book: _Book) -> dict:
    """The attributes a point's file gets: its swept values and ``sweep_*``."""
    wall = result.get("wall_time")
    tags = {k: v if isinstance(v, (str, int, float, bool)) else _canonical(v)
            for k, v in p.params.items()}
    tags.update(sweep_params=_canonical(p.params), sweep_point_id=p.point_id,
                sweep_index=p.index, sweep_config_sha1=p.config_sha1,
                sweep_session=book.session,
                sweep_wall_time=float(wall) if wall is not None else float("nan"),
                sweep_worker=result.get("worker", ""), sweep_file=str(book.sweep.path or ""),
                sweep_batch=int(result.get("batch", 1)))
    return tags


def _write_point(p: SweepPoint, result: dict, book: _Book) -> None:
    """The point's file from the worker's result: tagged under a temporary name, renamed."""
    final = book.h5_path(p)
    tmp = None
    try:
        if "path" in result:
            tmp = Path(result["path"])
        else:
            fd, name = tempfile.mkstemp(prefix=".result.", suffix=".h5.tmp", dir=book.points_dir)
            os.close(fd)
            tmp = Path(name)
            tmp.write_bytes(result["h5"])
        hdf5.tag_point(tmp, _tags(p, result, book))
        os.chmod(tmp, _file_mode())
        os.replace(tmp, final)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


def _record(p: SweepPoint, result: dict, book: _Book) -> None:
    """Write a finished point's file (temporary name, then rename) and update its row."""
    final = book.h5_path(p)
    err_txt = final.with_suffix(".error.txt")
    err_json = final.with_suffix(".error.json")
    wall = result.get("wall_time")
    if result["status"] == "ok":
        try:
            _write_point(p, result, book)
        except Exception as exc:  # noqa: BLE001 -- a point whose file cannot be written failed
            result.update(status="failed", error=f"writing {final.name}: {one_line(exc)}",
                          traceback=traceback.format_exc())
        else:
            for e in (err_txt, err_json):
                with contextlib.suppress(OSError):
                    e.unlink()
            book.set_ok(p, result["metrics"], wall_time=wall, session=book.session,
                        worker=result.get("worker"))
            return
    tb = result.get("traceback", "")
    _atomic_write(err_txt, lambda t: t.write_text(
        f"point {p.point_id} ({_fmt_params(p.params)}), session {book.session}, "
        f"worker {result.get('worker', '')}\n{tb}"))
    _write_json(err_json, {"point_id": p.point_id, "params": p.params, "error": result["error"],
                           "session": book.session, "worker": result.get("worker", ""),
                           "wall_time": wall, "time": _now()})
    book.set_failed(p, result["error"], wall_time=wall, session=book.session,
                    worker=result.get("worker"))
