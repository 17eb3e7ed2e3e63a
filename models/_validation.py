"""Input checks shared by the ``models`` package.

Every bad-input error is a :class:`ValueError` whose message has the form
``"<field>: expected <what was expected>, got <value given>"``.
"""

from __future__ import annotations

import numbers

import numpy as np


def bad_input(field: str, expected: str, got: str) -> ValueError:
    """Build the package's standard bad-input error.

    Parameters
    ----------
    field : str
        Name of the offending argument or attribute.
    expected : str
        What was expected, e.g. ``"a finite float > 0"``.
    got : str
        Description of the value given (already formatted).

    Returns
    -------
    ValueError
        ``ValueError(f"{field}: expected {expected}, got {got}")``.
    """
    return ValueError(f"{field}: expected {expected}, got {got}")


def real_scalar(field: str, value, *, lower: float | None = None,
                lower_inclusive: bool = True, upper: float | None = None,
                upper_inclusive: bool = True) -> float:
    """Check that ``value`` is a finite real scalar in a range; return it as float.

    Parameters
    ----------
    field : str
        Name used in the error message.
    value : object
        Candidate value (Python or numpy real number; bools are rejected).
    lower, upper : float or None
        Optional bounds.
    lower_inclusive, upper_inclusive : bool
        Whether the bounds themselves are allowed.

    Returns
    -------
    float
    """
    parts = ["a finite float"]
    if lower is not None:
        parts.append(f"{'>=' if lower_inclusive else '>'} {lower:g}")
    if upper is not None:
        parts.append(f"{'<=' if upper_inclusive else '<'} {upper:g}")
    expected = " ".join(parts[:1]) + ("" if len(parts) == 1 else " " + " and ".join(parts[1:]))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise bad_input(field, expected, repr(value))
    v = float(value)
    ok = np.isfinite(v)
    if ok and lower is not None:
        ok = v >= lower if lower_inclusive else v > lower
    if ok and upper is not None:
        ok = v <= upper if upper_inclusive else v < upper
    if not ok:
        raise bad_input(field, expected, repr(value))
    return v


def integer(field: str, value, *, lower: int | None = None) -> int:
    """Check that ``value`` is an integer (not bool) >= ``lower``; return it as int."""
    expected = "an integer" + ("" if lower is None else f" >= {lower}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise bad_input(field, expected, repr(value))
    v = int(value)
    if lower is not None and v < lower:
        raise bad_input(field, expected, repr(value))
    return v


def boolean(field: str, value) -> bool:
    """Check that ``value`` is a bool (Python or numpy); return it as bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise bad_input(field, "a bool", repr(value))
    return bool(value)


def generator(field: str, value) -> np.random.Generator:
    """Check that ``value`` is a :class:`numpy.random.Generator`."""
    if not isinstance(value, np.random.Generator):
        raise bad_input(field, "a numpy.random.Generator", repr(value))
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
    if ndim is not None and arr.ndim != ndim:
        raise bad_input(field, exp, f"shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise bad_input(field, exp, f"shape {arr.shape}")
    if last_dim is not None and (arr.ndim == 0 or arr.shape[-1] != last_dim):
        raise bad_input(field, exp, f"shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise bad_input(field, exp, f"shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise bad_input(field, "finite values", "an array containing nan or inf")
    return arr


def edges_array(field: str, value) -> np.ndarray:
    """Check bin edges: 1-D, at least 2 entries, strictly increasing, no nan (inf allowed)."""
    arr = float_array(field, value, expected_shape="(B + 1,) with B >= 1", ndim=1, finite=False)
    if arr.size < 2:
        raise bad_input(field, "a 1-D array of shape (B + 1,) with B >= 1", f"shape {arr.shape}")
    if np.any(np.isnan(arr)) or np.any(np.diff(arr) <= 0):
        raise bad_input(field, "strictly increasing bin edges without nan", repr(arr))
    return arr
