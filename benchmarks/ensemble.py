"""Ensembles (issue 16): the cost of a chain-step when K copies step together, effective
samples per CPU-second of many chains, and a 64-chip mismatch Monte Carlo in one network.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/ensemble.py            # every table (~10 min)
    OPENBLAS_NUM_THREADS=1 python benchmarks/ensemble.py --only step,ess,chips,seeds,scale,plast

Tables (ratios are measured in this one run; lower is better for costs):

* ``step``: microseconds per chain-step (one chain advanced one step) at (N, M) = (64, 128)
  and (256, 512), spike-and-slab, no recording:

  - ``standalone K=1``: the circuit's compiled loop, one chain (binary run time / steps);
  - ``standalone K``: ``run.chains = K`` (binary run time / steps / K);
  - ``numpy batched K``: the peer a user would write, the same arithmetic on K chains at
    once with numpy (one BLAS thread): ``S = h(U); R = X - S Phi^T; D = R Phi; U += c h'(U)
    D - h lam sign(U) + sqrt(2h) randn(K, M)``, timed around the loop.

  Targets: at K = 32 to 64, (64, 128): <= 0.25x standalone K=1 and <= 0.3x numpy batched;
  (256, 512): <= 0.5x standalone K=1.
* ``ess``: minimum (over units' activity indicators) ESS per CPU-second on the 64x128
  posterior of ``ess_per_second.py``: the circuit with ``run.chains = K`` (binary loop CPU
  time), BlackJAX NUTS on one chain (15000 iterations) and NUTS vmapped over K chains (2000
  iterations each; warm-up, 1000 iterations on one chain, and compilation excluded, as the
  circuit's compilation is). Several chains: the ESS of the chains one after the other
  (:func:`pooled_min_ess`). Needs ``pip install -e '.[bench]'``.
* ``chips``: a 64-chip mismatch Monte Carlo on ``experiments/configs/slab_8_chips.toml``:
  ``circuit-sim infer`` (one network) against ``circuit-sim sweep`` over
  ``mismatch.first_chip = 0..63`` (the same 64 chips as 64 sweep points, 2 workers), end to
  end, wall time, first with fresh standalone build caches, then with the caches they left.
* ``seeds``: a learning sweep over ``run.seed = 0..31`` of ``experiments/configs/bars.toml``
  (400 patches each, standalone, 2 workers): batched into networks of seeds (each its own
  patches and starting dictionary) against ``batch = false``, end to end (each sweep
  compiles its programs in its own ``out/.cache``).
* ``scale``: (1024, 2048) inference and learning (plasticity on its own clock), K = 1,
  standalone: step cost and peak memory (RSS of the program) against the numpy reference
  loop and against (weights + state + recording).
* ``plast``: (256, 512), the plasticity forced every step, standalone K = 1, against the
  numpy reference with BLAS ``dger`` every step.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: (target, measured, limit, met) of every table run, printed at the end
TARGETS: list[tuple[str, str, bool]] = []


def target(name: str, value: float, limit: float, lower_is_better: bool = True) -> None:
    met = value <= limit if lower_is_better else value >= limit
    TARGETS.append((name, f"{value:.3g} ({'<=' if lower_is_better else '>='} {limit:g})", met))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- step
def _problem_dict(n: int, m: int, n_steps: int, dt: float, chains: int) -> dict:
    from step_cost import base_dict

    d = base_dict(n, m)
    dur = n_steps * dt
    d["run"] = {"duration": f"{dur!r} s", "dt": f"{dt!r} s", "record_every": f"{dur!r} s",
                "seed": 1, "backend": "standalone", "chains": chains, "crossbar": "dense"}
    return d


def _binary_seconds(cfg, scratch: str) -> float:
    """Run ``cfg`` (standalone) in ``scratch``; the compiled loop's own run time."""
    from circuit_sim import run_inference
    from step_cost import chdir

    info = os.path.join(scratch, "output", "results", "last_run_info.txt")
    if os.path.exists(info):
        os.remove(info)
    with chdir(scratch):
        res = run_inference(cfg, build_dir=os.path.join(scratch, "output"))
    if not np.all(np.isfinite(res.u)):
        raise FloatingPointError("the circuit diverged")
    with open(info) as f:
        return float(f.read().split()[0])


def standalone_chain_step(n: int, m: int, chains: int, target: float = 3.0) -> float:
    """Seconds per chain-step of the compiled loop (median of three runs)."""
    from circuit_sim import Config
    from step_cost import Problem

    p = Problem(n, m)
    scratch = tempfile.mkdtemp(prefix="ensemble_bench_")
    base = p.base

    def cfg(n_steps):
        d = _problem_dict(n, m, n_steps, p.dt, chains)
        d["input"] = base["input"]
        return Config.from_dict(d)

    _binary_seconds(cfg(200), scratch)                 # build
    pilot = 2000
    per = _binary_seconds(cfg(pilot), scratch) / pilot
    n_steps = int(np.clip(target / max(per, 1e-9), pilot, 5_000_000))
    times = sorted(_binary_seconds(cfg(n_steps), scratch) / n_steps for _ in range(3))
    return times[1] / chains


def numpy_batched_chain_step(n: int, m: int, chains: int, target: float = 2.0) -> float:
    """Seconds per chain-step of the batched numpy peer (best of three)."""
    from step_cost import Problem

    p = Problem(n, m)
    mod = p.model
    phi = np.ascontiguousarray(mod.dictionary)
    x = p.x
    u0, c, hl, sd = mod.u0, p.h / mod.sigma**2, p.h * mod.lam, np.sqrt(2.0 * p.h)

    def loop(n_steps):
        rng = np.random.default_rng(0)
        u = np.zeros((chains, m))
        t0 = time.process_time()
        for _ in range(n_steps):
            s = np.sign(u) * np.maximum(np.abs(u) - u0, 0.0)
            r = x - s @ phi.T
            d = r @ phi
            u += c * (np.abs(u) > u0) * d - hl * np.sign(u) + sd * rng.standard_normal((chains, m))
        el = time.process_time() - t0
        if not np.all(np.isfinite(u)):
            raise FloatingPointError("numpy peer diverged")
        return el

    per = loop(200) / 200
    n_steps = int(np.clip(target / max(per, 1e-9), 500, 2_000_000))
    return min(loop(n_steps) for _ in range(3)) / n_steps / chains


def table_step(sizes, ks) -> list[str]:
    out = [f"{'size':<9} {'K':>4} {'standalone K=1':>15} {'standalone K':>13} "
           f"{'numpy batched K':>16} {'vs K=1':>7} {'vs numpy':>8}   [us per chain-step]"]
    for n, m in sizes:
        one = standalone_chain_step(n, m, 1)
        log(f"  {n}x{m} standalone K=1: {1e6 * one:.3f} us/step")
        for k in ks:
            sk = standalone_chain_step(n, m, k)
            nk = numpy_batched_chain_step(n, m, k)
            log(f"  {n}x{m} K={k}: standalone {1e6 * sk:.3f}, numpy batched {1e6 * nk:.3f} "
                "us per chain-step")
            out.append(f"{n}x{m:<6} {k:>4} {1e6 * one:15.3f} {1e6 * sk:13.3f} {1e6 * nk:16.3f} "
                       f"{sk / one:7.3f} {sk / nk:8.3f}")
            target(f"chain-step {n}x{m} K={k} / standalone K=1", sk / one,
                   0.25 if (n, m) == (64, 128) else 0.5)
            if (n, m) == (64, 128):
                target(f"chain-step {n}x{m} K={k} / numpy batched K={k}", sk / nk, 0.3)
    return out


# ----------------------------------------------------------------------------- ess
def circuit_chains_rate(k: int, n_steps: int) -> tuple[float, float, float]:
    """(min-ESS summed over chains, binary CPU seconds, ratio of ESS to K x min ESS of one)."""
    import ess_per_second as eps
    from circuit_sim import run_inference

    p = eps.make_problem()
    cfg, _, _ = eps.circuit_config(p, "leimkuhler_matthews", n_steps, 0.25, None)
    cfg = cfg.replace(**{"run.chains": k})
    res = run_inference(cfg)
    active = res.kept(res.s) != 0                   # (n, K, M)
    return pooled_min_ess(np.swapaxes(active, 0, 1)), float(res.run_time), float(np.mean(active))


def pooled_min_ess(active: np.ndarray) -> float:
    """min-ESS over the units' activity indicators of K chains (K, n, M), the chains one
    after the other (:func:`ess_per_second.indicator_stats` on the concatenation): a unit that
    flips in a few chains only is estimated from all of them, the same way for every sampler."""
    import ess_per_second as eps

    return eps.indicator_stats(active.reshape(-1, active.shape[-1]))["min_ess"]


def nuts_rate(k: int, n_samples: int, seed: int = 7) -> tuple[float, float]:
    """(min-ESS summed over k chains, CPU seconds of sampling) for BlackJAX NUTS, one chain
    (k = 1) or vmapped over k chains, warm-up adapted on one chain and shared."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import blackjax
    import jax.numpy as jnp

    import ess_per_second as eps

    p = eps.make_problem()
    phi, x = jnp.asarray(p.phi), jnp.asarray(p.x)
    u0, lam, two_s2 = p.u0, eps.LAM, 2.0 * eps.SIGMA ** 2

    def logdensity(u):
        s = jnp.sign(u) * jnp.maximum(jnp.abs(u) - u0, 0.0)
        r = x - phi @ s
        return -(r @ r) / two_s2 - lam * jnp.sum(jnp.abs(u))

    key = jax.random.key(seed)
    k_warm, k_run = jax.random.split(key)
    start = jnp.asarray(np.random.default_rng(seed).standard_normal(eps.M) * 0.01)
    (state, params), _ = blackjax.window_adaptation(blackjax.nuts, logdensity).run(
        k_warm, start, num_steps=1000)
    kernel = blackjax.nuts(logdensity, **params)

    def one_chain(kk, st):
        def body(s, kkk):
            s, _ = kernel.step(kkk, s)
            return s, s.position
        return jax.lax.scan(body, st, jax.random.split(kk, n_samples))[1]

    keys = jax.random.split(k_run, k)
    states = jax.vmap(lambda _: state)(jnp.arange(k))
    fn = jax.jit(jax.vmap(one_chain))
    compiled = fn.lower(keys, states).compile()
    cpus = []
    for _ in range(2):
        c0 = time.process_time()
        pos = compiled(keys, states)
        jax.block_until_ready(pos)
        cpus.append(time.process_time() - c0)
    active = np.abs(np.asarray(pos)) > u0              # (k, n, M)
    return pooled_min_ess(active), min(cpus)


def table_ess(k: int) -> list[str]:
    rows = []
    ess, cpu, act = circuit_chains_rate(k, 1_500_000 // k * 4)
    rows.append((f"circuit LM, run.chains = {k} [binary loop]", ess, cpu))
    log(f"  circuit {k} chains: min-ESS {ess:.0f} in {cpu:.2f} s (activity {act:.3f})")
    try:
        e1, c1 = nuts_rate(1, 15000)
        rows.append(("NUTS (BlackJAX), 1 chain", e1, c1))
        ek, ck = nuts_rate(k, 2000)
        rows.append((f"NUTS (BlackJAX), vmap over {k} chains", ek, ck))
    except ImportError as exc:
        log(f"  NUTS skipped: {exc} (pip install -e '.[bench]')")
    out = [f"{'sampler':<44} {'min-ESS':>8} {'CPU s':>8} {'ESS/CPU-s':>10} {'circuit / this':>15}"]
    base = rows[0][1] / rows[0][2]
    for name, e, c in rows:
        out.append(f"{name:<44} {e:8.0f} {c:8.2f} {e / c:10.1f} {base / (e / c):15.2f}")
    for (name, e, c), limit in zip(rows[1:], (10.0, 2.0)):
        target(f"ESS/CPU-s circuit ({k} chains) / {name}", base / (e / c), limit, False)
    return out


# ----------------------------------------------------------------------------- chips
SWEEP = """base = "{base}"
description = "the 64 chips of slab_8_chips.toml as 64 sweep points"
batch = false  # each point alone (a sweep would otherwise batch them itself)
[grid]
"mismatch.chips" = [1]
"mismatch.first_chip" = [{chips}]
"""


def _timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def table_chips(n_chips: int = 64, workers: int = 2) -> list[str]:
    """Both ways twice: with fresh standalone build caches, then again with the caches the
    first runs left (a user's next Monte Carlo of the same design)."""
    cfg = ROOT / "experiments" / "configs" / "slab_8_chips.toml"
    tmp = Path(tempfile.mkdtemp(prefix="chips_bench_"))
    exe = [sys.executable, "-m", "circuit_sim.cli"]
    sweep = tmp / "chips_sweep.toml"
    sweep.write_text(SWEEP.format(base=cfg, chips=", ".join(map(str, range(n_chips)))))
    rows = []
    for cache in ("fresh", "warm"):
        env = dict(os.environ, CIRCUIT_SIM_CACHE=str(tmp / "cache_batch"))
        t_batch = _timed(exe + ["infer", str(cfg), "--quiet", "--set",
                                f"mismatch.chips={n_chips}", "--out",
                                str(tmp / f"batch_{cache}.h5")], env)
        log(f"  one network of {n_chips} chips ({cache} cache): {t_batch:.1f} s wall")
        env = dict(os.environ, CIRCUIT_SIM_CACHE=str(tmp / "cache_sweep"))
        t_sweep = _timed(exe + ["sweep", str(sweep), "--out", str(tmp / f"sweep_{cache}"),
                                "--workers", str(workers), "--quiet"], env)
        log(f"  {n_chips} sweep points ({workers} workers, {cache} cache): {t_sweep:.1f} s wall")
        rows.append((cache, t_batch, t_sweep))
    out = [f"{n_chips}-chip mismatch Monte Carlo, slab_8 (6x8), end to end, wall:",
           f"  {'build cache':<12} {'one network':>12} {f'{n_chips} sweep points':>17} {'speed-up':>9}"]
    for cache, tb, ts in rows:
        out.append(f"  {cache:<12} {tb:10.1f} s {ts:15.1f} s {ts / tb:8.2f}x")
        target(f"{n_chips}-chip Monte Carlo speed-up ({cache} caches)", ts / tb, 5.0, False)
    return out


# ----------------------------------------------------------------------------- seeds
SEED_SWEEP = """base = "{base}"
description = "bars learning over {n} seeds (each its own patches and starting dictionary)"
batch = {batch}
[overrides]
"input.n_patches" = {patches}
"learning.snapshot_every" = "20 us"
[grid]
"run.seed" = [{seeds}]
"""


def table_seeds(n_seeds: int = 32, workers: int = 2, patches: int = 400) -> list[str]:
    """A learning sweep over ``run.seed`` (``experiments/configs/bars.toml``, the first
    ``patches`` patches: 80 us of circuit time, standalone): batched into networks of seeds
    (``run.seeds``) against ``batch = false`` (each point alone), end to end, wall time.
    Each sweep builds its programs in its own ``out/.cache`` (per worker), so both include
    their compilations: one per program length of a batch of seeds, one per worker alone."""
    cfg = ROOT / "experiments" / "configs" / "bars.toml"
    tmp = Path(tempfile.mkdtemp(prefix="seeds_bench_"))
    exe = [sys.executable, "-m", "circuit_sim.cli"]
    seeds = ", ".join(map(str, range(n_seeds)))
    times = {}
    for batch in ("true", "false"):
        sweep = tmp / f"seeds_{batch}.toml"
        sweep.write_text(SEED_SWEEP.format(base=cfg, n=n_seeds, batch=batch, patches=patches,
                                           seeds=seeds))
        times[batch] = _timed(exe + ["sweep", str(sweep), "--out", str(tmp / f"out_{batch}"),
                                     "--workers", str(workers), "--quiet"], dict(os.environ))
        log(f"  {n_seeds} learning seeds, batch = {batch}: {times[batch]:.1f} s wall")
    ratio = times["false"] / times["true"]
    return [f"{n_seeds}-seed learning sweep, bars 8x8 (64x16), {patches} patches each, "
            f"{workers} workers, end to end with each sweep's compilations, wall:",
            f"  batched (networks of {-(-n_seeds // workers)} seeds) {times['true']:8.1f} s",
            f"  each point alone              {times['false']:8.1f} s   speed-up {ratio:.2f}x"]


# ----------------------------------------------------------------------------- scale
def _scale_config(n: int, m: int, n_steps: int, record: int, mode: str = "off"):
    """The (n, m) problem of ``step_cost``; ``mode`` "learn-mr": plasticity on (its own
    clock, the circuit's automatic stride, tau_Phi = step_cost.TAU_PHI tau_u)."""
    from circuit_sim import Config
    from step_cost import TAU_PHI, Problem

    p = Problem(n, m)
    d = _problem_dict(n, m, n_steps, p.dt, 1)
    d["input"] = p.base["input"]
    d["run"]["record_every"] = f"{record * p.dt!r} s"
    if mode == "learn-mr":
        d["learning"] = {"dictionary_time_constant": f"{TAU_PHI * p.tau!r} s"}
    return Config.from_dict(d), p


def _watch_peak_rss(program: str, stop, peaks: list) -> None:
    """Until ``stop`` is set: every 5 ms, the peak RSS (``VmHWM``, bytes) of every running
    process whose executable is ``program``, appended to ``peaks``. (The peak of a process
    forked from this one would count this process's pages until the exec, and
    RUSAGE_CHILDREN would also count the compiler; the high-water mark is reached when the
    program allocates its arrays, long before it ends.)"""
    while not stop.is_set():
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/exe") != program:
                    continue
                with open(f"/proc/{pid}/status") as f:
                    peaks += [int(line.split()[1]) * 1024 for line in f
                              if line.startswith("VmHWM:")]
            except OSError:
                pass
        time.sleep(0.005)


def scale_child(scratch: str, n: int, m: int, n_steps: int, record: int, mode: str) -> None:
    """In a fresh process: run the (already built) program; print its seconds per step, the
    program's peak RSS and this process's (bytes)."""
    import threading

    cfg, _ = _scale_config(n, m, n_steps, record, mode)
    stop, peaks = threading.Event(), []
    watch = threading.Thread(target=_watch_peak_rss, daemon=True, args=(
        os.path.realpath(os.path.join(scratch, "output", "main")), stop, peaks))
    watch.start()
    try:
        t = _binary_seconds(cfg, scratch) / n_steps
    finally:
        stop.set()
        watch.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{t!r} {max(peaks, default=0)} {own}")


def table_scale(n: int = 1024, m: int = 2048, n_steps: int = 2000, record: int = 10) -> list[str]:
    from step_cost import numpy_reference

    out = []
    for mode, what in (("off", "inference"), ("learn-mr", "learning (plasticity on its own "
                                                         "clock)")):
        cfg, p = _scale_config(n, m, 200, record, mode)
        scratch = tempfile.mkdtemp(prefix="scale_bench_")
        _binary_seconds(cfg, scratch)                   # build (compilers are children too)
        res = subprocess.run([sys.executable, __file__, "--scale-child", scratch, str(n),
                              str(m), str(n_steps), str(record), mode], check=True,
                             capture_output=True, text=True).stdout.split()
        t, child, own = float(res[-3]), int(res[-2]), int(res[-1])
        ref = numpy_reference(p, 300, mode) / 300
        weights, state = 8 * n * m, 8 * 12 * (n + m)
        rec = 8 * m * (n_steps // record + 1)
        need = weights + state + rec
        target(f"({n}, {m}) {what}: step / numpy reference", t / ref, 1.0)
        target(f"({n}, {m}) {what}: peak memory of the program / (weights + state + "
               "recording)", child / need, 1.5)
        out += [f"({n}, {m}) {what}, standalone, K = 1, {n_steps} steps, recording every "
                f"{record} steps:",
                f"  step {1e3 * t:.3f} ms; numpy reference loop {1e3 * ref:.3f} ms: "
                f"{t / ref:.3f}x",
                f"  peak RSS: the compiled program {child / 1e6:.1f} MB, the Python process "
                f"{own / 1e6:.1f} MB; weights {weights / 1e6:.1f} MB + state {state / 1e6:.2f} "
                f"MB + recording {rec / 1e6:.2f} MB = {need / 1e6:.1f} MB: program "
                f"{child / need:.2f}x"]
    return out


# ----------------------------------------------------------------------------- plasticity
def table_plasticity(n: int = 256, m: int = 512, n_steps: int = 3000) -> list[str]:
    """The plasticity forced every step (``plasticity_dt = dt``) at (n, m), K = 1, standalone
    (a Brian2 synapse equation over the N M conductances every step) against the numpy
    reference doing the same rank-1 update with BLAS ``dger`` every step (median of 3 each)."""
    from step_cost import Problem, numpy_reference

    p = Problem(n, m)
    scratch = tempfile.mkdtemp(prefix="plast_bench_")
    _binary_seconds(p.config(200, "learn", "standalone"), scratch)  # build
    t = sorted(_binary_seconds(p.config(n_steps, "learn", "standalone"), scratch) / n_steps
               for _ in range(3))[1]
    k = n_steps // 3
    ref = sorted(numpy_reference(p, k, "learn") / k for _ in range(3))[1]
    target(f"({n}, {m}) plasticity every step: step / numpy reference", t / ref, 1.0)
    return [f"({n}, {m}) plasticity every step, standalone, K = 1: step {1e6 * t:.1f} us; "
            f"numpy reference (dger every step) {1e6 * ref:.1f} us: {t / ref:.3f}x"]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--scale-child"]:
        scale_child(argv[1], *map(int, argv[2:6]), argv[6])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="step,ess,chips,seeds,scale,plast")
    ap.add_argument("--ks", default="32,64", help="ensemble sizes of the step table")
    args = ap.parse_args(argv)
    import brian2 as b2

    b2.BrianLogger.log_level_error()
    only = set(args.only.split(","))
    t0 = time.perf_counter()
    ks = [int(k) for k in args.ks.split(",")]
    if "step" in only:
        print("\n".join(table_step([(64, 128), (256, 512)], ks)), flush=True)
    if "chips" in only:
        print("\n".join(table_chips()), flush=True)
    if "seeds" in only:
        print("\n".join(table_seeds()), flush=True)
    if "scale" in only:
        print("\n".join(table_scale()), flush=True)
    if "plast" in only:
        print("\n".join(table_plasticity()), flush=True)
    if "ess" in only:  # last: with JAX loaded in this process the wall times of the chips
        # table's subprocesses were 1.5-1.9x longer (32-39 s against 21-22 s without it)
        print("\n".join(table_ess(max(ks))), flush=True)
    print("\ntargets (issue 16):")
    for name, value, met in TARGETS:
        print(f"  {'MET    ' if met else 'NOT MET'} {name}: {value}")
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
