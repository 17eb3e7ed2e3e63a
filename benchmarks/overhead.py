"""Long-run Python overhead: how much of a 1-million-step run is not the simulation loop.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/overhead.py               # ~3 min, 2 cores
    python benchmarks/overhead.py --steps 200000 --backends standalone    # quicker

One (N, M) = (64, 128) spike-and-slab design (the model and input of
``ess_per_second.py``: Laplace prior, pi = 0.2, sigma = 0.5, dictionary
``models.random_dictionary(64, 128, default_rng(1))``, 10 fF / 1 uS / 10 mV, thermal noise
topped up to T_eff = 1), integrator ``leimkuhler_matthews`` at its automatic dt, recorded
every 10 steps, through the public API only (``circuit_sim.run_inference``, with
``out=path`` as ``circuit-sim infer --out`` calls it). Per backend (``standalone``, and
``cython`` when its pilot predicts a 1M-step run within ``--cython-cap`` seconds; otherwise
it runs fewer steps and says so):

1. a short run (``--short`` steps, recording): a warm-up (fills Brian2's cython cache and the
   standalone build cache: the long runs of the same design then compile nothing, since the
   standalone program takes its length on the command line) and, for cython, the fixed cost
   hidden inside ``res.run_time`` (see below);
2. ``--repeats`` times (standalone; ``--cython-repeats`` for cython), three long runs, in
   an order that rotates from one repeat to the next (each kind first, second and last in
   turn: on this VM a run's cost depends on what ran just before it):

   * ``nofile``: recording every 10 steps, no file;
   * ``file``: the same, writing its HDF5 file, ``run_inference(cfg, out=path)`` (the run
     that is reported: the samples go to the file on a background thread while the figures
     of merit are computed); then, for reference, ``res.to_hdf5`` of it by itself, timed;
   * ``norec``: without recording (``record_every = duration``: one sample; its own monitor
     clock, so standalone builds another program, once, in a cache directory of its own so
     that the recorded design's program stays compiled).

Each row is computed per repeat from that repeat's three runs; the table shows the median
over the repeats, and the target's fraction is also printed for each repeat on its own.

Columns (seconds of wall time unless marked; fractions of the total):

* ``loop``        -- ``res.run_time`` of the run without recording minus its fixed part:
  the simulation steps themselves.
* ``recording``   -- ``run_time(recorded) - run_time(not recorded)``: the monitor's cost
  inside the loop.
* ``run() overhead`` -- ``res.wall_time - res.run_time`` of the reported run: building the
  network, code generation, (standalone) any C++ compilation (none for a cached design) and the
  binary's start-up and result files, reading the samples back; plus, for cython, the fixed
  part of ``run_time`` (Brian2 prepares / loads the compiled code objects inside
  ``Network.run``; estimated as ``run_time(short) - short * per-step cost of the long
  run``). For standalone ``res.run_time`` is the binary's own ``std::clock`` loop time.
* ``metrics``     -- the ``nofile`` run's time in ``run_inference`` after ``wall_time`` is
  taken (``InferenceResult.from_run``: ``s = h(u)``, autocorrelation times, ...).
* ``HDF5``        -- what the file added: the ``file`` run's time after ``wall_time`` minus
  ``metrics`` (two runs, so it carries their noise, about 0.1-0.2 s here; it can come out
  negative).
* ``total``       -- the ``run_inference(cfg, out=path)`` call of the ``file`` run.

Target: run() overhead + recording + HDF5 (+ metrics, shown both ways) < 10% of the total.
Also printed: the process's own CPU time plus that of its finished child processes
(compiler, standalone binary) for the recorded run, as a cross-check of the wall numbers
on a shared machine.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ess_per_second import circuit_config, make_problem  # noqa: E402

RECORD_EVERY_STEPS = 10


def config(p, backend: str, n_steps: int, record: bool):
    """The LM config at its automatic dt with ``record_every`` = 10 steps (or one sample)."""
    from circuit_sim import Config

    cfg, dt, _ = circuit_config(p, "leimkuhler_matthews", n_steps, 0.25)
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in cfg.raw.items()}
    d["run"] = dict(d["run"], backend=backend,
                    record_every=f"{(RECORD_EVERY_STEPS if record else n_steps) * dt!r} s")
    cfg = Config.from_dict(d)
    assert cfg.n_steps() == n_steps
    assert cfg.record_stride() == (RECORD_EVERY_STEPS if record else n_steps)
    return cfg


def timed_run(cfg, out=None):
    """run_inference (writing ``out`` if given) with wall / CPU accounting: (res, times)."""
    from circuit_sim import run_inference

    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, w0 = time.process_time(), time.perf_counter()
    res = run_inference(cfg, out=out)
    call = time.perf_counter() - w0
    cpu_self = time.process_time() - c0
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not np.all(np.isfinite(res.u)):
        raise FloatingPointError("circuit diverged")
    t = {"call": call, "wall_time": res.wall_time, "run_time": res.run_time,
         "cpu_self": cpu_self,
         "cpu_children": (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)}
    return res, t


KINDS = ("nofile", "file", "norec")
NOREC_CACHE = os.path.join(tempfile.gettempdir(), "circuit_sim_overhead_norec_cache")


def one_run(p, backend: str, n_steps: int, kind: str, log) -> dict:
    """One long run of ``kind``: recorded without a file, recorded writing its HDF5 file
    (``run_inference(cfg, out=...)``, then ``to_hdf5`` by itself for reference), or not
    recorded."""
    if kind == "norec":
        # another monitor clock is another program of the same structure: built in a cache
        # of its own, so that it does not replace the recorded design's compiled program
        # (the recorded runs after it would then recompile)
        old = os.environ.get("CIRCUIT_SIM_CACHE")
        os.environ["CIRCUIT_SIM_CACHE"] = NOREC_CACHE
        try:
            _, t = timed_run(config(p, backend, n_steps, False))
        finally:
            if old is None:
                del os.environ["CIRCUIT_SIM_CACHE"]
            else:
                os.environ["CIRCUIT_SIM_CACHE"] = old
        log(f"  not recorded: call {t['call']:.2f} s, run_time {t['run_time']:.3f} s")
        return t
    if kind == "nofile":
        res, t = timed_run(config(p, backend, n_steps, True))
        log(f"  recorded, no file: call {t['call']:.2f} s, wall_time {t['wall_time']:.2f} s, "
            f"run_time {t['run_time']:.3f} s, after the run {t['call'] - t['wall_time']:.2f} s")
        t["samples"] = len(res.t)
        return t
    tmp = tempfile.mkdtemp(prefix="overhead_h5_")
    try:
        res, t = timed_run(config(p, backend, n_steps, True), out=os.path.join(tmp, "run.h5"))
        t["mb"] = os.path.getsize(os.path.join(tmp, "run.h5")) / 1e6
        # for reference: the file written by itself, after the run (InferenceResult.to_hdf5)
        c0, w0 = time.process_time(), time.perf_counter()
        res.to_hdf5(os.path.join(tmp, "again.h5"))
        t["h5_alone"], t["h5_cpu"] = time.perf_counter() - w0, time.process_time() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"  recorded, with the file: call {t['call']:.2f} s, wall_time {t['wall_time']:.2f} s, "
        f"run_time {t['run_time']:.3f} s, after the run {t['call'] - t['wall_time']:.2f} s "
        f"(HDF5 {t['mb']:.0f} MB); to_hdf5 by itself {t['h5_alone']:.2f} s")
    return t


def components(short: dict, nofile: dict, rec: dict, norec: dict, backend: str,
               n_steps: int, n_short: int) -> dict:
    """The table's rows from one run of each kind (see the module docstring)."""
    fixed_in_run = 0.0
    if backend != "standalone":  # runtime: Network.run prepares code objects inside run_time
        fixed_in_run = max(0.0, short["run_time"] - n_short * rec["run_time"] / n_steps)
    metrics = nofile["call"] - nofile["wall_time"]
    after = rec["call"] - rec["wall_time"]
    c = {"loop": norec["run_time"] - fixed_in_run,
         "recording": rec["run_time"] - norec["run_time"],
         "overhead": rec["wall_time"] - rec["run_time"] + fixed_in_run,
         "metrics": metrics, "hdf5": after - metrics, "after": after, "total": rec["call"],
         "fixed_in_run": fixed_in_run, "wall_minus_run": rec["wall_time"] - rec["run_time"]}
    c["target"] = c["overhead"] + c["recording"] + c["hdf5"]
    return c


def measure(p, backend: str, n_steps: int, n_short: int, repeats: int, log) -> dict:
    log(f"{backend}: short run ({n_short} steps, recording)")
    _, short = timed_run(config(p, backend, n_short, True))
    log(f"  call {short['call']:.2f} s, wall_time {short['wall_time']:.2f} s, run_time "
        f"{short['run_time']:.3f} s")
    runs = {k: [] for k in KINDS}
    for i in range(repeats):
        order = KINDS[i % 3:] + KINDS[:i % 3]  # each kind first, second and last in turn
        log(f"{backend}: repeat {i + 1}/{repeats}, {n_steps} steps each: {', '.join(order)}")
        for kind in order:
            runs[kind].append(one_run(p, backend, n_steps, kind, log))
    per_repeat = [components(short, runs["nofile"][i], runs["file"][i], runs["norec"][i],
                             backend, n_steps, n_short) for i in range(repeats)]
    med = {k: float(np.median([r[k] for r in per_repeat])) for k in per_repeat[0]}
    rec = runs["file"]
    return {"backend": backend, "n_steps": n_steps, "samples": runs["nofile"][0]["samples"],
            **med, "repeats": repeats,
            "target_fractions": [r["target"] / r["total"] for r in per_repeat],
            "hdf5_alone": float(np.median([r["h5_alone"] for r in rec])),
            "hdf5_cpu": float(np.median([r["h5_cpu"] for r in rec])), "hdf5_mb": rec[0]["mb"],
            "cpu_self": float(np.median([r["cpu_self"] for r in rec])),
            "cpu_children": float(np.median([r["cpu_children"] for r in rec])),
            "us_per_step": 1e6 * float(np.median([r["run_time"] for r in runs["norec"]])) / n_steps}


def machine_rates(mb: int = 200) -> tuple[float, float]:
    """This machine's rates for the data a long run moves (MB/s): filling fresh memory (page
    faults on memory the process has not touched yet) and writing a file through the page cache.
    On the 2-core development VM both are slow (first touch of a guest page costs the host a
    fault), and they, not Python, set the recording and HDF5 costs of a long run. Warming the
    memory first does not help there: the guest reports pages free for about 2 s back to the
    host (virtio-balloon free page reporting), after which they are cold again (measured:
    300 MB refilled at 17 GB/s within 1 s of being freed, at 0.6-1.3 GB/s after 2-8 s)."""
    n = mb * 1_000_000 // 8
    w0 = time.perf_counter()
    a = np.empty(n)
    a.fill(1.0)
    fill = mb / (time.perf_counter() - w0)
    tmp = tempfile.mkdtemp(prefix="overhead_rate_")
    try:
        w0 = time.perf_counter()
        with open(os.path.join(tmp, "a.bin"), "wb") as f:
            a.tofile(f)
        write = mb / (time.perf_counter() - w0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return fill, write


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--short", type=int, default=20_000, help="steps of the short run")
    ap.add_argument("--backends", default="standalone,cython")
    ap.add_argument("--cython-cap", type=float, default=90.0,
                    help="max predicted seconds of one long cython loop (default %(default)s); "
                         "above it the cython runs get fewer steps")
    ap.add_argument("--repeats", type=int, default=3,
                    help="standalone: repeats of each long run; the table shows medians "
                         "(default %(default)s)")
    ap.add_argument("--cython-repeats", type=int, default=1,
                    help="cython: repeats of each long run (default %(default)s)")
    ap.add_argument("--verbose", action="store_true", help="keep Brian2's warnings")
    ap.add_argument("--quick", action="store_true", help="200000 steps instead of 1 million")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 200_000)

    import brian2 as b2
    if not args.verbose:
        b2.BrianLogger.log_level_error()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    fill_rate, write_rate = machine_rates()
    p = make_problem()
    rows, errors = [], []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        n_steps = args.steps
        try:
            if backend != "standalone":
                # warm the cache and predict the loop time from a pilot
                _, pilot = timed_run(config(p, backend, args.short, False))
                _, pilot = timed_run(config(p, backend, args.short, False))
                per = pilot["run_time"] / args.short
                log(f"{backend}: pilot {1e6 * per:.1f} us/step -> {n_steps} steps ~ "
                    f"{per * n_steps:.0f} s per run")
                if per * n_steps > args.cython_cap:
                    n_steps = int(args.cython_cap / per) // RECORD_EVERY_STEPS * RECORD_EVERY_STEPS
                    log(f"  too long for --cython-cap {args.cython_cap:g} s: {n_steps} steps")
            reps = args.repeats if backend == "standalone" else args.cython_repeats
            rows.append(measure(p, backend, n_steps, args.short, reps, log))
        except Exception as exc:
            errors.append((backend, traceback.format_exc()))
            log(f"{backend} FAILED: {exc!r}")
    total_time = time.perf_counter() - t_start

    print()
    cfg0, dt0, _ = circuit_config(p, "leimkuhler_matthews", 1000, 0.25)
    h0 = dt0 / cfg0.circuit.tau_u
    print(f"Python overhead of a long run: (N, M) = (64, 128), Leimkuhler-Matthews at its "
          f"automatic dt (h = {h0:.3g} = {h0 * p.lam_max:.2f}/lambda_max), record every "
          f"{RECORD_EVERY_STEPS} steps; "
          f"Python {platform.python_version()}, brian2 {b2.__version__}, {os.cpu_count()} CPUs")
    print("seconds of wall time; % of total = the run_inference(cfg, out=path) call")
    print(f"this machine, measured first: fresh memory filled at {fill_rate:.0f} MB/s, a file "
          f"written at {write_rate:.0f} MB/s (each 100 MB recorded costs about "
          f"{100 / fill_rate + 100 / write_rate:.2f} s at these rates)")
    for r in rows:
        tot = r["total"]

        def line(name, val, what):
            print(f"  {name:<16} {val:8.2f} s  {100 * val / tot:6.1f} %   {what}")

        print(f"\n{r['backend']}: {r['n_steps']} steps ({r['us_per_step']:.2f} us/step in the "
              f"loop), {r['samples']} samples x 128 recorded; medians of {r['repeats']} "
              f"repeat(s) of each run")
        line("loop", r["loop"], "simulation steps (run_time without recording)")
        line("recording", r["recording"], "run_time(recorded) - run_time(not recorded)")
        line("run() overhead", r["overhead"],
             f"wall_time - run_time = {r['wall_minus_run']:.2f} s"
             + (f", + {r['fixed_in_run']:.2f} s fixed cost inside run_time"
                if r["backend"] != "standalone" else ""))
        line("metrics", r["metrics"], "the same run without a file: after wall_time (u, s, "
             "figures of merit)")
        line("HDF5", r["hdf5"], f"what writing {r['hdf5_mb']:.0f} MB added: {r['after']:.2f} s "
             f"after the run - metrics (by itself: {r['hdf5_alone']:.2f} s, "
             f"{r['hdf5_cpu']:.2f} CPU-s)")
        line("total", tot, f"CPU (this process + children) of the recorded run: "
             f"{r['cpu_self']:.2f} + {r['cpu_children']:.2f} s")
        a = r["target"]
        b = a + r["metrics"]
        fr = r["target_fractions"]
        print(f"  overhead + recording + HDF5 (median of the repeats' sums) = {a:.2f} s = "
              f"{100 * a / tot:.1f} % of the total "
              f"({'<' if a < 0.1 * tot else '>='} 10%: target {'MET' if a < 0.1 * tot else 'NOT MET'}); "
              f"with metrics {100 * b / tot:.1f} %")
        if len(fr) > 1:
            print(f"  each repeat on its own: " + ", ".join(f"{100 * f:.1f} %" for f in fr))
    print(f"\ntotal benchmark time: {total_time:.1f} s (wall)")
    for backend, tb in errors:
        print(f"\n--- error: {backend}\n{tb}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
