"""Time to an answer: effective samples per CPU-second on a 64x128 spike-and-slab posterior.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/ess_per_second.py            # ~4-5 min, 2 cores
    python benchmarks/ess_per_second.py --quick                            # ~1 min, rough
    python benchmarks/ess_per_second.py --skip em002,mala                  # leave rows out

Benchmark-only dependencies (not dependencies of circuit-sim; the NUTS row is skipped
with a note when they are missing)::

    pip install blackjax jax          # tested with blackjax 1.7.1, jax/jaxlib 0.10.2 (CPU)

The posterior
-------------
N = 64, M = 128, Laplace prior on ``u`` (lam = 1), pi = 0.2 (``u0 = models.u0_from_pi(1,
0.2)``), sigma = 0.5, signed soft threshold (``positive = False``), dictionary
``models.random_dictionary(64, 128, np.random.default_rng(1))``, and
``x = Phi s_true + sigma * noise`` with ``s_true`` drawn from the prior (Bernoulli(pi) x
Laplace(1); ``np.random.default_rng(12345)``, the same input as ``step_cost.py``).
Energy ``E(u) = |x - Phi h(u)|^2 / (2 sigma^2) + lam sum|u|``, ``h(u) = sign(u) max(|u| -
u0, 0)``; every sampler targets ``exp(-E)``.

Figure of merit
---------------
The activity indicators ``1[s_i != 0]`` (i = 1..M) of the chain after burn-in; indicators
that are constant over the whole kept chain are excluded (their ESS is undefined) and
counted in the ``excl`` column. Per indicator the ESS is
``models.effective_sample_size`` (Sokal's automatic window, c = 5); the figure of merit is
the minimum over indicators, divided by the CPU seconds timed. Because the minimum of ~125
noisy estimates is biased low for short chains, the run lengths are chosen so that every
sampler reaches a min-ESS of several hundred; the ``q10`` column (10th percentile of the
per-indicator ESS, per CPU-second) is a less noisy companion.

Samplers (all single-chain, float64, one CPU thread)
----------------------------------------------------
* ``circuit LM`` / ``circuit Euler`` -- ``circuit_sim.run_inference`` on backend
  ``standalone`` (Brian2 ``cpp_standalone``) with ``integrator = "leimkuhler_matthews"``
  resp. ``"euler"`` and no ``dt``: the config picks ``h = dt/tau_u = min(1/lambda_max, 0.1)`` (LM,
  capped at 0.1) resp. ``0.02/lambda_max`` (Euler) and rounds dt to two digits. 10 fF,
  1 uS (tau_u = 10 ns), 10 mV per unit, thermal noise topped up to T_eff = 1 by injected
  noise; recorded every ~0.25 tau_u; ``res.kept`` drops the first 10% (the chain starts at
  u = 0). Three timings per run, one row each:

  - ``[binary loop]``: ``res.run_time``, the compiled binary's own timer
    (``std::clock``: the CPU time of its main loop; no compilation, no file I/O). This is
    the honest sampling cost: the binary is a subprocess, invisible to this process's
    ``time.process_time``.
  - ``[end-to-end CPU]``: CPU time of this process plus its finished children
    (``resource.getrusage(RUSAGE_CHILDREN)``: the compiler and the binary) during
    ``run_inference``, minus the CPU time of ``InferenceResult.from_run`` (figures of
    merit computed after ``wall_time`` is taken; wrapped with ``step_cost``'s helper).
  - ``[end-to-end wall]``: ``res.wall_time`` (network build, code generation, C++
    compilation in a fresh directory, the binary, reading the samples back).

  An extra ``circuit LM`` row at an explicit ``dt`` (``h = 1/lambda_max``, still inside
  the stability limit 2/lambda_max) shows what the integrator gives at a larger step; its
  activity column says whether that step is still accurate.
* ``NUTS`` -- BlackJAX NUTS on the same energy written in ``jax.numpy`` (JAX on CPU,
  ``jax_enable_x64``, XLA's multi-threaded Eigen off). ``blackjax.window_adaptation``
  (step size and diagonal mass matrix) for the warm-up; the sampling loop is one
  ``jax.lax.scan`` compiled ahead of time (``jit(...).lower(...).compile()``), so the
  timed region holds neither jit compilation nor warm-up: ``time.process_time`` around
  the compiled call and ``block_until_ready``; the call is repeated 3 times (same key,
  same samples) and the smallest CPU time is used (in prototypes NUTS's time per gradient
  varied 2x with the load on the other core; the circuit's binary and the numpy loops did
  not, and are timed once). All post-warm-up samples are kept. The
  warm-up's cost is printed separately (and the ESS/s it would give if counted).
* ``numpy EM`` -- ``models.euler_maruyama`` (unadjusted Langevin, one chain from u = 0)
  at h = 0.02/lambda_max (the circuit Euler default) and at larger stable steps 0.5 and
  1.0/lambda_max (Euler-Maruyama is biased at large h: see the activity column).
* ``numpy MALA`` -- ``models.mala`` (exact: Metropolis-adjusted) at h = 0.2/lambda_max
  (acceptance ~0.75; at 0.5/lambda_max it accepts ~0.1% on this 128-D non-smooth target).
  numpy chains: ``time.process_time`` around the sampler call; first 10% dropped.

Activity sanity check: ``activity`` is the mean fraction of nonzero ``s_i`` over the kept
chain; ``max|dp|`` is the largest per-unit difference of ``P(s_i != 0)`` from NUTS and
``max z`` the same in units of the combined standard error (from each chain's ESS; units
constant in either chain are skipped). Samplers of the same posterior should agree to a few
% in activity with ``max z`` around 3-4 at most (125 units). ``slowest i (p_i)`` names the
indicator with the minimum ESS and its activity in that chain.

Clocks: process CPU time throughout (the machine has 2 cores and is often shared); the
wall-clock total of the script is printed at the end.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy is imported (single-thread BLAS)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_cpu_multi_thread_eigen=false").strip()

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

import models  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_cost import _from_run_cpu_time  # noqa: E402

N, M = 64, 128
LAM, PI, SIGMA = 1.0, 0.2, 0.5
DICT_SEED, X_SEED = 1, 12345
BURN_IN = 0.1  # the same fraction as circuit_sim's InferenceResult.kept


# ----------------------------------------------------------------------------- problem
@dataclass
class Problem:
    phi: np.ndarray
    x: np.ndarray
    s_true: np.ndarray
    model: models.SparseCodingModel
    u0: float
    lam_max: float


def make_problem() -> Problem:
    phi = models.random_dictionary(N, M, np.random.default_rng(DICT_SEED))
    rng = np.random.default_rng(X_SEED)
    s_true = rng.laplace(scale=1.0 / LAM, size=M) * (rng.random(M) < PI)
    x = phi @ s_true + SIGMA * rng.standard_normal(N)
    u0 = models.u0_from_pi(LAM, PI)
    model = models.SparseCodingModel(dictionary=phi, sigma=SIGMA, prior="laplace", lam=LAM,
                                     u0=u0, positive=False)
    return Problem(phi, x, s_true, model, u0, models.lambda_max(model))


# ----------------------------------------------------------------------------- statistics
@dataclass
class Row:
    sampler: str
    settings: str
    cpu: float                 # seconds timed
    clock: str                 # what the seconds are
    active: np.ndarray | None  # (n, M) bool, kept chain (None: shares another row's chain)
    stats: dict = field(default_factory=dict)
    note: str = ""


def indicator_stats(active: np.ndarray) -> dict:
    """min / 10th-percentile ESS over the non-constant activity indicators."""
    a = np.asarray(active, dtype=float)
    constant = np.all(a == a[:1], axis=0)
    ess = np.full(a.shape[1], np.nan)
    if (~constant).any():
        ess[~constant] = models.effective_sample_size(a[:, ~constant])
    live = ess[~constant]
    return {"n": a.shape[0], "excluded": int(constant.sum()),
            "min_ess": float(np.min(live)) if live.size else float("nan"),
            "q10_ess": float(np.quantile(live, 0.1)) if live.size else float("nan"),
            "activity": float(a.mean()), "p": a.mean(axis=0), "ess": ess,
            "argmin": int(np.nanargmin(ess)) if live.size else -1}


def compare_to(ref: dict, st: dict) -> tuple[float, float]:
    """(max |dp_i|, max z_i) of per-unit activity against a reference chain."""
    dp = np.abs(st["p"] - ref["p"])
    se2 = (st["p"] * (1 - st["p"]) / st["ess"]) + (ref["p"] * (1 - ref["p"]) / ref["ess"])
    ok = np.isfinite(se2) & (se2 > 0)
    z = dp[ok] / np.sqrt(se2[ok])
    return float(dp.max()), float(z.max()) if z.size else float("nan")


# ----------------------------------------------------------------------------- circuit
def circuit_config(p: Problem, integrator: str, n_steps: int, record_tau: float,
                   h: float | None = None):
    """A standalone Config; dt automatic unless ``h`` is given. Returns (cfg, dt, stride)."""
    from circuit_sim import Config

    d = {"model": {"n_features": N, "n_components": M, "prior": "laplace", "lam": LAM,
                   "pi": PI, "sigma": SIGMA, "positive": False,
                   "dictionary": [[float(v) for v in row] for row in p.phi]},
         "input": {"x": [float(v) for v in p.x]},
         "circuit": {"capacitance": "10 fF", "transconductance": "1 uS",
                     "volts_per_unit": "10 mV", "temperature": "300 K"},
         "noise": [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
         "run": {"duration": "1 us", "seed": 1, "backend": "standalone",
                 "integrator": integrator}}
    tau = Config.from_dict(d).circuit.tau_u
    if h is not None:
        d["run"]["dt"] = f"{h * tau!r} s"
    dt, _ = Config.from_dict(d).resolved_dt()
    stride = max(1, int(round(record_tau * tau / dt)))
    d["run"]["duration"] = f"{n_steps * dt!r} s"
    d["run"]["record_every"] = f"{stride * dt!r} s"
    cfg = Config.from_dict(d)
    assert cfg.n_steps() == n_steps and cfg.record_stride() == stride, (cfg.n_steps(), n_steps)
    return cfg, dt, stride


def run_circuit(p: Problem, label: str, integrator: str, n_steps: int, record_tau: float,
                h: float | None, log) -> list[Row]:
    from circuit_sim import run_inference

    cfg, dt, stride = circuit_config(p, integrator, n_steps, record_tau, h)
    tau = cfg.circuit.tau_u
    hh = dt / tau
    log(f"  {label}: {integrator}, dt = {dt:.3g} s (h = {hh:.4g} = {hh * p.lam_max:.3g}/lambda_max"
        f"{', auto' if h is None else ''}), {n_steps} steps = {n_steps * hh:.0f} tau_u, "
        f"record every {stride} steps")
    with _from_run_cpu_time() as post:
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = time.process_time()
        res = run_inference(cfg)
        c1 = time.process_time()
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    e2e_cpu = (c1 - c0) - post["cpu"] + children
    if not np.all(np.isfinite(res.u)):
        raise FloatingPointError(f"{label} diverged")
    active = res.kept(res.s) != 0
    settings = (f"h={hh:.4g} ({hh * p.lam_max:.3g}/lmax), {n_steps / 1e6:g}M steps, "
                f"rec/{stride}")
    log(f"    run_time {res.run_time:.3f} s, wall {res.wall_time:.2f} s, e2e CPU {e2e_cpu:.2f} s "
        f"({children:.2f} s in child processes), {len(active)} kept samples, "
        f"{1e6 * res.run_time / n_steps:.3f} us/step in the binary")
    return [Row(f"{label} [binary loop]", settings, res.run_time, "binary std::clock", active),
            Row(f"{label} [end-to-end CPU]", settings, e2e_cpu, "self+children CPU", None),
            Row(f"{label} [end-to-end wall]", settings, res.wall_time, "wall", None)]


# ----------------------------------------------------------------------------- NUTS
def run_nuts(p: Problem, n_warmup: int, n_samples: int, seed: int, log,
             repeats: int = 3) -> Row:
    import jax

    jax.config.update("jax_enable_x64", True)
    import blackjax
    import jax.numpy as jnp

    phi, x = jnp.asarray(p.phi), jnp.asarray(p.x)
    u0, lam, two_s2 = p.u0, LAM, 2.0 * SIGMA ** 2

    def logdensity(u):
        s = jnp.sign(u) * jnp.maximum(jnp.abs(u) - u0, 0.0)
        r = x - phi @ s
        return -(r @ r) / two_s2 - lam * jnp.sum(jnp.abs(u))

    # the jax energy is the library's energy (checked once)
    u_chk = np.random.default_rng(3).standard_normal(M) * 2.0
    e_lib = float(models.energy(p.model, u_chk, p.x))
    assert abs(float(-logdensity(jnp.asarray(u_chk))) - e_lib) < 1e-9 * max(1.0, abs(e_lib))

    key = jax.random.key(seed)
    k_warm, k_run = jax.random.split(key)
    u_start = jnp.asarray(np.random.default_rng(seed).standard_normal(M) * 0.01)
    warm = blackjax.window_adaptation(blackjax.nuts, logdensity)
    c0, w0 = time.process_time(), time.perf_counter()
    (state, params), _ = warm.run(k_warm, u_start, num_steps=n_warmup)
    jax.block_until_ready(state.position)
    warm_cpu, warm_wall = time.process_time() - c0, time.perf_counter() - w0
    kernel = blackjax.nuts(logdensity, **params)

    def sample(k, st):
        def body(s, kk):
            s, info = kernel.step(kk, s)
            return s, (s.position, info.num_integration_steps,
                       info.num_trajectory_expansions, info.acceptance_rate, info.is_divergent)
        return jax.lax.scan(body, st, jax.random.split(k, n_samples))

    c0 = time.process_time()
    compiled = jax.jit(sample).lower(k_run, state).compile()
    compile_cpu = time.process_time() - c0
    cpus, walls = [], []
    for _ in range(max(1, repeats)):  # the same key: identical output, best CPU time kept
        c0, w0 = time.process_time(), time.perf_counter()
        _, (pos, n_leap, depth, acc, div) = compiled(k_run, state)
        jax.block_until_ready(pos)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    cpu, wall = min(cpus), walls[int(np.argmin(cpus))]
    pos = np.asarray(pos)
    if not np.all(np.isfinite(pos)):
        raise FloatingPointError("NUTS produced non-finite samples")
    step = float(params["step_size"])
    settings = (f"eps={step:.3g}, depth {float(np.mean(depth)):.2f}, "
                f"{float(np.mean(n_leap)):.0f} leapfrog/it, acc {float(np.mean(acc)):.2f}")
    log(f"  NUTS: warm-up {n_warmup} its: {warm_cpu:.2f} CPU-s ({warm_wall:.2f} wall, incl. its "
        f"jit); sampling loop compile {compile_cpu:.2f} CPU-s (both excluded); sampling "
        f"{n_samples} its: {cpu:.2f} CPU-s (best of " + ", ".join(f"{c:.2f}" for c in cpus)
        + f"; {wall:.2f} wall), {settings}, "
        f"{int(np.sum(div))} divergences, "
        f"{1e6 * cpu / float(np.sum(n_leap)):.2f} us per gradient")
    row = Row("NUTS (BlackJAX)", settings, cpu, "process CPU", np.abs(pos) > u0)
    row.stats["warmup_cpu"] = warm_cpu
    row.stats["divergences"] = int(np.sum(div))
    return row


# ----------------------------------------------------------------------------- numpy
def run_em(p: Problem, hfac: float, n_steps: int, record_tau: float, seed: int, log) -> Row:
    h = hfac / p.lam_max
    k = max(1, int(round(record_tau / h)))
    rng = np.random.default_rng(seed)
    c0 = time.process_time()
    out = models.euler_maruyama(p.model, p.x, np.zeros((1, M)), n_steps=n_steps, step=h,
                                temperature=1.0, rng=rng, record_every=k)[:, 0]
    cpu = time.process_time() - c0
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("euler_maruyama diverged")
    out = out[int(BURN_IN * len(out)):]
    log(f"  numpy EM h = {hfac}/lambda_max: {n_steps} steps in {cpu:.2f} CPU-s "
        f"({1e6 * cpu / n_steps:.2f} us/step)")
    return Row(f"numpy EM", f"h={h:.4g} ({hfac:g}/lmax), {n_steps / 1e6:g}M steps, rec/{k}",
               cpu, "process CPU", np.abs(out) > p.u0)


def run_mala(p: Problem, hfac: float, n_steps: int, record_tau: float, seed: int, log) -> Row:
    h = hfac / p.lam_max
    k = max(1, int(round(record_tau / h)))
    rng = np.random.default_rng(seed)
    c0 = time.process_time()
    out, acc = models.mala(p.model, p.x, np.zeros((1, M)), n_steps=n_steps, step=h,
                           temperature=1.0, rng=rng, record_every=k)
    cpu = time.process_time() - c0
    out = out[int(BURN_IN * len(out)):, 0]
    log(f"  numpy MALA h = {hfac}/lambda_max: {n_steps} steps in {cpu:.2f} CPU-s "
        f"({1e6 * cpu / n_steps:.2f} us/step), acceptance {float(acc[0]):.3f}")
    return Row("numpy MALA", f"h={h:.4g} ({hfac:g}/lmax), acc {float(acc[0]):.2f}, "
               f"{n_steps / 1e6:g}M steps, rec/{k}", cpu, "process CPU", np.abs(out) > p.u0)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="all runs 5x shorter (min-ESS well below a few hundred: rough)")
    ap.add_argument("--scale", type=float, default=None, help="multiply every run length")
    ap.add_argument("--skip", default="",
                    help="comma-separated rows to leave out: lm, lm-h1, euler, nuts, em002, "
                         "em05, em1, mala")
    ap.add_argument("--seed", type=int, default=7, help="seed of the NUTS / numpy chains")
    ap.add_argument("--verbose", action="store_true", help="keep Brian2's warnings")
    args = ap.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.2 if args.quick else 1.0)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def n(steps: float) -> int:
        return max(1000, int(round(steps * scale)))

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    import brian2 as b2
    if not args.verbose:
        b2.BrianLogger.log_level_error()

    t_start = time.perf_counter()
    p = make_problem()
    log(f"posterior: N = {N}, M = {M}, lam = {LAM}, pi = {PI} (u0 = {p.u0:.4f}), sigma = "
        f"{SIGMA}, lambda_max = {p.lam_max:.3f}, {int(np.sum(p.s_true != 0))} nonzero in s_true")

    rows: list[Row] = []
    errors: list[tuple[str, str]] = []
    plan = [
        ("nuts", lambda: [run_nuts(p, 1000, n(15000), args.seed, log)]),
        ("lm", lambda: run_circuit(p, "circuit LM", "leimkuhler_matthews", n(1_500_000),
                                   0.25, None, log)),
        ("lm-h1", lambda: run_circuit(p, "circuit LM h=1/lmax", "leimkuhler_matthews",
                                      n(800_000), 0.25, 1.0 / p.lam_max, log)),
        ("euler", lambda: run_circuit(p, "circuit Euler", "euler", n(6_000_000), 0.25,
                                      None, log)),
        ("em002", lambda: [run_em(p, 0.02, n(5_000_000), 0.25, args.seed, log)]),
        ("em05", lambda: [run_em(p, 0.5, n(1_500_000), 0.25, args.seed, log)]),
        ("em1", lambda: [run_em(p, 1.0, n(800_000), 0.25, args.seed, log)]),
        ("mala", lambda: [run_mala(p, 0.2, n(500_000), 0.25, args.seed, log)]),
    ]
    for name, fn in plan:
        if name in skip:
            continue
        try:
            rows.extend(fn())
        except ImportError as exc:
            log(f"  {name}: skipped ({exc}); install with: pip install blackjax jax")
            errors.append((name, f"ImportError: {exc}"))
        except Exception as exc:  # report and go on with the other rows
            log(f"  {name} FAILED: {exc!r}")
            errors.append((name, traceback.format_exc()))

    # statistics (a row without its own chain shares the previous row's)
    last = None
    for r in rows:
        if r.active is not None:
            last = indicator_stats(r.active)
        r.stats.update({k: v for k, v in last.items()})
    ref = next((r for r in rows if r.sampler.startswith("NUTS")), None)
    ref_rate = ref.stats["min_ess"] / ref.cpu if ref is not None else float("nan")

    total = time.perf_counter() - t_start
    import scipy
    print()
    print(f"Effective samples per CPU-second, {N}x{M} spike-and-slab posterior (pi = {PI}, "
          f"sigma = {SIGMA}, lambda_max = {p.lam_max:.2f}); Python {platform.python_version()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}, brian2 {b2.__version__}"
          + (f", jax {sys.modules['jax'].__version__}, blackjax "
             f"{sys.modules['blackjax'].__version__}" if "blackjax" in sys.modules else "")
          + f", {os.cpu_count()} CPUs, one thread each")
    print("min-ESS: minimum over the activity indicators 1[s_i != 0] that are not constant "
          "(excl = number excluded as constant); Sokal window c = 5; q10 = 10th percentile "
          "of the per-indicator ESS; ratio = (min-ESS / s) / NUTS's; first 10% dropped as "
          "burn-in except NUTS (warm-up excluded)")
    head = (f"{'sampler':<37} {'settings':<50} {'seconds':>8} {'clock':<18} {'samples':>7} "
            f"{'excl':>4} {'min-ESS':>8} {'ESS/s':>8} {'q10/s':>8} {'ratio':>6} "
            f"{'activity':>8} {'max|dp|':>7} {'max z':>6}  slowest i (p_i)")
    print(head)
    print("-" * len(head))
    for r in rows:
        st = r.stats
        rate = st["min_ess"] / r.cpu
        if ref is not None and r is not ref:
            dp, z = compare_to(ref.stats, st)
            dps, zs = f"{dp:7.3f}", f"{z:6.1f}"
        else:
            dps, zs = f"{'-':>7}", f"{'-':>6}"
        print(f"{r.sampler:<37} {r.settings:<50} {r.cpu:8.2f} {r.clock:<18} {st['n']:>7} "
              f"{st['excluded']:>4} {st['min_ess']:8.0f} {rate:8.1f} {st['q10_ess'] / r.cpu:8.1f} "
              f"{rate / ref_rate:6.2f} {st['activity']:8.4f} {dps} {zs}  "
              f"{st['argmin']:>3} ({st['p'][st['argmin']]:.3f})")
    if ref is not None:
        w = ref.stats["warmup_cpu"]
        print(f"\nNUTS with its warm-up counted ({w:.2f} CPU-s for 1000 adaptation iterations, "
              f"jit included): {ref.stats['min_ess'] / (ref.cpu + w):.1f} min-ESS per CPU-s; "
              f"{ref.stats['divergences']} divergences after warm-up.")
        best = [r for r in rows if r.sampler.startswith("circuit LM [binary")]
        if best:
            b = best[0]
            ratio = b.stats["min_ess"] / b.cpu / ref_rate
            print(f"Target (circuit ESS per CPU-s >= 2x NUTS, circuit at its automatic dt, "
                  f"sampling time only): {ratio:.2f}x -> "
                  f"{'MET' if ratio >= 2 else 'NOT MET'}")
    print(f"\ntotal benchmark time: {total:.1f} s (wall)")
    for name, tb in errors:
        print(f"\n--- error in {name}:\n{tb}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
