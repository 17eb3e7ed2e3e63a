"""Physical quantities in configuration files: unit strings parsed once, SI floats afterwards.

Config files carry physical values as strings with a unit (``"10 fF"``, ``"1 uS"``,
``"300 K"``). :func:`parse_quantity` turns such a string into an SI float after
checking that its dimension is the one the field expects, so that a wrong unit is
reported once, at the boundary, naming the field, the expected unit and the value.
Inside the library every physical value is an SI float; Brian2 ``Quantity`` objects are
created only where the network is built (:mod:`circuit_sim.network`).
"""

from __future__ import annotations

import math
import re

from .errors import ConfigError

#: SI prefixes accepted in unit strings ('u' and 'µ' both mean micro).
PREFIXES = {
    "y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9,
    "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "c": 1e-2, "k": 1e3, "M": 1e6,
    "G": 1e9, "T": 1e12,
}

#: Base units: symbol -> (dimension name, SI unit shown in messages).
UNITS = {
    "F": "capacitance",
    "S": "conductance",
    "V": "voltage",
    "A": "current",
    "K": "temperature",
    "s": "time",
    "Hz": "frequency",
    "ohm": "resistance",
    "Ohm": "resistance",
    "Ω": "resistance",
    "W": "power",
    "J": "energy",
    "m": "length",
    "A^2/Hz": "current_psd",
    "A2/Hz": "current_psd",
}

#: The SI unit symbol used to display each dimension.
SI_SYMBOL = {
    "capacitance": "F", "conductance": "S", "voltage": "V", "current": "A",
    "temperature": "K", "time": "s", "frequency": "Hz", "resistance": "ohm",
    "power": "W", "energy": "J", "length": "m", "current_psd": "A^2/Hz",
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([^\s\d.+-][^\s]*)?\s*$")


def _split_unit(token: str) -> tuple[float, str] | None:
    """Return ``(scale, dimension)`` for a unit token such as ``'fF'`` or ``'ms'``."""
    if token in UNITS:
        return 1.0, UNITS[token]
    for plen in (1,):
        prefix, base = token[:plen], token[plen:]
        if prefix in PREFIXES and base in UNITS:
            scale = PREFIXES[prefix]
            if UNITS[base] == "current_psd":  # the prefix applies to A, which is squared
                scale = scale**2
            return scale, UNITS[base]
    return None


def parse_quantity(value, dimension: str, field: str) -> float:
    """Parse ``value`` as a physical quantity of the given dimension; return SI float.

    Parameters
    ----------
    value : str
        A number followed by a unit, e.g. ``"10 fF"``, ``"1e-6 S"``, ``"300 K"``.
        A bare number is accepted only for dimensionless fields.
    dimension : str
        One of the keys of :data:`SI_SYMBOL` (``"capacitance"``, ``"time"``, ...).
    field : str
        Dotted name of the config field, used in error messages (``"circuit.capacitance"``).

    Returns
    -------
    float
        The value in SI units (F, S, V, A, K, s, Hz, ohm, W, J, m).

    Raises
    ------
    ConfigError
        If the string cannot be parsed or carries a unit of another dimension.
    """
    unit = SI_SYMBOL[dimension]
    expected = f"a {dimension.replace('_', ' ')} with a unit in {unit} (SI prefixes allowed)"
    if isinstance(value, bool) or not isinstance(value, str):
        raise ConfigError(field, f"{expected} (a quoted string)", value)
    match = _QUANTITY.match(value)
    if match is None:
        raise ConfigError(field, expected, value)
    number, token = match.groups()
    if token is None:
        raise ConfigError(field, f"{expected}; the unit is missing", value)
    parsed = _split_unit(token)
    if parsed is None:
        raise ConfigError(field, f"{expected}; unknown unit {token!r}", value)
    scale, dim = parsed
    if dim != dimension:
        raise ConfigError(field, f"{expected}; {token!r} is a unit of {dim}", value)
    result = float(number) * scale
    if not math.isfinite(result):
        raise ConfigError(field, expected, value)
    return result
