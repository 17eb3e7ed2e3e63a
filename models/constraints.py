"""The project's one way to validate a parameter, and its one error format.

Every bad value anywhere in the project -- a config field (``circuit_sim``), a function
argument of ``models`` or ``noise`` -- is reported as a :class:`ParameterError`, a
``ValueError`` whose message reads::

    <field>: expected <what was expected>, got <value given>

on one line, so that a user sees which field is wrong, what would be right and what they
gave. ``circuit_sim.ConfigError`` is this same class (also named ``ParameterError``). The checks below build the
"expected" text from the constraint (``"a number > 0 and <= 1"``, ``"an integer >= 1"``,
``"one of 'numpy', 'cython'"``) unless the caller words it (``expected=...``). They return
the value converted (``float``, ``int``, ``bool``, an array).

This module imports only numpy; ``models``, ``noise`` and ``circuit_sim`` all use it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["ConfigError", "ParameterError", "bad_input", "real_scalar", "number", "integer", "boolean",
           "choice", "keys", "generator", "float_array", "edges_array", "Shown"]


class Shown(str):
    """A value already formatted for a message (its ``repr`` is the text itself), e.g.
    ``Shown("shape (2, 3)")`` reads ``got shape (2, 3)`` rather than ``got 'shape (2, 3)'``."""

    def __repr__(self) -> str:
        return str(self)


class ConfigError(ValueError):
    """A parameter (a config field, a command-line option or a function argument) has an
    invalid value. (Named for what users meet it as; ``ParameterError`` is the same class.)

    Parameters
    ----------
    field : str
        Dotted name of the field (``"circuit.capacitance"``, ``"noise[1].kind"``) or the
        argument's name (``"sigma"``).
    expected : str
        What the field should hold, with its unit or range.
    given : object
        The value that was given; shown with ``repr`` (wrap preformatted text in
        :class:`Shown`).
    """

    def __init__(self, field: str, expected: str, given):
        self.field = field
        self.expected = expected
        self.given = given
        super().__init__(f"{field}: expected {expected}, got {given!r}")

    def __reduce__(self):  # picklable (Dask ships errors between processes)
        return (type(self), (self.field, self.expected, self.given))


#: The same class under the name used in ``models`` and ``noise``.
ParameterError = ConfigError


def bad_input(field: str, expected: str, got: str) -> ParameterError:
    """The standard error with a preformatted ``got`` text (``"shape (4, 3)"``)."""
    return ParameterError(field, expected, Shown(got))


def _range_text(kind: str, low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return kind + ("" if not parts else " " + " and ".join(parts))


def _in_range(v: float, low, high, low_open: bool, high_open: bool) -> bool:
    if low is not None and (v < low or (low_open and v == low)):
        return False
    if high is not None and (v > high or (high_open and v == high)):
        return False
    return True


def number(field: str, value, *, low=None, high=None, low_open: bool = False,
           high_open: bool = False, kind: str = "a number", expected: str | None = None,
           coerce: bool = False) -> float:
    """A finite real number in a range, returned as ``float``.

    ``kind`` words the type in the message (``"a number"``, ``"a finite float"``);
    ``expected`` replaces the whole generated text. Booleans are rejected; with
    ``coerce`` anything ``float()`` accepts is taken (numpy scalars, numeric strings).
    """
    text = expected or _range_text(kind, low, high, low_open, high_open)
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(field, text, value)
    if coerce:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(field, text, value) from None
    else:
        if not isinstance(value, numbers.Real):
            raise ParameterError(field, text, value)
        v = float(value)
    if not math.isfinite(v):
        finite = (f"a finite {kind[2:]}" if expected is None and kind.startswith("a ")
                  and "finite" not in kind else text)
        raise ParameterError(field, finite, value)
    if not _in_range(v, low, high, low_open, high_open):
        raise ParameterError(field, text, value)
    return v


def real_scalar(field: str, value, *, lower: float | None = None,
                lower_inclusive: bool = True, upper: float | None = None,
                upper_inclusive: bool = True) -> float:
    """``models``' wording of :func:`number`: ``"a finite float > 0 and <= 1"``."""
    return number(field, value, low=lower, high=upper, low_open=not lower_inclusive,
                  high_open=not upper_inclusive, kind="a finite float")


def integer(field: str, value, *, lower: int | None = None, upper: int | None = None,
            expected: str | None = None) -> int:
    """An integer (not bool) in ``[lower, upper]``, returned as ``int``."""
    text = expected or _range_text("an integer", lower, upper, False, False)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(field, text, value)
    v = int(value)
    if not _in_range(v, lower, upper, False, False):
        raise ParameterError(field, text, value)
    return v


def boolean(field: str, value, *, expected: str = "a bool") -> bool:
    """A bool (Python or numpy), returned as ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(field, expected, value)
    return bool(value)


def choice(field: str, value, choices, *, expected: str | None = None):
    """One of ``choices`` (compared with ``==``), returned unchanged."""
    choices = tuple(choices)
    try:  # True is not 1 here
        ok = any(bool(value == c) and isinstance(value, bool) == isinstance(c, bool)
                 for c in choices)
    except (TypeError, ValueError):  # an array, or a value that does not compare
        ok = False
    if not ok:
        raise ParameterError(field, expected or "one of " + ", ".join(repr(c) for c in choices),
                             value)
    return value


def keys(mapping: dict, allowed, where: str) -> None:
    """Every key of ``mapping`` is in ``allowed`` (error: ``<where>.<key>: expected one of the
    keys ...``)."""
    allowed = tuple(allowed)
    for key in mapping:
        if key not in allowed:
            raise ParameterError(f"{where}.{key}", f"one of the keys {', '.join(allowed)}", key)


def generator(field: str, value) -> np.random.Generator:
    """A :class:`numpy.random.Generator`."""
    if not isinstance(value, np.random.Generator):
        raise ParameterError(field, "a numpy.random.Generator", value)
    return value


def float_array(field: str, value, *, expected_shape: str, ndim: int | None = None,
                min_ndim: int | None = None, last_dim: int | None = None,
                shape: tuple | None = None, finite: bool = True) -> np.ndarray:
    """Convert ``value`` to a float64 array and check its shape and finiteness.

    Parameters
    ----------
    field : str
        Name used in the error message.
    value : array_like
        Candidate array.
    expected_shape : str
        Human description of the expected shape, e.g. ``"(N, M)"``.
    ndim, min_ndim : int or None
        Exact or minimal number of dimensions.
    last_dim : int or None
        Required size of the last axis.
    shape : tuple or None
        Exact required shape.
    finite : bool
        Whether all entries must be finite.

    Returns
    -------
    numpy.ndarray
        float64 array (a new array or a view; callers must copy before mutating).
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise bad_input(field, f"a real array of shape {expected_shape}",
                        f"{type(value).__name__} {value!r}") from None
    exp = (f"a {ndim}-D array of shape {expected_shape}" if ndim is not None
           else f"an array of shape {expected_shape}")
    bad_shape = ((ndim is not None and arr.ndim != ndim)
                 or (min_ndim is not None and arr.ndim < min_ndim)
                 or (last_dim is not None and (arr.ndim == 0 or arr.shape[-1] != last_dim))
                 or (shape is not None and arr.shape != tuple(shape)))
    if bad_shape:
        raise bad_input(field, exp, f"shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise bad_input(field, "finite values", "an array containing nan or inf")
    return arr


def edges_array(field: str, value) -> np.ndarray:
    """Bin edges: 1-D, at least 2 entries, strictly increasing, no nan (inf allowed)."""
    arr = float_array(field, value, expected_shape="(B + 1,) with B >= 1", ndim=1, finite=False)
    if arr.size < 2:
        raise bad_input(field, "a 1-D array of shape (B + 1,) with B >= 1", f"shape {arr.shape}")
    if np.any(np.isnan(arr)) or np.any(np.diff(arr) <= 0):
        raise bad_input(field, "strictly increasing bin edges without nan", repr(arr))
    return arr
