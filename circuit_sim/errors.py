"""One format for every configuration error: field, what was expected, what was given.

:class:`ConfigError` is the project's one parameter error,
:class:`models.constraints.ParameterError`: a config field, a command-line option and a
function argument of ``models`` or ``noise`` all report as ``<field>: expected <expected>,
got <given>`` on one line, and the CLI prints any of them that way (exit status 2).
"""

from __future__ import annotations

from models.constraints import ConfigError, ParameterError

__all__ = ["ConfigError", "ParameterError"]
