"""Sweep files: a base config and the design points to run, expanded and validated.

Parameter sweeps: many design points of one config, run in parallel on Dask, resumable.

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
``batch = false`` runs every point on its own; by default points that differ only in
``mismatch.first_chip`` run together as one ensemble (:func:`circuit_sim.sweep.runner.plan_batches`).

Every point's config is validated before any work starts; all bad points are reported
together (:class:`SweepError`, a :class:`~circuit_sim.errors.ConfigError`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, dumps_toml, flatten, set_key
from ..config.keys import normalise_key
from ..config.toml import read_toml
from ..errors import ConfigError

__all__ = ["SweepError", "SweepPoint", "Sweep", "load_sweep", "expand_sweep", "SWEEP_KEYS"]

SWEEP_KEYS = ("base", "grid", "points", "overrides", "combine", "description", "batch")


# --------------------------------------------------------------------------- errors
class SweepError(ConfigError):
    """A sweep file is invalid; ``problems`` lists every bad point (one line each)."""

    def __init__(self, field: str, expected: str, given, problems=()):
        super().__init__(field, expected, given)
        self.problems = list(problems)
        if self.problems:
            self.args = ("\n".join([self.args[0]] + [f"  {p}" for p in self.problems]),)


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _sha1(obj) -> str:
    return hashlib.sha1(_canonical(obj).encode()).hexdigest()


def _fmt_value(v) -> str:
    return repr(v) if isinstance(v, str) else _canonical(v)


def _fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={_fmt_value(v)}" for k, v in params.items()) or "(base config)"


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
    #: points that differ only in their device draw run as one ensemble (runner.plan_batches)
    batch: bool = True


def toml_source(d: dict) -> str | None:
    """A point's config as TOML text (its file's ``config``), or None if it has no TOML form."""
    try:
        return dumps_toml(d)
    except (TypeError, ValueError):
        return None


def _read_toml(path: Path, what: str) -> dict:
    return read_toml(path, what)[0]


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
    overrides = flatten(data.get("overrides", {}))
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError("sweep.grid", "a table of dotted keys -> lists of values", grid)
    grid = flatten(grid, until_list=True)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{key}", "a non-empty list of values", values)
    explicit = data.get("points", [])
    if not isinstance(explicit, list) or not all(isinstance(p, dict) for p in explicit):
        raise ConfigError("sweep.points", "[[points]] tables of dotted keys -> values", explicit)
    explicit = [flatten(p) for p in explicit]
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
                source = toml_source(d)
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
    return Sweep(Path(path) if path is not None else None, base_path, keys, points, overrides,
                 _batch_flag(data))


def _batch_flag(data: dict) -> bool:
    batch = data.get("batch", True)
    if not isinstance(batch, bool):
        raise ConfigError("sweep.batch", "true or false", batch)
    return batch


@contextlib.contextmanager
def _warnings_once():
    with warnings.catch_warnings():
        warnings.simplefilter("once")
        yield


