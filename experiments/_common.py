"""Helpers shared by the experiment scripts (public API only)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from circuit_sim import Config, load_config

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RESULTS = HERE / "results"


def config_dict(name: str) -> dict:
    """The raw dict of a shipped config (to modify and validate again)."""
    return copy.deepcopy(load_config(CONFIGS / name).raw)


def build(d: dict) -> Config:
    return Config.from_dict(d)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


SWEEPS = HERE / "sweeps"


def run_study(name: str, workers=None, plot_only: bool = False):
    """Run (or resume) ``sweeps/<name>.toml`` into ``results/<name>/`` (``plot_only``: only
    read what is there); return its index."""
    from circuit_sim import read_index, run_sweep

    out = RESULTS / name
    if not plot_only:
        run_sweep(SWEEPS / f"{name}.toml", out, workers=workers)
    return read_index(out)


def study_args(doc: str, argv=None):
    """The command line of a study script: ``--workers N`` and ``--plot-only``."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--plot-only", action="store_true",
                    help="draw from the results already there (run nothing)")
    return ap.parse_args(argv)


def by_key(index, key: str, metric: str, si_key: str | None = None):
    """Group the ok rows of a sweep index by ``key``: (x values (SI if ``si_key``), mean,
    min, max of ``metric``) over the other swept keys (e.g. seeds)."""
    import numpy as np

    groups = {}
    for row in index:
        if row.get("status") != "ok":
            continue
        x = float(row[si_key]) if si_key else row[key]
        groups.setdefault(x, []).append(float(row[metric]))
    xs = sorted(groups)
    vals = [np.array(groups[x]) for x in xs]
    return (np.array(xs, dtype=float), np.array([v.mean() for v in vals]),
            np.array([v.min() for v in vals]), np.array([v.max() for v in vals]))


def save_figure(fig, name: str) -> Path:
    """Lay out ``fig``, write ``results/<name>.png`` and say so."""
    fig.tight_layout()
    png = RESULTS / f"{name}.png"
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")
    return png
