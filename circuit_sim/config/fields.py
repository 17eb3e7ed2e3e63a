"""Reading one field of a config table: the config's wording of :mod:`models.constraints`.

Every helper takes the table (a dict), the key and the table's dotted name, and returns the
value converted (SI float for quantities) or the default; a bad value raises
:class:`~circuit_sim.errors.ConfigError` naming ``<where>.<key>``.
"""

from __future__ import annotations

from models import constraints as c
from noise import parse_quantity

from ..errors import ConfigError

__all__ = ["check_keys", "number", "quantity", "choice", "flag", "table"]


def check_keys(section: dict, allowed, where: str) -> None:
    """Every key of ``section`` is one of ``allowed``."""
    c.keys(section, allowed, where)


def table(d, name: str) -> dict:
    """``d`` is a TOML table (``[name]``)."""
    if not isinstance(d, dict):
        raise ConfigError(f"[{name}]", "a table", d)
    return d


def number(section: dict, key: str, where: str, default=None, *, low=None, high=None,
           low_open: bool = False, integer: bool = False):
    """A number (or integer) in ``[low, high]`` (``low_open``: strictly above ``low``)."""
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
    return c.choice(f"{where}.{key}", section.get(key, default), choices)


def flag(section: dict, key: str, where: str, default: bool = False) -> bool:
    """``true`` or ``false``."""
    return c.boolean(f"{where}.{key}", section.get(key, default), expected="true or false")
