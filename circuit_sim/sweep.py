"""Parameter sweeps: many design points of one config, run in parallel on Dask, resumable.

The sweep file (TOML; a public contract)::

    base = "../configs/gaussian_2d.toml"    # a config file, relative to the sweep file
                                            # (or a [base] table holding a whole config)
    combine = "append"                      # optional: how [grid] and [[points]] combine
    [overrides]                             # optional: set for every point (not swept)
    "run.backend" = "numpy"
    "run.duration" = "20 us"
    [grid]                                  # Cartesian product of the lists
    "circuit.capacitance" = ["1 fF", "10 fF"]
    "run.seed" = [1, 2]
    [[points]]                              # optional: explicit points, dotted keys -> value
    "circuit.capacitance" = "3 fF"
    "noise.0.gamma" = 2.0

Dotted keys address the config's TOML tables: ``circuit.capacitance``, ``run.seed``,
``model.pi``, ``learning.dictionary_time_constant``, ``noise.0.fill_to`` (the first
``[[noise]]`` entry; ``noise[0].fill_to`` is accepted too), ``model.dictionary.0.1``
(an element of a list). An index one past the end of a list appends a new entry
(``noise.2.kind = "shot"`` adds a source). Unquoted dotted keys (TOML nested tables) work
the same as quoted ones. Values are what the config file takes (``"10 fF"``). With
``combine = "append"`` (the default) the explicit points follow the grid's; with
``combine = "product"`` every explicit point is combined with every grid point.

Every point's config is validated before any work starts; all bad points are reported
together (:class:`SweepError`, a :class:`~circuit_sim.errors.ConfigError`).

Output directory::

    DIR/index.csv, DIR/index.h5     one row per point: point_id, index, the swept keys (as
                                    given, and "key [unit]" in SI for quantities), status
                                    (ok | failed | pending), error, wall_time, session,
                                    worker, T_eff, posterior_error, ess_per_second,
                                    energy_per_sample, then the other scalar metrics
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
import copy
import csv
import datetime as _dt
import fcntl
import hashlib
import importlib
import itertools
import json
import math
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Config, dumps_toml
from .errors import ConfigError
from .units import SI_SYMBOL, parse_quantity

__all__ = ["SweepError", "SweepPoint", "Sweep", "SweepIndex", "load_sweep", "expand_sweep",
           "run_sweep", "read_index", "run_point", "dask_setup", "cmd_sweep",
           "add_sweep_arguments"]

#: Metrics that every index has (NaN where a point's result lacks them).
CORE_METRICS = ("T_eff", "posterior_error", "ess_per_second", "energy_per_sample")
#: Units of the index's columns that have one (SI columns of swept keys add theirs).
METRIC_UNITS = {"wall_time": "s", "T_eff": "1", "posterior_error": "1", "ess_per_second": "1/s",
                "energy_per_sample": "J", "tau_u": "s", "dt": "s", "autocorrelation_time": "s",
                "ess": "1", "power_per_unit": "W", "power_total": "W", "run_time": "s",
                "h": "1", "lambda_max": "1"}
SWEEP_KEYS = ("base", "grid", "points", "overrides", "combine", "description")
STATUSES = ("ok", "failed", "pending")


# --------------------------------------------------------------------------- errors
class SweepError(ConfigError):
    """A sweep file is invalid; ``problems`` lists every bad point (one line each)."""

    def __init__(self, field: str, expected: str, given, problems=()):
        super().__init__(field, expected, given)
        self.problems = list(problems)
        if self.problems:
            self.args = ("\n".join([self.args[0]] + [f"  {p}" for p in self.problems]),)


# --------------------------------------------------------------------------- dotted keys
_BRACKET = re.compile(r"\[(\d+)\]")


def normalise_key(key: str) -> str:
    """``noise[0].fill_to`` -> ``noise.0.fill_to``; ``config.foo`` (an error field) -> ``foo``."""
    key = _BRACKET.sub(r".\1", str(key)).strip().strip("[]")
    return key[len("config."):] if key.startswith("config.") else key


def _parts(key: str) -> list:
    parts = key.split(".")
    if len(parts) < 2 or any(p.strip() == "" for p in parts):
        raise ConfigError(key, "a dotted config key section.key (e.g. circuit.capacitance, "
                          "run.seed, noise.0.fill_to)", key)
    return [int(p) if p.isdigit() else p for p in parts]


def set_key(d: dict, key: str, value) -> None:
    """Set the dotted ``key`` of the config dict ``d`` (in place) to ``value``."""
    parts = _parts(key)
    node = d
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(map(str, parts[:depth + 1]))
        nxt = parts[depth + 1]
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node:
                if depth > 0:
                    raise ConfigError(key, f"a key below an existing table ({here} is not in the "
                                      "config)", key)
                node[part] = [] if isinstance(nxt, int) else {}
            elif depth == 0 and isinstance(nxt, int) and isinstance(node[part], dict):
                node[part] = [node[part]]  # a single [noise] table: a list of one
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part == len(node):
                node.append([] if isinstance(nxt, int) else {})
            elif part > len(node):
                raise ConfigError(key, f"an index <= {len(node)} into {here.rsplit('.', 1)[0]} "
                                  f"(it has {len(node)} entries)", part)
            node = node[part]
        else:
            what = "an index (a list)" if isinstance(node, list) else \
                "a key (a table)" if isinstance(node, dict) else f"nothing (a value: {node!r})"
            raise ConfigError(key, f"a path into the config; {here.rsplit('.', 1)[0]} takes {what}",
                              part)
    last = parts[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    else:
        what = "an index (a list)" if isinstance(node, list) else \
            "a key (a table)" if isinstance(node, dict) else f"nothing (a value: {node!r})"
        raise ConfigError(key, f"a path into the config; its parent takes {what}", last)


def _flatten(table: dict, prefix: str = "", *, until_list: bool = False) -> dict:
    """Nested TOML tables -> dotted keys (unquoted ``circuit.capacitance = ...`` in TOML)."""
    out = {}
    for k, v in table.items():
        key = normalise_key(f"{prefix}.{k}" if prefix else str(k))
        if isinstance(v, dict) and (until_list or v):
            out.update(_flatten(v, key, until_list=until_list))
        else:
            out[key] = v
    return out


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _sha1(obj) -> str:
    return hashlib.sha1(_canonical(obj).encode()).hexdigest()


def _fmt_value(v) -> str:
    return repr(v) if isinstance(v, str) else _canonical(v)


def _fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={_fmt_value(v)}" for k, v in params.items()) or "(base config)"


def si_value(value):
    """``(SI float, unit)`` if ``value`` is a quantity string such as ``"10 fF"``, else None."""
    if not isinstance(value, str):
        return None
    for dim, unit in SI_SYMBOL.items():
        try:
            return parse_quantity(value, dim, "value"), unit
        except ConfigError:
            continue
    return None


# --------------------------------------------------------------------------- the sweep file
@dataclass
class SweepPoint:
    """One design point: its position, id, swept values and validated config."""

    index: int
    point_id: str
    params: dict
    config: Config
    config_dict: dict
    config_sha1: str
    source: str | None = None


@dataclass
class Sweep:
    """A parsed, validated sweep file."""

    path: Path | None
    base_path: Path | None
    keys: list
    points: list
    overrides: dict = field(default_factory=dict)


def _read_toml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise ConfigError(what, "an existing TOML file", str(path))
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path}", "valid TOML", str(exc)) from None


def _unknown_key_error(exc: ConfigError, key: str) -> bool:
    """Is ``exc`` (from validating a config with ``key`` set) a complaint that ``key`` does
    not exist (not one about its value)?"""
    if not str(exc.expected).startswith("one of the keys"):
        return False
    f = normalise_key(exc.field)
    return key == f or key.startswith(f + ".")


def load_sweep(path) -> Sweep:
    """Read a sweep file, expand its points and validate every point's config.

    Raises
    ------
    ConfigError
        The file is missing or not valid TOML, a key is unknown, or (:class:`SweepError`)
        some points are invalid: all of them are listed, each with its swept values and the
        config error.
    """
    path = Path(path)
    data = _read_toml(path, "sweep file")
    for k in data:
        if k not in SWEEP_KEYS:
            raise ConfigError(f"sweep.{k}", f"one of the keys {', '.join(SWEEP_KEYS)}", k)
    if "base" not in data:
        raise ConfigError("sweep.base", "a config file (path relative to the sweep file) or a "
                          "[base] table", None)
    base = data["base"]
    base_path = None
    if isinstance(base, str):
        base_path = (path.parent / base).resolve()
        base_dict = _read_toml(base_path, "sweep.base")
    elif isinstance(base, dict):
        base_dict = copy.deepcopy(base)
    else:
        raise ConfigError("sweep.base", "a config file path or a [base] table", base)
    return expand_sweep(data, base_dict, path=path, base_path=base_path)


def expand_sweep(data: dict, base_dict: dict, *, path=None, base_path=None) -> Sweep:
    """Expand a parsed sweep table against a base config dict (see :func:`load_sweep`)."""
    combine = data.get("combine", "append")
    if combine not in ("append", "product"):
        raise ConfigError("sweep.combine", "one of 'append', 'product'", combine)
    overrides = _flatten(data.get("overrides", {}))
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError("sweep.grid", "a table of dotted keys -> lists of values", grid)
    grid = _flatten(grid, until_list=True)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{key}", "a non-empty list of values", values)
    explicit = data.get("points", [])
    if not isinstance(explicit, list) or not all(isinstance(p, dict) for p in explicit):
        raise ConfigError("sweep.points", "[[points]] tables of dotted keys -> values", explicit)
    explicit = [_flatten(p) for p in explicit]
    grid_points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] \
        if grid else []
    if combine == "product" and grid_points and explicit:
        param_list = [{**e, **g} for e in explicit for g in grid_points]
    else:
        param_list = grid_points + explicit
    if not param_list:
        raise ConfigError("sweep", "a [grid] table or [[points]] tables", "neither")

    keys = []
    for p in param_list:
        keys += [k for k in p if k not in keys]

    # structure first, reported once per key: a path that does not fit the config, or a
    # key the config does not know
    if isinstance(base_dict.get("noise"), dict):
        base_dict = {**base_dict, "noise": [base_dict["noise"]]}
    base = copy.deepcopy(base_dict)
    for k, v in overrides.items():
        set_key(base, k, v)
    for key in keys:
        probe_value = next(p[key] for p in param_list if key in p)
        probe = copy.deepcopy(base)
        set_key(probe, key, probe_value)  # raises ConfigError naming the key
        try:
            with _warnings_once():
                Config.from_dict(probe)
        except ConfigError as exc:
            if _unknown_key_error(exc, key):
                raise ConfigError(key, f"a key the config knows ({exc.field}: {exc.expected})",
                                  key) from None
        except Exception:  # noqa: BLE001 -- value problems are reported per point below
            pass

    width = max(4, len(str(len(param_list) - 1)))
    points, problems = [], []
    with _warnings_once():
        for i, params in enumerate(param_list):
            d = copy.deepcopy(base)
            try:
                for k, v in params.items():
                    set_key(d, k, v)
                try:
                    source = dumps_toml(d)
                except (TypeError, ValueError):
                    source = None
                cfg = Config.from_dict(d, source=source)
            except ConfigError as exc:
                problems.append(f"point {i} ({_fmt_params(params)}): {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 -- anything the config cannot take
                problems.append(f"point {i} ({_fmt_params(params)}): {type(exc).__name__}: {exc}")
                continue
            pid = f"p{i:0{width}d}-{_sha1(params)[:8]}"
            points.append(SweepPoint(i, pid, params, cfg, d, _sha1(d), source))
    if problems:
        where = str(path) if path is not None else "sweep"
        raise SweepError(where, "a valid config at every point",
                         f"{len(problems)} bad point(s) of {len(param_list)}", problems)
    return Sweep(Path(path) if path is not None else None, base_path, keys, points, overrides)


@contextlib.contextmanager
def _warnings_once():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("once")
        yield


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


def _py(v):
    """numpy scalars / bytes from h5py attributes -> plain Python values."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


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
    import h5py

    def write_csv(tmp: Path):
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(index.columns)
            for r in index.rows:
                w.writerow([_csv_cell(r.get(c)) for c in index.columns])

    def write_h5(tmp: Path):
        with h5py.File(tmp, "w") as f:
            for c in index.columns:
                values = [r.get(c) for r in index.rows]
                if all(_is_number(v) or v is None for v in values):
                    if values and all(isinstance(v, (int, np.integer)) for v in values):
                        data = np.array(values, dtype=np.int64)
                    else:
                        data = np.array([np.nan if v is None else float(v) for v in values])
                else:
                    data = np.array(["" if v is None else v if isinstance(v, str) else
                                     _csv_cell(v) for v in values],
                                    dtype=h5py.string_dtype())
                d = f.create_dataset(c, data=data)
                d.attrs["units"] = index.units.get(c, "")
            f.attrs["columns"] = np.array(index.columns, dtype=h5py.string_dtype())
            for k, v in attrs.items():
                f.attrs[k] = v

    _atomic_write(out / "index.csv", write_csv)
    _atomic_write(out / "index.h5", write_h5)


def read_index(out_dir) -> SweepIndex:
    """Read ``DIR/index.h5`` back as a :class:`SweepIndex`."""
    import h5py

    out = Path(out_dir)
    with h5py.File(out / "index.h5", "r") as f:
        columns = [_py(c) for c in f.attrs["columns"]]
        data = {c: [_py(v) for v in f[c][()]] for c in columns}
        units = {c: _py(f[c].attrs.get("units", "")) for c in columns}
        interrupted = bool(f.attrs.get("interrupted", False))
    n = len(data[columns[0]]) if columns else 0
    rows = [{c: data[c][i] for c in columns} for i in range(n)]
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
        import h5py

        path = self.h5_path(p)
        if not path.is_file():
            return "missing"
        try:
            with h5py.File(path, "r") as f:
                a = f.attrs
                learned = "metrics" not in f and "stats" in f  # a learning point's file
                if _py(a.get("sweep_point_id")) != p.point_id or \
                        _py(a.get("sweep_config_sha1")) != p.config_sha1 or \
                        ("metrics" not in f and not learned):
                    return "stale"
            if learned:
                metrics = _learning_metrics(path, p.config)
                if metrics.pop("interrupted"):
                    return "stale"
            else:
                with h5py.File(path, "r") as f:
                    metrics = {k: _py(v) for k, v in f["metrics"].attrs.items()}
            with h5py.File(path, "r") as f:
                a = f.attrs
                metrics.setdefault("T_eff", _py(a.get("T_eff")))
                metrics.setdefault("run_time", _py(a.get("run_time")))
                self.set_ok(p, metrics, wall_time=_py(a.get("sweep_wall_time")),
                            session=_py(a.get("sweep_session")), worker=_py(a.get("sweep_worker")))
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
        units = {**{c: u for c, u in METRIC_UNITS.items() if c in columns},
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


# --------------------------------------------------------------------------- the worker side
_TASK_LOCK = threading.Lock()  # Brian2's global state: one point at a time per process


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": ")


def _worker_slot() -> str:
    """A name for this worker process, stable across sessions where Dask gives one (the
    LocalCluster's workers are named 0, 1, ...): caches keyed by it are reused on resume."""
    name = None
    with contextlib.suppress(Exception):
        from distributed import get_worker

        name = get_worker().name
    if name is None or name == "":
        return f"{socket.gethostname()}-pid{os.getpid()}"
    return f"{socket.gethostname()}-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def dask_setup(worker=None) -> None:
    """Dask preload for sweep workers (the local cluster uses it; for your own workers:
    ``dask worker ADDRESS --nthreads 1 --preload circuit_sim.sweep``).

    Imports Brian2 in the worker's main thread (Brian2 installs a SIGINT handler when it is
    imported, which only works there) and then ignores SIGINT: a Ctrl-C in the terminal
    reaches every process of the group, and it is the client's to handle (stop submitting,
    write the index, close the cluster); a worker that saw it would stop its Brian2 run
    half-way.
    """
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import brian2  # noqa: F401

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_point(config_dict: dict, source: str | None, cache_root: str,
              local_dir: str | None = None, marker: str | None = None) -> dict:
    """Run one point (in a Dask worker); never raises for a failing simulation.

    Sets ``OPENBLAS_NUM_THREADS=1``; gives this worker process build caches of its own,
    ``cache_root/worker-<host>-<name>/``: Brian2's cython cache (``cython/``) and the
    standalone project cache (``CIRCUIT_SIM_CACHE``, ``standalone/``), so that workers
    never wait for, or rebuild around, each other's builds; validates the config, runs
    :func:`run_inference` and writes the result to an HDF5 file: into ``local_dir`` when
    this process sees the sweep directory (``marker`` exists there), else to a temporary
    file whose bytes are returned.
    """
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    host, pid = socket.gethostname(), os.getpid()
    worker = f"{host}:{pid}"
    t0 = time.perf_counter()
    with _TASK_LOCK:
        try:
            import brian2

            from .simulate import run_inference

            cache = Path(cache_root) / f"worker-{_worker_slot()}"
            try:
                (cache / "cython").mkdir(parents=True, exist_ok=True)
            except OSError:
                cache = Path(tempfile.gettempdir()) / "circuit_sim_sweep_cache" / f"worker-{pid}"
                (cache / "cython").mkdir(parents=True, exist_ok=True)
            brian2.prefs.codegen.runtime.cython.cache_dir = str(cache / "cython")
            os.environ["CIRCUIT_SIM_CACHE"] = str(cache)  # standalone projects: cache/standalone
            cfg = Config.from_dict(config_dict, source=source)
            if cfg.learning is not None and cfg.input.kind != "fixed":
                # a learning point: circuit-sim learn's file, metrics from its last statistics
                return _run_learning_point(cfg, local_dir, marker, worker, t0)
            res = run_inference(cfg)
            if res.interrupted:
                raise RuntimeError("the simulation was interrupted")
            metrics = {k: _py(v) for k, v in res.metrics.items()}
            metrics = {k: v for k, v in metrics.items() if _is_number(v) or isinstance(v, bool)}
            metrics["T_eff"] = float(res.T_eff)
            metrics["run_time"] = float(res.run_time)
            out = {"status": "ok", "metrics": metrics, "worker": worker}
            if local_dir is not None and marker is not None and (Path(local_dir) / marker).exists():
                fd, tmp = tempfile.mkstemp(prefix=".result.", suffix=".h5.tmp", dir=local_dir)
                os.close(fd)
                res.to_hdf5(tmp)
                out["path"] = tmp
            else:
                with tempfile.TemporaryDirectory(prefix="circuit_sim_sweep_") as tmpdir:
                    out["h5"] = res.to_hdf5(Path(tmpdir) / "point.h5").read_bytes()
        except Exception as exc:  # noqa: BLE001 -- recorded as a failed point
            out = {"status": "failed", "error": _one_line(exc),
                   "traceback": traceback.format_exc(), "worker": worker}
    out["wall_time"] = time.perf_counter() - t0
    return out


def _learning_metrics(path, cfg) -> dict:
    """The metrics of a learning point's file: the last entry of each learning statistic,
    ``patches_seen``, the config's ``T_eff`` and ``interrupted``."""
    from .report import load_learning

    data = load_learning(path)
    m = {}
    for key, arr in data["stats"].items():
        arr = np.asarray(arr)
        if arr.ndim == 1 and arr.size and np.issubdtype(arr.dtype, np.number):
            m[key] = float(arr[-1])
    m["T_eff"] = float(cfg.noise_budget().T_eff)
    m["patches_seen"] = float(np.asarray(data["snapshots"].get("patches_seen", [np.nan]))[-1])
    m["interrupted"] = bool(data["attrs"].get("interrupted", False))
    return m


def _run_learning_point(cfg, local_dir, marker, worker: str, t0: float) -> dict:
    """A point whose config learns from a stream: :func:`run_learning` writes the point's
    file (the layout of ``circuit-sim learn``); its metrics are the last entry of each
    learning statistic (activity, reconstruction_error, kl_prior, recovery_mean, ...)."""
    from .learn import run_learning

    def metrics_of(path) -> dict:
        m = _learning_metrics(path, cfg)
        if m.pop("interrupted"):
            raise RuntimeError("the learning run was interrupted")
        return m

    out = {"status": "ok", "worker": worker}
    if local_dir is not None and marker is not None and (Path(local_dir) / marker).exists():
        fd, tmp = tempfile.mkstemp(prefix=".result.", suffix=".h5.tmp", dir=local_dir)
        os.close(fd)
        run_learning(cfg, tmp)
        out["metrics"] = metrics_of(tmp)
        out["path"] = tmp
    else:
        with tempfile.TemporaryDirectory(prefix="circuit_sim_sweep_") as tmpdir:
            path = run_learning(cfg, Path(tmpdir) / "point.h5")
            out["metrics"] = metrics_of(path)
            out["h5"] = Path(path).read_bytes()
    out["wall_time"] = time.perf_counter() - t0
    return out


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


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt (like Ctrl-C) while the sweep runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _start_client(scheduler, n_workers: int):
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError("--scheduler", "the address of a running Dask scheduler "
                              f"(tcp://host:8786) [{_one_line(exc)}]", scheduler) from None
        return client, None, f"scheduler {scheduler} ({len(client.nthreads())} workers now)"
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           preload=["circuit_sim.sweep"],
                           env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                "MKL_NUM_THREADS": "1"})
    return Client(cluster), cluster, f"a local Dask cluster ({n_workers} worker processes, 1 thread each)"


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
    points_dir = out / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    with _dir_lock(out):
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
                 "scheduler": scheduler or "local", "to_run": len(todo),
                 "skipped": n_done_before}
        log = {"sweep_file": str(Path(sweep_path).resolve()),
               "base": str(sweep.base_path or ""), "keys": sweep.keys,
               "n_points": len(sweep.points), "sessions": sessions + [entry]}
        _write_json(log_path, log)
        total = len(sweep.points)
        say(f"sweep {sweep_path}: {total} points, {n_done_before} already done"
            + (f", {stale} stale (config changed) to rerun" if stale else "")
            + f", {len(todo)} to run")
        if not todo:
            entry["finished"] = _now()
            _write_json(log_path, log)
            return book.index()
        interrupted = False
        with _sigterm_as_interrupt():
            try:
                interrupted = _execute(sweep, todo, book, out, scheduler, workers, say, total,
                                       n_done_before)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                index = book.write(interrupted=interrupted)
                c = index.counts
                entry.update(finished=_now(), ok=c["ok"], failed=c["failed"],
                             pending=c["pending"], interrupted=interrupted)
                _write_json(log_path, log)
        return index


def _execute(sweep, todo, book, out, scheduler, workers, say, total, n_done_before) -> bool:
    """Submit ``todo`` to Dask, record results as they come; True if interrupted."""
    from distributed import as_completed

    n_local = max(1, min(int(workers or os.cpu_count() or 1), len(todo)))
    marker = f".sweep-session-{book.session}-{os.getpid()}"
    (book.points_dir / marker).touch()
    client = cluster = None
    futures = {}
    t_start = time.perf_counter()
    try:
        client, cluster, what = _start_client(scheduler, n_local)
        n_workers = max(1, len(client.nthreads()))
        say(f"  on {what}; startup {time.perf_counter() - t_start:.1f} s")
        cache_root = str((out / ".cache").resolve())
        queue = list(todo)
        ac = as_completed()
        task = importlib.import_module("circuit_sim.sweep").run_point  # by reference, never __main__

        def submit_one():
            p = queue.pop(0)
            fut = client.submit(task, p.config_dict, p.source, cache_root,
                                str(book.points_dir.resolve()), marker, pure=False,
                                key=f"circuit-sim-point-{p.point_id}-s{book.session}")
            futures[fut] = p
            ac.add(fut)

        while queue and len(futures) < 2 * n_workers:
            submit_one()
        times, failed, done = [], 0, n_done_before
        for fut in ac:
            p = futures.pop(fut)
            if fut.status == "error":
                exc = fut.exception()
                tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
                result = {"status": "failed", "error": _one_line(exc) if exc else "task error",
                          "traceback": tb, "worker": "", "wall_time": None}
            elif fut.status != "finished":
                result = {"status": "failed", "error": f"Dask task {fut.status}",
                          "traceback": "", "worker": "", "wall_time": None}
            else:
                result = fut.result()
            fut.release()
            _record(p, result, book)
            if result.get("wall_time") is not None:
                times.append(result["wall_time"])
            done += 1
            failed += result["status"] != "ok"
            book.write()
            with contextlib.suppress(Exception):  # workers may come and go on a scheduler
                n_workers = max(1, len(client.nthreads()) or n_workers)
            while queue and len(futures) < 2 * n_workers:  # keep every worker fed, no more
                submit_one()
            elapsed = time.perf_counter() - t_start
            remaining = total - done
            eta = remaining * float(np.mean(times)) / n_workers if times else float("nan")
            tail = f"  {result['error']}" if result["status"] != "ok" else ""
            say(f"  [{done:{len(str(total))}d}/{total}] {result['status']:6s} {p.point_id} "
                f"{_fmt_params(p.params)} ({(result.get('wall_time') or 0):.1f} s)  "
                f"failed {failed}, elapsed {_fmt_time(elapsed)}, ETA {_fmt_time(eta)}{tail}")
        return False
    except KeyboardInterrupt:
        say(f"\n  interrupted: stopping; {len(futures)} point(s) in flight are abandoned "
            "(pending); the index keeps the finished ones")
        return True
    finally:
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


def _record(p: SweepPoint, result: dict, book: _Book) -> None:
    """Write a finished point's file (temporary name, then rename) and update its row."""
    import h5py

    final = book.h5_path(p)
    err_txt = final.with_suffix(".error.txt")
    err_json = final.with_suffix(".error.json")
    wall = result.get("wall_time")
    if result["status"] == "ok":
        try:
            if "path" in result:
                tmp = Path(result["path"])
            else:
                fd, tmp = tempfile.mkstemp(prefix=".result.", suffix=".h5.tmp", dir=book.points_dir)
                os.close(fd)
                tmp = Path(tmp)
                tmp.write_bytes(result["h5"])
            with h5py.File(tmp, "a") as f:
                a = f.attrs
                for k, v in p.params.items():
                    a[k] = v if isinstance(v, (str, int, float, bool)) else _canonical(v)
                a["sweep_params"] = _canonical(p.params)
                a["sweep_point_id"] = p.point_id
                a["sweep_index"] = p.index
                a["sweep_config_sha1"] = p.config_sha1
                a["sweep_session"] = book.session
                a["sweep_wall_time"] = float(wall) if wall is not None else float("nan")
                a["sweep_worker"] = result.get("worker", "")
                a["sweep_file"] = str(book.sweep.path or "")
            os.chmod(tmp, _file_mode())
            os.replace(tmp, final)
        except Exception as exc:  # noqa: BLE001 -- a point whose file cannot be written failed
            result.update(status="failed", error=f"writing {final.name}: {_one_line(exc)}",
                          traceback=traceback.format_exc())
            with contextlib.suppress(OSError, UnboundLocalError):
                Path(tmp).unlink()
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


# --------------------------------------------------------------------------- command line
def add_sweep_arguments(parser) -> None:
    """Add ``SWEEP --out DIR [--scheduler ADDRESS] [--workers N]`` to an argparse parser and
    set ``func=cmd_sweep``."""
    parser.add_argument("sweep", help="sweep TOML file (base config, [grid] and/or [[points]])")
    parser.add_argument("--out", help="output directory (default output/<sweep name>); "
                        "rerunning into it resumes the sweep")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default: the number of CPUs)")
    parser.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    """``circuit-sim sweep FILE.toml --out DIR [--scheduler ADDRESS] [--workers N]``.

    Exit status: 0 all points ok, 1 some failed, 130 interrupted; a bad sweep file raises
    :class:`ConfigError` (the CLI prints it and exits with 2).
    """
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ConfigError("--workers", "a positive number of worker processes", workers)
    out = getattr(args, "out", None) or str(Path("output") / Path(args.sweep).stem)
    index = run_sweep(args.sweep, out, scheduler=getattr(args, "scheduler", None),
                      workers=workers, progress=sys.stderr)
    print(index.summary())
    if index.interrupted:
        return 130
    return 1 if index.counts["failed"] else 0


def main(argv=None) -> int:
    """``python -m circuit_sim.sweep FILE.toml --out DIR`` (the same as ``circuit-sim sweep``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m circuit_sim.sweep",
                                     description="Run (or resume) a parameter sweep on Dask.")
    add_sweep_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_sweep(args)
    except ConfigError as exc:
        print(f"circuit-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    # run the importable module's main, so that Dask pickles run_point by reference
    from circuit_sim.sweep import main as _main

    sys.exit(_main())
