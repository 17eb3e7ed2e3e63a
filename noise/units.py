"""Physical quantities as text: unit strings parsed to SI floats, SI floats shown with prefixes.

The one home of the project's units (SI stored internally, unit strings only at the edges):
:func:`parse_quantity` turns ``"10 fF"`` into ``1e-14`` after checking that its dimension is
the one the field expects (config files, ``--set``, sweep keys), and :func:`format_si` shows
``1e-14`` as ``"10 fF"`` (tables, summaries, messages). Errors are
:class:`models.constraints.ParameterError` naming the field, the expected unit and the value.
"""

from __future__ import annotations

import math
import re

from models.constraints import ParameterError

__all__ = ["PREFIXES", "UNITS", "SI_SYMBOL", "parse_quantity", "format_si", "si_value"]

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
    ParameterError
        If the string cannot be parsed or carries a unit of another dimension.
    """
    unit = SI_SYMBOL[dimension]
    expected = f"a {dimension.replace('_', ' ')} with a unit in {unit} (SI prefixes allowed)"
    if isinstance(value, bool) or not isinstance(value, str):
        raise ParameterError(field, f"{expected} (a quoted string)", value)
    match = _QUANTITY.match(value)
    if match is None:
        raise ParameterError(field, expected, value)
    number, token = match.groups()
    if token is None:
        raise ParameterError(field, f"{expected}; the unit is missing", value)
    parsed = _split_unit(token)
    if parsed is None:
        raise ParameterError(field, f"{expected}; unknown unit {token!r}", value)
    scale, dim = parsed
    if dim != dimension:
        raise ParameterError(field, f"{expected}; {token!r} is a unit of {dim}", value)
    result = float(number) * scale
    if not math.isfinite(result):
        raise ParameterError(field, expected, value)
    return result


def si_value(value) -> tuple[float, str] | None:
    """``(SI float, unit symbol)`` if ``value`` is a quantity string such as ``"10 fF"``, else
    None (any dimension of :data:`SI_SYMBOL`)."""
    if not isinstance(value, str):
        return None
    for dim, unit in SI_SYMBOL.items():
        try:
            return parse_quantity(value, dim, "value"), unit
        except ParameterError:
            continue
    return None


_DISPLAY_PREFIXES = {
    -24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "u", -3: "m",
    0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E", 21: "Z", 24: "Y",
}


def format_si(value, unit: str, *, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix: ``format_si(1e-14, "F") == "10 fF"``.

    ``'u'`` is used for micro (``"1 uS"``); ``digits`` significant digits, trailing zeros dropped
    (``"2.5 ns"``).  Zero gives ``"0 F"``; values beyond the prefix range fall back to e-notation.
    """
    x = float(value)
    if x == 0.0 or not math.isfinite(x):
        return f"{x:g} {unit}".rstrip()
    exp3 = int(math.floor(math.log10(abs(x)) / 3.0)) * 3
    exp3 = min(max(exp3, -24), 24)
    mant = float(f"{x / 10.0**exp3:.{digits}g}")
    if abs(mant) >= 1000.0 and exp3 < 24:          # rounding carried into the next prefix
        exp3 += 3
        mant = float(f"{x / 10.0**exp3:.{digits}g}")
    if not (1.0 <= abs(mant) < 1000.0):             # outside y..Y
        return f"{x:.{digits}g} {unit}".rstrip()
    return f"{mant:.{digits}g} {_DISPLAY_PREFIXES[exp3]}{unit}"
