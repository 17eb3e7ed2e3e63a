"""TOML text in and out: reading a config file (with one-line errors) and writing one.

The writer covers what a config holds (tables, lists of tables, numbers, strings, booleans,
nested lists); it is small enough that a dependency would not do it better.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from ..errors import ConfigError

__all__ = ["dumps_toml", "read_toml", "read_toml_text"]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(d: dict) -> str:
    """Write a dict of sections (tables, or lists of tables) as TOML text."""
    lines = []
    for section, body in d.items():
        tables = body if isinstance(body, list) else [body]
        header = f"[[{section}]]" if isinstance(body, list) else f"[{section}]"
        for table in tables:
            lines.append(header)
            for k, v in table.items():
                lines.append(f"{k} = {_toml_value(v)}")
            lines.append("")
    return "\n".join(lines)


def read_toml_text(text: str, what: str = "config") -> dict:
    """Parse TOML text; ConfigError naming ``what`` if it is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(what, "valid TOML", str(exc)) from None


def read_toml(path, what: str = "config file") -> tuple[dict, str]:
    """Read a TOML file: ``(table, text)``. One-line ConfigErrors for a missing file, a
    directory, an unreadable file, text that is not UTF-8 (a binary or HDF5 file given by
    mistake) and invalid TOML."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(what, "an existing TOML file", str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(what, "a readable TOML file", f"{path} ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        kind = "an HDF5 file" if raw[:8] == b"\x89HDF\r\n\x1a\n" else "binary data"
        raise ConfigError(what, "a TOML text file (UTF-8)", f"{path} ({kind})") from None
    return read_toml_text(text, f"{what} {path}"), text
