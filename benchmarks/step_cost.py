"""Cost of one simulated time step: Brian2 backends versus a plain numpy Euler loop.

Usage::

    python benchmarks/step_cost.py                       # full table (~4-6 min, 2 cores)
    python benchmarks/step_cost.py --quick               # short runs, rough numbers
    python benchmarks/step_cost.py --sizes 16x32,64x128 --backends numpy,cython

Prints one table: milliseconds per simulated step for every (N, M) size, with and without
recording, for

* ``numpy-ref``       -- the reference: a plain numpy Euler-Maruyama loop, one chain, BLAS
  at one thread (``OPENBLAS_NUM_THREADS=1`` is set before numpy is imported). Per step::

      s = h(u);  r = x - Phi @ s;  drive = Phi.T @ r
      u += h * (h'(u) * drive / sigma^2 - lam * sign(u)) + noise[k]

  with the noise drawn beforehand into a preallocated ``(n, M)`` array (``sqrt(2 T h)``
  scale, T = 1). The soft threshold is written inline (the same expression as
  ``models.soft_threshold``, checked against it once) because the public function's
  argument validation alone costs ~2 us per call, a large share of a step at small sizes.
  "With recording" copies ``u`` into a preallocated ``(n, M)`` array every step. "learn"
  adds the rank-1 update ``dger`` every step; "learn-mr" every ``K`` steps with the step
  ``K h`` (``K``: the circuit's automatic plasticity stride, ``tau_u / 4`` over ``dt``,
  see ``Config.plasticity_stride``), so that both sides do the same arithmetic. Timed
  around the loop only (see *Clocks*); best of ``--repeats``.
* ``euler_maruyama``  -- the library's batched sampler ``models.euler_maruyama`` with one
  chain (``u_init`` of shape (1, M)), ``record_every=1`` (recording) or ``n_steps`` (not).
  It draws its noise inside the loop. Best of ``--repeats``.
* ``brian2-numpy``, ``brian2-cython``, ``brian2-standalone`` -- the circuit, driven through
  the public API ``circuit_sim.run_inference`` (thermal + injected noise filled to T = 1,
  Laplace prior, pi = 0.2, sigma = 0.5, dictionary drawn from seed 1). The input is
  ``x = Phi s_true + sigma * noise`` with ~20% of ``s_true`` nonzero, so that a realistic
  fraction of units is active. ``dt = 0.5 * max_stable_step * tau_u`` (the cost of a step
  does not depend on dt). "Without recording" is ``record_every = duration`` (one sample);
  "with recording" is ``record_every = dt`` (every step).

Clocks
------
By default (``--clock cpu``) everything is timed in process CPU time
(``time.process_time``), not wall time: the machine has 2 cores and is often shared
(test suites, compilers), and CPU time of a single-threaded loop is far less sensitive to
time slicing than wall time (it still feels contention for caches and memory bandwidth).
``--clock wall`` uses ``time.perf_counter`` for the loops and ``res.wall_time`` for the
runtime backends instead.

How a Brian2 step is timed
--------------------------
``run_inference`` also builds the network, generates / compiles code and reads back the
monitor, not only the steps. Its ``wall_time`` covers all that; with ``--clock cpu`` the
script takes the process CPU time spent in ``run_inference`` minus the CPU time spent in
``InferenceResult.from_run`` (the figures of merit computed after ``wall_time`` is
taken; O(n) when recording), found by wrapping ``from_run`` for the duration of the call.
For the runtime backends (numpy, cython) the per-step cost is the slope between two run
lengths::

    ms/step = (t(n2) - t(n1)) / (n2 - n1)

after a warm-up run (which fills Brian2's cython cache). ``n1`` is small, ``n2`` is chosen
adaptively so that ``t(n2) - t(n1)`` is about ``--target`` seconds (a pilot slope first,
one refinement if the difference came out too small), capped by ``--max-steps`` (and, when
recording, by ~10 million recorded values) and, for the slow numpy backend, by a time cap
(``--numpy-cap``). With ``--repeats`` > 1 the (n1, n2) pair is repeated and the median
slope reported.

Standalone (``cpp_standalone``) rebuilds the C++ project on every run. The binary writes
its own run time (Brian2's ``Network::_last_run_time``, the network's main loop only: no
compilation, no result files; measured with ``std::clock``, i.e. the process's CPU time,
which equals wall time for this single-threaded loop on an idle machine) to
``results/last_run_info.txt``; ``brian2.device._last_run_time`` holds the same number,
but ``circuit_sim``'s backend context calls ``device.reinit()`` before ``run_inference``
returns, which clears it, so the script reads the file. Each
standalone configuration gets its own scratch directory, reused between its runs so that
only ``main.o`` is recompiled (observed: about 1 s per run). Reported: median over the
repeats of ``binary_time(n2) / n2``; the ``method`` column also gives the wall-time slope
``(wall(n2) - wall(n1)) / (n2 - n1)`` as a cross-check (it additionally includes writing
and reading back the recorded samples).

NOTE: ``run_inference`` currently ignores its ``build_dir`` argument for standalone (it
calls ``device.build()`` without a directory, so Brian2 builds into ``./output`` of the
current working directory). The script therefore ``chdir``s into its scratch directory for
every standalone run, so nothing is written into the repository.

The ``ratio`` column is ``ms/step / ms/step of numpy-ref`` at the same (N, M) and the same
recording flag, measured in the same run of this script.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy is imported (single-thread BLAS)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

import models  # noqa: E402

BRIAN_BACKENDS = ("numpy", "cython", "standalone")
#: The clock for the loops and runtime backends: set from ``--clock`` in :func:`main`.
CLOCK = {"now": time.process_time, "name": "cpu"}
DEFAULT_SIZES = ((16, 32), (64, 128), (256, 512))
TEMPERATURE = 1.0
SEED = 1
#: Rows of the table: no recording, recording every step, plasticity on (no recording).
MODES = ("off", "record", "learn", "learn-mr")
#: tau_Phi / tau_u for the "learn" rows.
TAU_PHI = 5000.0


# ----------------------------------------------------------------------------- problem
def base_dict(n: int, m: int) -> dict:
    """A config dict (without run.duration / dt / record_every / backend)."""
    return {
        "model": {"n_features": n, "n_components": m, "prior": "laplace", "lam": 1.0,
                  "pi": 0.2, "sigma": 0.5},
        "input": {"x": [0.0] * n},
        "circuit": {"capacitance": "10 fF", "transconductance": "1 uS",
                    "volts_per_unit": "10 mV", "temperature": "300 K"},
        "noise": [{"kind": "thermal"}, {"kind": "injected", "fill_to": TEMPERATURE}],
        "run": {"duration": "1 us", "seed": SEED},
    }


class Problem:
    """One (N, M) problem: model, input x, step h, dt and a config factory."""

    def __init__(self, n: int, m: int):
        from circuit_sim import Config

        self.n, self.m = n, m
        self._Config = Config
        self.base = base_dict(n, m)
        cfg0 = Config.from_dict(self.base)
        model = cfg0.build_model()  # dictionary drawn from run.seed, independent of x
        rng = np.random.default_rng(12345)
        s_true = rng.laplace(size=m) * (rng.random(m) < 0.2)
        self.x = model.dictionary @ s_true + model.sigma * rng.standard_normal(n)
        self.base["input"]["x"] = [float(v) for v in self.x]
        self.model = model
        self.tau = cfg0.circuit.tau_u
        self.h = 0.5 * models.max_stable_step(model)
        self.dt = self.h * self.tau
        #: plasticity stride K of the "learn-mr" rows (the circuit's automatic choice)
        self.k_plast = self.config(10, "learn-mr", "standalone").plasticity_stride()

    def config(self, n_steps: int, mode: str, backend: str):
        """``mode``: "off" (no recording, no learning), "record" (every step) or "learn"
        (plasticity on, tau_Phi = TAU_PHI tau_u, no recording)."""
        record = mode == "record"
        d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.base.items()}
        if mode == "learn":  # plasticity every step
            d["learning"] = {"dictionary_time_constant": f"{TAU_PHI * self.tau!r} s",
                             "plasticity_dt": f"{self.dt!r} s"}
        elif mode == "learn-mr":  # plasticity on its own clock (automatic K), dense crossbar
            d["learning"] = {"dictionary_time_constant": f"{TAU_PHI * self.tau!r} s"}
        dur = n_steps * self.dt
        d["run"] = {"duration": f"{dur!r} s", "dt": f"{self.dt!r} s",
                    "record_every": f"{(self.dt if record else dur)!r} s",
                    "seed": SEED, "backend": backend}
        if mode == "learn-mr":
            d["run"]["crossbar"] = "dense"
        cfg = self._Config.from_dict(d)
        assert cfg.n_steps() == n_steps, (cfg.n_steps(), n_steps)
        assert cfg.record_stride() == (1 if record else n_steps), cfg.record_stride()
        return cfg


# ----------------------------------------------------------------------------- references
def _threshold(u, u0):
    return np.sign(u) * np.maximum(np.abs(u) - u0, 0.0)


def numpy_reference(p: Problem, n_steps: int, mode: str) -> float:
    """Seconds for ``n_steps`` plain numpy Euler steps (loop only; noise drawn every step).

    Every mode keeps one Fortran-ordered ``Phi``: ``Phi s`` and ``Phi^T r`` (through the view
    ``Phi.T``) both read it. (Until issue 16's last runs the modes without learning kept a
    second, C-ordered copy of ``Phi^T``; at (1024, 2048) the two copies no longer fit in the
    cache and that reference took 0.83-0.90 ms a step where this one takes 0.44-0.47; at
    (64, 128) and (256, 512) the layouts were within 10%, the one copy never slower.)
    "learn": plus the rank-1 dictionary update ``Phi += (h / tau_Phi) r s^T / sigma^2`` with
    BLAS ``dger`` (in place)."""
    from scipy.linalg.blas import dger

    mod = p.model
    x, u0, lam = p.x, mod.u0, mod.lam
    c = p.h / mod.sigma**2
    hl = p.h * lam
    sd = np.sqrt(2.0 * TEMPERATURE * p.h)
    rng = np.random.default_rng(0)
    record = mode == "record"
    out = np.empty((n_steps, p.m)) if record else None
    u = np.zeros(p.m)
    if mode in ("learn", "learn-mr"):
        kp = p.k_plast if mode == "learn-mr" else 1  # dger every kp steps, step kp h
        phi = np.asfortranarray(mod.dictionary.copy())
        alpha = kp * p.h / TAU_PHI / mod.sigma**2
        t0 = CLOCK["now"]()
        for k in range(n_steps):
            s = np.sign(u) * np.maximum(np.abs(u) - u0, 0.0)
            r = x - phi @ s
            drive = phi.T @ r
            u += c * (np.abs(u) > u0) * drive - hl * np.sign(u) + sd * rng.standard_normal(p.m)
            if k % kp == 0:
                dger(alpha, r, s, a=phi, overwrite_a=True)
        elapsed = CLOCK["now"]() - t0
        if not np.all(np.isfinite(phi)):
            raise FloatingPointError("numpy reference diverged")
        return elapsed
    phi = np.asfortranarray(mod.dictionary)
    phit = phi.T  # a view: the same bytes
    t0 = CLOCK["now"]()
    for k in range(n_steps):
        s = np.sign(u) * np.maximum(np.abs(u) - u0, 0.0)
        r = x - phi @ s
        drive = phit @ r
        u += c * (np.abs(u) > u0) * drive - hl * np.sign(u) + sd * rng.standard_normal(p.m)
        if record:
            out[k] = u
    elapsed = CLOCK["now"]() - t0
    if not np.all(np.isfinite(u)):
        raise FloatingPointError("numpy reference diverged")
    return elapsed


def em_reference(p: Problem, n_steps: int, mode: str) -> float:
    """Seconds for ``models.euler_maruyama`` with one chain."""
    rng = np.random.default_rng(0)
    u_init = np.zeros((1, p.m))
    t0 = CLOCK["now"]()
    out = models.euler_maruyama(p.model, p.x, u_init, n_steps=n_steps, step=p.h,
                                temperature=TEMPERATURE, rng=rng,
                                record_every=1 if mode == "record" else n_steps)
    elapsed = CLOCK["now"]() - t0
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("euler_maruyama diverged")
    return elapsed


def time_loop(fn, p: Problem, record: bool, target: float, repeats: int,
              max_steps: int) -> tuple[float, int]:
    """ms/step of a reference (best of ``repeats``), with n chosen to take ~``target`` s."""
    pilot = 200
    t = fn(p, pilot, record)
    n = int(np.clip(target / max(t / pilot, 1e-9), 1000, max_steps))
    # keep the preallocated (n, M) arrays below ~100 MB each
    n = int(min(n, max(1000, 12_000_000 // p.m)))
    best = min(fn(p, n, record) for _ in range(repeats))
    return 1e3 * best / n, n


# ----------------------------------------------------------------------------- brian2
@contextlib.contextmanager
def chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _from_run_cpu_time():
    """Temporarily wrap ``InferenceResult.from_run`` to add up the CPU time spent in it."""
    from circuit_sim import InferenceResult

    acc = {"cpu": 0.0}
    original = InferenceResult.__dict__["from_run"]
    func = original.__func__

    def timed(cls, *a, **kw):
        c0 = time.process_time()
        try:
            return func(cls, *a, **kw)
        finally:
            acc["cpu"] += time.process_time() - c0

    InferenceResult.from_run = classmethod(timed)
    try:
        yield acc
    finally:
        InferenceResult.from_run = original


class Brian2Runner:
    """Runs one (problem, backend, recording) configuration at chosen lengths."""

    def __init__(self, p: Problem, backend: str, mode: str):
        self.p, self.backend, self.mode = p, backend, mode
        self.record = mode == "record"
        self.scratch = (tempfile.mkdtemp(prefix="step_cost_standalone_")
                        if backend == "standalone" else None)

    def __call__(self, n_steps: int) -> tuple[float, float | None]:
        """Run ``n_steps``; return (time of the run, binary run time or None).

        The time of the run is ``res.wall_time`` with ``--clock wall``; with ``--clock cpu``
        it is the process CPU time spent in ``run_inference`` minus that spent in
        ``InferenceResult.from_run`` (figures of merit, computed after ``wall_time`` is
        taken, O(n) when recording).
        """
        from circuit_sim import run_inference

        cfg = self.p.config(n_steps, self.mode, self.backend)
        if self.scratch is None:
            with _from_run_cpu_time() as post:
                c0 = time.process_time()
                res = run_inference(cfg)
                cpu = time.process_time() - c0 - post["cpu"]
            binary = None
        else:
            info = os.path.join(self.scratch, "output", "results", "last_run_info.txt")
            with contextlib.suppress(FileNotFoundError):
                os.remove(info)
            # run_inference builds into ./output (build_dir is not honoured): work in scratch
            with chdir(self.scratch):
                res = run_inference(cfg, build_dir=os.path.join(self.scratch, "output"))
            with open(info) as f:
                binary = float(f.read().split()[0])
        expected = n_steps if self.record else 1
        if res.u.shape != (expected, self.p.m):
            raise RuntimeError(f"unexpected sample array shape {res.u.shape}, "
                               f"expected ({expected}, {self.p.m})")
        if not np.all(np.isfinite(res.u)):
            raise FloatingPointError("circuit diverged")
        if self.scratch is None and CLOCK["name"] == "cpu":
            return cpu, binary
        return res.wall_time, binary

    def close(self):
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def time_brian2(p: Problem, backend: str, mode: str, *, target: float, repeats: int,
                max_steps: int, time_cap: float, log) -> tuple[float, int, str]:
    """ms/step of one Brian2 backend; returns (ms/step, n2, method description)."""
    run = Brian2Runner(p, backend, mode)
    if mode == "record":  # keep the recorded (n, M) samples below ~80 MB
        max_steps = min(max_steps, max(5000, 10_000_000 // p.m))
    try:
        n1 = 200
        run(n1)  # warm-up: cython compiles (cached afterwards); standalone full C++ build
        if backend == "standalone":
            # binary run time is free of build overhead: pilot slope from it directly
            w1, b1 = run(n1)
            n_pilot = 2000
            w_p, b_p = run(n_pilot)
            per = max(b_p / n_pilot, 1e-8)
            n2 = int(np.clip(target / per, n_pilot, max_steps))
            n2 = int(min(n2, max(n_pilot, time_cap / per)))
            walls, binaries = [], []
            for _ in range(repeats):
                w2, bt = run(n2)
                walls.append(w2)
                binaries.append(bt / n2)
            ms = 1e3 * statistics.median(binaries)
            wall_slope = 1e3 * (statistics.median(walls) - w1) / (n2 - n1)
            log(f"      standalone n={n2}: binary {ms:.4g} ms/step, wall slope "
                f"{wall_slope:.4g} ms/step")
            return ms, n2, (f"binary time/n, median of {repeats}; wall slope "
                            f"{wall_slope:.3g}")
        # runtime backends: slope between two lengths
        t1, _ = run(n1)
        n_pilot = 5 * n1
        t_p, _ = run(n_pilot)
        per = max((t_p - t1) / (n_pilot - n1), t_p / n_pilot / 20, 1e-7)
        n2 = n1 + int(target / per)
        n2 = int(min(max(n2, n_pilot), max_steps, n1 + time_cap / per))
        t2, _ = run(n2)
        if t2 - t1 < 0.5 * target and n2 < max_steps:  # pilot overestimated: refine once
            per = max((t2 - t1) / (n2 - n1), 1e-7)
            n2 = int(min(n1 + target / per, max_steps, n1 + time_cap / per))
            t2, _ = run(n2)
        slopes = [(t2 - t1) / (n2 - n1)]
        for _ in range(repeats - 1):
            a, _ = run(n1)
            b, _ = run(n2)
            slopes.append((b - a) / (n2 - n1))
        ms = 1e3 * statistics.median(slopes)
        log(f"      {backend} n1={n1} n2={n2}: slopes "
            + ", ".join(f"{1e3 * s:.4g}" for s in slopes) + " ms/step")
        return ms, n2, f"{CLOCK['name']} slope n1={n1}, median of {len(slopes)}"
    finally:
        run.close()


# ----------------------------------------------------------------------------- main
def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        a, b = item.lower().strip().split("x")
        sizes.append((int(a), int(b)))
    return sizes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(f"{n}x{m}" for n, m in DEFAULT_SIZES),
                    help="comma-separated NxM list (default: %(default)s)")
    ap.add_argument("--backends", default=",".join(BRIAN_BACKENDS),
                    help="comma-separated Brian2 backends (default: %(default)s); "
                         "the numpy references always run")
    ap.add_argument("--quick", action="store_true", help="short runs, one repeat")
    ap.add_argument("--target", type=float, default=None,
                    help="seconds of measured simulation per timing (default 2, quick 0.3)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats per measurement (default 3, quick 1)")
    ap.add_argument("--max-steps", type=int, default=2_000_000)
    ap.add_argument("--numpy-cap", type=float, default=None,
                    help="max seconds of simulation per brian2-numpy run (default 12, quick 3)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="time loops and runtime backends by process CPU time (default; "
                         "robust to other load on the machine) or wall time")
    ap.add_argument("--verbose", action="store_true", help="keep Brian2's warnings")
    args = ap.parse_args(argv)

    sizes = parse_sizes(args.sizes)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in BRIAN_BACKENDS:
            ap.error(f"unknown backend {b!r}; choose from {', '.join(BRIAN_BACKENDS)}")
    target = args.target if args.target is not None else (0.3 if args.quick else 2.0)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    numpy_cap = args.numpy_cap if args.numpy_cap is not None else (3.0 if args.quick else 12.0)

    if args.clock == "wall":
        CLOCK.update(now=time.perf_counter, name="wall")
    import brian2 as b2
    if not args.verbose:
        b2.BrianLogger.log_level_error()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    rows, errors = [], []
    for n, m in sizes:
        p = Problem(n, m)
        u = np.random.default_rng(3).standard_normal(m) * 2
        assert np.array_equal(_threshold(u, p.model.u0), models.soft_threshold(u, p.model.u0))
        log(f"(N, M) = ({n}, {m}): h = {p.h:.4g}, dt = {p.dt:.4g} s, u0 = {p.model.u0:.4g}, "
            f"learn-mr plasticity stride K = {p.k_plast}")
        for mode in MODES:
            rec = record = mode
            ref_ms, ref_n = time_loop(numpy_reference, p, record, target / 2, repeats,
                                      args.max_steps)
            rows.append((n, m, "numpy-ref", rec, ref_ms, ref_n, f"loop, best of {repeats}"))
            log(f"  mode={rec}: numpy-ref {ref_ms:.4g} ms/step (n={ref_n})")
            if not mode.startswith("learn"):
                em_ms, em_n = time_loop(em_reference, p, record, target / 2, repeats,
                                        args.max_steps)
                rows.append((n, m, "euler_maruyama", rec, em_ms, em_n,
                             f"loop, best of {repeats}"))
                log(f"  mode={rec}: euler_maruyama {em_ms:.4g} ms/step (n={em_n})")
            for backend in backends:
                t0 = time.perf_counter()
                cap = numpy_cap if backend == "numpy" else 60.0
                try:
                    ms, n2, how = time_brian2(p, backend, record, target=target,
                                              repeats=repeats, max_steps=args.max_steps,
                                              time_cap=cap, log=log)
                except Exception as exc:  # report and go on with the other rows
                    errors.append((n, m, backend, rec, traceback.format_exc()))
                    rows.append((n, m, f"brian2-{backend}", rec, float("nan"), 0,
                                 f"ERROR: {type(exc).__name__}: {exc}"[:100]))
                    log(f"  rec={rec}: brian2-{backend} FAILED: {exc!r}")
                    continue
                rows.append((n, m, f"brian2-{backend}", rec, ms, n2, how))
                log(f"  rec={rec}: brian2-{backend} {ms:.4g} ms/step "
                    f"({time.perf_counter() - t0:.1f} s)")
    total = time.perf_counter() - t_start

    # ------------------------------------------------------------------ table
    ref = {(r[0], r[1], r[3]): r[4] for r in rows if r[2] == "numpy-ref"}
    print()
    print(f"ms per simulated step (Python {platform.python_version()}, numpy {np.__version__}, "
          f"brian2 {b2.__version__}, {os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS=1)")
    print(f"clock: {CLOCK['name']} time (standalone: the binary's own std::clock time); "
          f"ratio = ms/step / numpy-ref ms/step at the same (N, M) and mode (off: no recording; record: every step; learn: plasticity every step; learn-mr: plasticity every K steps with step K dt, K = the circuit's automatic plasticity_dt / dt, in the reference too)")
    head = (f"{'N':>5} {'M':>5}  {'backend':<18} {'mode':<9} {'ms/step':>10} "
            f"{'ratio':>8} {'steps':>9}  method")
    print(head)
    print("-" * len(head))
    for n, m, name, rec, ms, steps, how in rows:
        ratio = ms / ref[(n, m, rec)] if np.isfinite(ms) else float("nan")
        print(f"{n:>5} {m:>5}  {name:<18} {rec:<9} {ms:>10.4f} {ratio:>8.2f} {steps:>9}  {how}")
    print(f"\ntotal benchmark time: {total:.1f} s")
    for n, m, backend, rec, tb in errors:
        print(f"\n--- error: brian2-{backend} at ({n}, {m}), recording={rec}\n{tb}",
              file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
