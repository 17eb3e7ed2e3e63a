"""A sweep's index: one row per point (status, swept values, metrics), kept in memory and
rewritten atomically to ``index.csv`` and ``index.h5`` after every finished point.

Output directory::

    DIR/index.csv, DIR/index.h5     one row per point: point_id, index, the swept keys (as
                                    given, and "key [unit]" in SI for quantities), status
                                    (ok | failed | pending), error, wall_time, session,
                                    worker, T_eff, posterior_error, ess_per_second,
                                    energy_per_sample, then the other scalar metrics; in
                                    index.csv every metric's name carries its SI unit
                                    ("wall_time [s]", "posterior_error [1]"), index.h5 and
                                    read_index() keep the bare names (units in .units)
    DIR/points/<point_id>.h5        InferenceResult.to_hdf5, plus the swept keys and
                                    sweep_* attributes
    DIR/points/<point_id>.error.txt the full traceback of a failed point (.error.json: summary)
    DIR/sweep.json                  the sessions (runs of the sweep) into this directory
    DIR/.cache/worker-<host>-<name> each worker process's build caches (Brian2 cython cache,
                                    standalone projects), kept for a rerun

A point id (``p0003-1a2b3c4d``) is the point's position and a hash of its swept values, so
a rerun into the same directory finds its finished points: a point whose file exists and
was made from the same full config (``sweep_config_sha1``) is skipped; failed and missing
points run again. Files are written under a temporary name and renamed, and the index is
rewritten (atomically) after every finished point, so an interrupted sweep (Ctrl-C,
SIGTERM) leaves a valid index of what finished.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from noise import si_value

from ..errors import ConfigError
from ..results import hdf5
from .spec import Sweep, SweepPoint, _canonical
from .worker import learning_metrics

__all__ = ["SweepIndex", "read_index", "CORE_METRICS", "METRIC_UNITS", "STATUSES"]

CORE_METRICS = ("T_eff", "posterior_error", "ess_per_second", "energy_per_sample")
#: Units of the index's columns that have one (SI columns of swept keys add theirs).
METRIC_UNITS = {"wall_time": "s", "T_eff": "1", "posterior_error": "1", "ess_per_second": "1/s",
                "energy_per_sample": "J", "tau_u": "s", "dt": "s", "autocorrelation_time": "s",
                "ess": "1", "power_per_unit": "W", "power_total": "W", "run_time": "s",
                "h": "1", "lambda_max": "1", "kl_prior": "nat"}
STATUSES = ("ok", "failed", "pending")
#: Suffixes of derived metrics (:mod:`circuit_sim.results.quality`): their base's unit.
DERIVED_SUFFIXES = ("_se", "_floor", "_expected")


def metric_unit(column: str) -> str:
    """The unit of a metric column: from :data:`METRIC_UNITS`, a derived metric's from its
    base (``T_measured_se`` as ``T_measured``), otherwise ``"1"``: every metric with a
    physical dimension is listed, the rest (errors, distances, fractions, counts) are
    dimensionless."""
    for suffix in DERIVED_SUFFIXES:
        if column.endswith(suffix) and column[: -len(suffix)] in METRIC_UNITS:
            return METRIC_UNITS[column[: -len(suffix)]]
    return METRIC_UNITS.get(column, "1")


def csv_header(column: str, units: dict) -> str:
    """A column's name in ``index.csv``: ``name [unit]`` when it has a unit (and does not
    carry one already, as the SI columns of swept keys do)."""
    unit = units.get(column)
    return f"{column} [{unit}]" if unit and not column.endswith("]") else column


# --------------------------------------------------------------------------- the index
class SweepIndex:
    """The sweep's table: one row (a dict) per point, in point order.

    ``index[column]`` is a numpy array (floats for numeric columns); ``len(index)``,
    iteration over rows, :attr:`counts`, :meth:`to_pandas` (if pandas is installed).
    """

    def __init__(self, columns, rows, *, path=None, units=None, interrupted=False):
        self.columns = list(columns)
        self.rows = list(rows)
        self.path = Path(path) if path is not None else None
        self.units = dict(units or {})
        self.interrupted = interrupted

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, column):
        values = [r.get(column) for r in self.rows]
        if values and all(_is_number(v) or v is None for v in values):
            return np.array([np.nan if v is None else float(v) for v in values])
        return np.array(values, dtype=object)

    def row(self, point_id: str) -> dict:
        for r in self.rows:
            if r["point_id"] == point_id:
                return r
        raise KeyError(point_id)

    @property
    def counts(self) -> dict:
        return {s: sum(r.get("status") == s for r in self.rows) for s in STATUSES}

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

    def summary(self) -> str:
        c = self.counts
        where = f" (index: {self.path / 'index.csv'})" if self.path is not None else ""
        return (f"sweep: {len(self)} points: {c['ok']} ok, {c['failed']} failed, "
                f"{c['pending']} pending{'; INTERRUPTED' if self.interrupted else ''}{where}")

    def __repr__(self) -> str:
        return f"<SweepIndex {self.summary()}>"


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


_py = hdf5.plain


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    if isinstance(v, (int, str)):
        return str(v)
    return _canonical(v)


def _file_mode() -> int:
    """The mode a newly created file gets (0o666 less the umask; mkstemp makes 0o600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path`` (atomic on POSIX)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_index(out: Path, index: SweepIndex, attrs: dict) -> None:

    def write_csv(tmp: Path):
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([csv_header(c, index.units) for c in index.columns])
            for r in index.rows:
                w.writerow([_csv_cell(r.get(c)) for c in index.columns])

    def write_h5(tmp: Path):
        hdf5.write_index(tmp, index.columns, index.rows, index.units, attrs, cell=_csv_cell)

    _atomic_write(out / "index.csv", write_csv)
    _atomic_write(out / "index.h5", write_h5)


def read_index(out_dir) -> SweepIndex:
    """Read ``DIR/index.h5`` back as a :class:`SweepIndex`."""
    out = Path(out_dir)
    columns, rows, units, interrupted = hdf5.read_index_file(out / "index.h5")
    return SweepIndex(columns, rows, path=out, units=units, interrupted=interrupted)


class _Book:
    """The rows of the index, kept in memory and rewritten to disk after every change."""

    def __init__(self, sweep: Sweep, out: Path, session: int):
        self.sweep, self.out, self.session = sweep, out, session
        self.points_dir = out / "points"
        self.rows = {}
        self.si_units = {}
        for key in sweep.keys:
            for p in sweep.points:
                si = si_value(p.params.get(key))
                if si is not None:
                    self.si_units[key] = si[1]
                    break
        for p in sweep.points:
            self.rows[p.point_id] = self._base_row(p)

    def h5_path(self, p: SweepPoint) -> Path:
        return self.points_dir / f"{p.point_id}.h5"

    def _base_row(self, p: SweepPoint) -> dict:
        r = {"point_id": p.point_id, "index": p.index}
        for key in self.sweep.keys:
            r[key] = p.params.get(key)
        for key, unit in self.si_units.items():
            si = si_value(p.params.get(key))
            r[f"{key} [{unit}]"] = si[0] if si is not None and si[1] == unit else None
        r.update(status="pending", error="", wall_time=None, session=0, worker="")
        for m in CORE_METRICS:
            r[m] = float("nan")
        return r

    def load_finished(self, p: SweepPoint) -> str:
        """Fill the row of ``p`` from its file if it is complete: 'ok', 'stale' or 'missing'."""
        path = self.h5_path(p)
        if not path.is_file():
            return "missing"
        try:
            tags = hdf5.point_tags(path)
            a = tags["attrs"]
            if a.get("sweep_point_id") != p.point_id or \
                    a.get("sweep_config_sha1") != p.config_sha1 or \
                    (not tags["has_metrics"] and not tags["learned"]):
                return "stale"
            if tags["learned"]:
                metrics = learning_metrics(path, p.config)
                if metrics.pop("interrupted"):
                    return "stale"
            else:
                metrics = dict(tags["metrics"])
            metrics.setdefault("T_eff", a.get("T_eff"))
            metrics.setdefault("run_time", a.get("run_time"))
            self.set_ok(p, metrics, wall_time=a.get("sweep_wall_time"),
                        session=a.get("sweep_session"), worker=a.get("sweep_worker"))
        except (OSError, KeyError, ConfigError):
            return "stale"
        return "ok"

    def set_ok(self, p: SweepPoint, metrics: dict, *, wall_time, session, worker) -> None:
        r = self.rows[p.point_id]
        r.update(status="ok", error="", wall_time=wall_time, session=session, worker=worker or "")
        scalars = {k: float(v) for k, v in metrics.items() if _is_number(v) or isinstance(v, bool)}
        pe = scalars.get("posterior_error", scalars.get("cov_error", scalars.get("tv_u")))
        scalars["posterior_error"] = float("nan") if pe is None else pe
        for m in CORE_METRICS:
            r[m] = scalars.get(m, float("nan"))
        for k, v in scalars.items():
            if k not in r:
                r[k] = v

    def set_failed(self, p: SweepPoint, error: str, *, wall_time, session, worker) -> None:
        r = self.rows[p.point_id]
        for k in [k for k in r if k not in self._base_row(p)]:
            del r[k]
        r.update(status="failed", error=error, wall_time=wall_time, session=session,
                 worker=worker or "")

    def index(self, interrupted=False) -> SweepIndex:
        base = list(self._base_row(self.sweep.points[0]).keys()) if self.sweep.points else []
        extra = sorted({k for r in self.rows.values() for k in r} - set(base))
        columns = base + extra
        metric_columns = extra + ["wall_time", *CORE_METRICS]
        units = {**{c: metric_unit(c) for c in metric_columns if c in columns},
                 **{f"{k} [{u}]": u for k, u in self.si_units.items()}}
        rows = [{c: r.get(c, float("nan") if c in extra else None) for c in columns}
                for r in self.rows.values()]
        return SweepIndex(columns, rows, path=self.out, units=units, interrupted=interrupted)

    def write(self, interrupted=False) -> SweepIndex:
        index = self.index(interrupted)
        c = index.counts
        attrs = {"sweep_file": str(self.sweep.path or ""), "base": str(self.sweep.base_path or ""),
                 "n_points": len(index), "n_ok": c["ok"], "n_failed": c["failed"],
                 "n_pending": c["pending"], "session": self.session,
                 "interrupted": interrupted, "updated": _now()}
        _write_index(self.out, index, attrs)
        return index


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


