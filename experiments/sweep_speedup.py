"""Wall time of a sweep on a local Dask cluster versus the same points one after another.

    python experiments/sweep_speedup.py [--sweep experiments/sweeps/sweep_demo.toml]
                                        [--workers 2] [--out experiments/results/sweep_speedup.json]

Serial: every point's config (as the sweep expands it) through ``run_inference`` in this
process, each result written to HDF5 as the sweep does. Dask: ``run_sweep`` into a fresh
directory on a ``LocalCluster`` of ``--workers`` processes, cluster start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from circuit_sim import load_sweep, run_inference, run_sweep

HERE = Path(__file__).resolve().parent


def serial(sweep, out: Path) -> float:
    t0 = time.perf_counter()
    for p in sweep.points:
        run_inference(p.config).to_hdf5(out / f"{p.point_id}.h5")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(HERE / "sweeps" / "sweep_demo.toml"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "sweep_speedup.json"))
    args = ap.parse_args(argv)
    sweep = load_sweep(args.sweep)
    n = len(sweep.points)
    with tempfile.TemporaryDirectory(prefix="sweep_speedup_") as tmp:
        tmp = Path(tmp)
        (tmp / "serial").mkdir()
        print(f"{n} points, serial in one process ...", flush=True)
        t_serial = serial(sweep, tmp / "serial")
        print(f"  serial: {t_serial:.1f} s ({t_serial / n:.2f} s per point)", flush=True)
        print(f"{n} points on a local Dask cluster of {args.workers} workers ...", flush=True)
        t0 = time.perf_counter()
        index = run_sweep(args.sweep, tmp / "dask", workers=args.workers, progress=None)
        t_dask = time.perf_counter() - t0
        ok = index.counts["ok"]
        mean_point = sum(r["wall_time"] for r in index if r["status"] == "ok") / max(ok, 1)
    result = {"sweep": str(args.sweep), "points": n, "workers": args.workers, "cpus": os.cpu_count(),
              "serial_s": round(t_serial, 2), "dask_s": round(t_dask, 2),
              "speedup": round(t_serial / t_dask, 3),
              "serial_per_point_s": round(t_serial / n, 3),
              "dask_mean_point_wall_s": round(mean_point, 3), "dask_ok": ok}
    print(f"  dask  : {t_dask:.1f} s ({ok}/{n} ok; mean {mean_point:.2f} s per point in a worker)")
    print(f"speed-up serial / dask = {t_serial / t_dask:.2f} with {args.workers} workers on "
          f"{os.cpu_count()} CPUs")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
