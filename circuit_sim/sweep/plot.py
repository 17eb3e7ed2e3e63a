"""A sweep's map: one metric against one swept key, from the index (``circuit-sim
plot-sweep DIR --x KEY --y METRIC``).

Points that share an x value (other seeds, other device draws) are pooled: the mean with
its standard error across them (a single point: its own ``<metric>_se`` when the index has
one), each point drawn faintly behind. ``--group KEY`` draws one line per value of another
swept key. A metric's noise floor (``<metric>_floor``, see :mod:`circuit_sim.results.quality`)
is drawn dashed and its expected value (``<metric>_expected``) dotted when the index has them. Reads only the
index (no Brian2, no Dask).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .index import SweepIndex, metric_unit, read_index

__all__ = ["plot_sweep", "sweep_axis"]

#: Columns of the index that are not metrics (nor swept keys).
BOOKKEEPING = ("point_id", "index", "status", "error", "session", "worker")


def _swept_keys(index: SweepIndex) -> list[str]:
    cols = index.columns
    return [c for c in cols[: cols.index("status")] if c not in BOOKKEEPING
            and not c.endswith("]")]


def sweep_axis(index: SweepIndex, key: str) -> tuple[np.ndarray, str]:
    """The numeric values of swept ``key`` (its SI column when it is a quantity) and the
    axis label with its unit."""
    keys = _swept_keys(index)
    if key not in keys:
        raise ConfigError("--x", f"a swept key of this sweep (one of {', '.join(keys)})", key)
    si = [c for c in index.columns if c.startswith(f"{key} [")]
    if si:
        return index[si[0]], si[0]
    values = index[key]
    if values.dtype == object:
        raise ConfigError("--x", "a swept key with numeric values or quantities", key)
    return values, key


def _metric(index: SweepIndex, name: str) -> tuple[np.ndarray, str]:
    metrics = [c for c in index.columns[index.columns.index("status") + 1:]
               if c not in BOOKKEEPING and index[c].dtype != object]
    if name not in metrics:
        raise ConfigError("--y", f"a metric of this sweep's index (e.g. {', '.join(metrics[:12])})",
                          name)
    unit = index.units.get(name) or metric_unit(name)
    return index[name], name if unit == "1" else f"{name} [{unit}]"


def _pooled(x: np.ndarray, y: np.ndarray, y_se: np.ndarray | None = None):
    """Mean over the points at each x and its standard error: the spread across them, or
    for a single point its own standard error (``y_se``) when the index has one."""
    xs = np.unique(x[np.isfinite(x)])
    mean, se = [], []
    for v in xs:
        sel = (x == v) & np.isfinite(y)
        vals = y[sel]
        mean.append(vals.mean() if vals.size else np.nan)
        if vals.size > 1:
            se.append(vals.std(ddof=1) / np.sqrt(vals.size))
        else:
            se.append(float(y_se[sel][0]) if y_se is not None and vals.size else 0.0)
    return xs, np.array(mean), np.array(se)


def _design_line(out_dir, index: SweepIndex) -> str:
    """What the points share: the base config and the swept keys."""
    import h5py

    with h5py.File(Path(out_dir) / "index.h5", "r") as f:
        base = f.attrs.get("base", "")
    base = Path(base.decode() if isinstance(base, bytes) else str(base)).name
    return (f"base {base}; " if base else "") + "swept: " + ", ".join(_swept_keys(index))


def _log_scale(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(v.size and np.all(v > 0) and v.max() / v.min() > 30)


def plot_sweep(out_dir, x: str, y: str = "posterior_error", *, group: str | None = None,
               path=None) -> Path:
    """Draw metric ``y`` against swept key ``x`` for the sweep in ``out_dir``; PNG at
    ``path`` (default ``DIR/<y>_vs_<x>.png``). Returns the path."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not (Path(out_dir) / "index.h5").is_file():
        raise ConfigError("DIR", "a sweep's output directory, with the index.h5 that "
                          "circuit-sim sweep writes", str(out_dir))
    index = read_index(out_dir)
    xv, xlabel = sweep_axis(index, x)
    yv, ylabel = _metric(index, y)
    ok = np.array([r["status"] == "ok" for r in index])
    extra = {k: index[f"{y}_{k}"] if f"{y}_{k}" in index.columns else None
             for k in ("floor", "expected", "se")}
    if group is not None and group not in _swept_keys(index):
        raise ConfigError("--group", f"a swept key of this sweep (one of "
                          f"{', '.join(_swept_keys(index))})", group)
    groups = ([(None, ok)] if group is None else
              [(g, ok & (index[group] == g)) for g in dict.fromkeys(index[group])])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for g, sel in groups:
        gname = f"{g:g}" if isinstance(g, float) else g
        label = "mean +- SE over points at each x" if g is None else f"{group} = {gname}"
        y_se = extra["se"][sel] if extra["se"] is not None else None
        xs, mean, se = _pooled(xv[sel], yv[sel], y_se)
        line = ax.errorbar(xs, mean, yerr=se, marker="o", ms=4, capsize=3, label=label)
        ax.plot(xv[sel], yv[sel], ".", color=line[0].get_color(), alpha=0.3)
        for k, style, what in (("floor", "--", "noise floor (an exact sampler at this ESS)"),
                               ("expected", ":", "expected (design and integrator)")):
            if extra[k] is not None:
                fx, fmean, _ = _pooled(xv[sel], extra[k][sel])
                ax.plot(fx, fmean, style, color=line[0].get_color(), lw=1.0,
                        label=what if g is None else f"{k}, {group} = {gname}")
    if _log_scale(xv[ok]):
        ax.set_xscale("log")
    if _log_scale(yv[ok]):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for axis, label in ((ax.xaxis, xlabel), (ax.yaxis, ylabel)):
        unit = label[label.rfind("[") + 1:-1] if label.endswith("]") else ""
        if unit and unit.isalpha():     # SI prefixes on the ticks: 41.4 aF, 3 MHz
            axis.set_major_formatter(matplotlib.ticker.EngFormatter(unit=unit))
    n_bad = int(len(index) - ok.sum())
    ax.set_title(f"{Path(out_dir).name}: {int(ok.sum())} points ok"
                 + (f", {n_bad} failed or pending (not drawn)" if n_bad else "")
                 + f"\n{_design_line(out_dir, index)}", fontsize=8)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = Path(path) if path is not None else Path(out_dir) / f"{y}_vs_{x}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
