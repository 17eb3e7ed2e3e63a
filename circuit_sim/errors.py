"""One format for every configuration error: field, what was expected, what was given."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid.

    The message always reads ``<field>: expected <expected>, got <given>`` so that a
    user sees, on one line, which key of their file is wrong and what would be right.

    Parameters
    ----------
    field : str
        Dotted name of the config field (``"circuit.capacitance"``, ``"noise[1].kind"``).
    expected : str
        What the field should hold, with its unit or range.
    given : object
        The value that was given (shown with ``repr``).
    """

    def __init__(self, field: str, expected: str, given):
        self.field = field
        self.expected = expected
        self.given = given
        super().__init__(f"{field}: expected {expected}, got {given!r}")
