"""Learning throughput: input patches per second of CPU, per backend, at (N, M) = (64, 128)
and (256, 512).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/learning_rate.py                 # ~3 min
    python benchmarks/learning_rate.py --sizes 64x128 --backends standalone --patches 400

The stream is the bars model (``input.kind = "bars"``, 8x8 or 16x16 pixels, pi = 0.3,
non-negative codes) learned by a spike-and-slab model with M = 2 N atoms from a random
dictionary; 10 fF / 1 uS (tau_u = 10 ns), thermal noise filled to T_eff = 1,
Leimkuhler-Matthews at its automatic dt, each patch held 200 ns (20 tau_u), tau_Phi = 200 us,
column normalisation on, plasticity on its automatic clock, snapshots every 100 patches.
Timed: ``circuit_sim.run_learning`` end to end (wall time, which includes code generation
and, for standalone, compilation; the second of two runs is reported so the build caches are
warm), and the patches per second of circuit work that follow. Public API only.

Beside them (``numpy-ref``): a plain numpy Euler-Maruyama loop with BLAS doing the same work
per step on the same patches (soft threshold, residual, drive, Langevin update with one normal
draw per unit, and the rank-1 dictionary update with column normalisation every ``K`` steps
with the step ``K dt``, K the circuit's automatic plasticity stride), timed over
``--ref-patches`` patches. The ``numpy`` backend runs ``--numpy-patches`` patches (it is the
slow test backend).
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import models  # noqa: E402
from circuit_sim import Config, run_learning  # noqa: E402

HOLD_S = 200e-9


def config(n: int, m: int, patches: int, backend: str) -> Config:
    side = int(round(n ** 0.5))
    return Config.from_dict({
        "model": {"n_features": n, "n_components": m, "prior": "laplace", "lam": 1.0, "pi": 0.3,
                  "positive": True, "sigma": 0.5},
        "input": {"kind": "bars", "n_patches": patches, "presentation": "synchronous",
                  "hold": f"{HOLD_S!r} s", "patch_size": side},
        "circuit": {"capacitance": "10 fF", "transconductance": "1 uS", "volts_per_unit": "10 mV",
                    "temperature": "300 K"},
        "noise": [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
        "learning": {"dictionary_time_constant": "200 us", "normalise": True,
                     "normalise_strength": 4.0, "snapshot_every": f"{100 * HOLD_S!r} s"},
        "run": {"integrator": "leimkuhler_matthews", "record_every": f"{HOLD_S!r} s", "seed": 1,
                "backend": backend},
    })


def numpy_reference(cfg: Config, n_patches: int) -> tuple[int, float]:
    """(steps, seconds) of the plain numpy learning loop on ``n_patches`` bars patches."""
    model = cfg.build_model()
    n, m = model.n_features, model.n_components
    dt, _ = cfg.resolved_dt()
    h = dt / cfg.circuit.tau_u
    k_plast = cfg.plasticity_stride()
    tau_phi = cfg.learning.dictionary_time_constant / cfg.circuit.tau_u
    gamma = cfg.learning.gamma
    hold = int(round(HOLD_S / dt))
    rng = np.random.default_rng(0)
    xs, _ = models.bars_data(n_patches, rng, size=int(round(n ** 0.5)), pi=model.pi)
    phi = np.array(model.dictionary, dtype=float)
    u = rng.laplace(0.0, 1.0, m)
    sig2, lam, u0 = model.sigma ** 2, model.lam, model.u0
    noise = np.sqrt(2.0 * h)
    t0 = time.perf_counter()
    k = 0
    for x in xs:
        for _ in range(hold):
            s = np.maximum(np.abs(u) - u0, 0.0)
            active = s > 0
            r = x - phi @ s
            drive = phi.T @ r / sig2
            u = u + h * (np.sign(u) * active * drive - lam * np.sign(u)) \
                + noise * rng.standard_normal(m)
            if k % k_plast == 0:
                dphi = np.outer(r, s) / sig2
                if gamma:
                    dphi -= gamma * phi * (np.sum(phi ** 2, axis=0) - 1.0)
                phi += (k_plast * h / tau_phi) * dphi
            k += 1
    return k, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="64x128,256x512")
    ap.add_argument("--backends", default="cython,standalone")
    ap.add_argument("--patches", type=int, default=400)
    ap.add_argument("--numpy-patches", type=int, default=20,
                    help="patches for the numpy backend (default %(default)s; 0: skip it)")
    ap.add_argument("--ref-patches", type=int, default=100,
                    help="patches for the plain numpy reference loop (default %(default)s)")
    args = ap.parse_args(argv)
    rows = []
    tmp = tempfile.mkdtemp(prefix="learning_rate_")
    try:
        for size in args.sizes.split(","):
            n, m = (int(v) for v in size.lower().split("x"))
            backends = args.backends.split(",") + (["numpy"] if args.numpy_patches else [])
            for backend in backends:
                patches = args.numpy_patches if backend == "numpy" else args.patches
                cfg = config(n, m, patches, backend)
                dt, _ = cfg.resolved_dt()
                walls = []
                for k in range(2):  # the first run fills the build caches
                    t0 = time.perf_counter()
                    run_learning(cfg, os.path.join(tmp, f"{size}_{backend}_{k}.h5"))
                    walls.append(time.perf_counter() - t0)
                steps = int(round(patches * HOLD_S / dt))
                rows.append((n, m, backend, patches, steps, walls[0], walls[1]))
                print(f"  ({n}, {m}) {backend}: {walls[1]:.2f} s (first run {walls[0]:.2f} s)",
                      flush=True)
            steps, secs = numpy_reference(config(n, m, args.ref_patches, "numpy"), args.ref_patches)
            rows.append((n, m, "numpy-ref", args.ref_patches, steps, float("nan"), secs))
            print(f"  ({n}, {m}) numpy-ref: {secs:.2f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nlearning throughput (bars, hold 200 ns = 20 tau_u, wall time of run_learning, "
          "second run; numpy-ref: the plain numpy loop, no build)")
    print(f"{'N':>5} {'M':>5}  {'backend':<11} {'patches':>7} {'steps':>8} {'seconds':>8} "
          f"{'patches/s':>10} {'us/step':>8}  first run (s)")
    for n, m, backend, patches, steps, w0, w1 in rows:
        print(f"{n:>5} {m:>5}  {backend:<11} {patches:>7} {steps:>8} {w1:>8.2f} "
              f"{patches / w1:>10.1f} {1e6 * w1 / steps:>8.2f}  {w0:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
