"""Reading one field of a config table: the config's wording of :mod:`models.constraints`.

Every helper takes the table (a dict), the key and the table's dotted name, and returns the
value converted (SI float for quantities) or the default; a bad value raises
:class:`~circuit_sim.errors.ConfigError` naming ``<where>.<key>``.
"""

from __future__ import annotations

import contextlib
import contextvars

from models import constraints as c
from noise import parse_quantity

from ..errors import ConfigError

__all__ = ["check_keys", "number", "quantity", "choice", "flag", "table", "recording"]

#: While :func:`recording` is active: what each helper was asked to read (the config
#: reference, :mod:`.reference`, is generated from it).
_RECORD: contextvars.ContextVar = contextvars.ContextVar("config_fields_record", default=None)


@contextlib.contextmanager
def recording():
    """Record every field the helpers read: yields a dict ``{"tables": {where: (label,
    allowed keys)}, "fields": {(label, key): spec}}``; a spec holds ``kind``
    (number, integer, quantity, choice, flag), ``default``, and ``dimension``, ``low``,
    ``high``, ``low_open`` or ``choices``."""
    rec = {"tables": {}, "fields": {}}
    token = _RECORD.set(rec)
    try:
        yield rec
    finally:
        _RECORD.reset(token)


def _note(where: str, key: str, **spec) -> None:
    rec = _RECORD.get()
    if rec is not None:
        label = "noise" if where.startswith("noise") and key == "kind" else \
            rec["tables"].get(where, (where, ()))[0]
        rec["fields"].setdefault((label, key), spec)


def check_keys(section: dict, allowed, where: str) -> None:
    """Every key of ``section`` is one of ``allowed``."""
    rec = _RECORD.get()
    if rec is not None:
        label = where
        if where.startswith("noise") and isinstance(section, dict) and "kind" in section:
            label = f"noise (kind = \"{section['kind']}\")"
        old = rec["tables"].get(where, (label, ()))[1]
        rec["tables"][where] = (label, tuple(dict.fromkeys((*old, *allowed))))
        rec.setdefault("labels", {}).setdefault(label, [])
        rec["labels"][label] = list(dict.fromkeys((*rec["labels"][label], *allowed)))
    c.keys(section, allowed, where)


def table(d, name: str) -> dict:
    """``d`` is a TOML table (``[name]``)."""
    if not isinstance(d, dict):
        raise ConfigError(f"[{name}]", "a table", d)
    return d


def number(section: dict, key: str, where: str, default=None, *, low=None, high=None,
           low_open: bool = False, integer: bool = False):
    """A number (or integer) in ``[low, high]`` (``low_open``: strictly above ``low``)."""
    _note(where, key, kind="integer" if integer else "number", default=default, low=low,
          high=high, low_open=low_open)
    value = section.get(key, default)
    if value is None:
        return None
    name = f"{where}.{key}"
    if integer:
        if isinstance(value, float) or isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, "an integer", value)
        return c.integer(name, value, lower=low, upper=high)
    return c.number(name, value, low=low, high=high, low_open=low_open)


def quantity(section: dict, key: str, dimension: str, where: str, default=None, *,
             positive: bool = True, allow_zero: bool = False):
    """A quantity with a unit (``"10 fF"``), returned in SI; ``> 0`` unless ``allow_zero``."""
    _note(where, key, kind="quantity", dimension=dimension, default=default,
          low=(0.0 if positive else None), low_open=positive and not allow_zero)
    value = section.get(key, default)
    if value is None:
        return None
    name = f"{where}.{key}"
    result = parse_quantity(value, dimension, name)
    if positive and (result < 0 or (result == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(name, f"a {dimension.replace('_', ' ')} {bound}", value)
    return result


def choice(section: dict, key: str, choices, where: str, default):
    """One of ``choices``."""
    _note(where, key, kind="choice", choices=tuple(choices), default=default)
    return c.choice(f"{where}.{key}", section.get(key, default), choices)


def flag(section: dict, key: str, where: str, default: bool = False) -> bool:
    """``true`` or ``false``."""
    _note(where, key, kind="flag", default=default)
    return c.boolean(f"{where}.{key}", section.get(key, default), expected="true or false")
