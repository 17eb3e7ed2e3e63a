"""Dotted config keys: the one language that addresses a field of a config from outside it.

``circuit.capacitance``, ``run.seed``, ``noise.0.fill_to`` (the first ``[[noise]]`` entry;
``noise[0].fill_to`` is accepted too), ``model.dictionary.0.1`` (an element of a list). An
index one past the end of a list appends a new entry (``noise.2.kind = "shot"`` adds a
source). Sweep files (``[grid]``, ``[[points]]``, ``[overrides]``), ``--set key=value`` on the
command line and :meth:`Config.replace` all use it; values are what the config file takes
(``"10 fF"``, ``2.0``, ``[1, 2]``).
"""

from __future__ import annotations

import copy
import re
import tomllib

from ..errors import ConfigError

__all__ = ["normalise_key", "set_key", "flatten", "parse_assignment"]

_BRACKET = re.compile(r"\[(\d+)\]")


def normalise_key(key: str) -> str:
    """``noise[0].fill_to`` -> ``noise.0.fill_to``; ``config.foo`` (an error field) -> ``foo``."""
    key = _BRACKET.sub(r".\1", str(key)).strip().strip("[]")
    return key[len("config."):] if key.startswith("config.") else key


def _parts(key: str) -> list:
    parts = key.split(".")
    if len(parts) < 2 or any(p.strip() == "" for p in parts):
        raise ConfigError(key, "a dotted config key section.key (e.g. circuit.capacitance, "
                          "run.seed, noise.0.fill_to)", key)
    return [int(p) if p.isdigit() else p for p in parts]


def set_key(d: dict, key: str, value) -> None:
    """Set the dotted ``key`` of the config dict ``d`` (in place) to ``value``."""
    parts = _parts(key)
    node = d
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(map(str, parts[:depth + 1]))
        nxt = parts[depth + 1]
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node:
                if depth > 0:
                    raise ConfigError(key, f"a key below an existing table ({here} is not in the "
                                      "config)", key)
                node[part] = [] if isinstance(nxt, int) else {}
            elif depth == 0 and isinstance(nxt, int) and isinstance(node[part], dict):
                node[part] = [node[part]]  # a single [noise] table: a list of one
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part == len(node):
                node.append([] if isinstance(nxt, int) else {})
            elif part > len(node):
                raise ConfigError(key, f"an index <= {len(node)} into {here.rsplit('.', 1)[0]} "
                                  f"(it has {len(node)} entries)", part)
            node = node[part]
        else:
            what = "an index (a list)" if isinstance(node, list) else \
                "a key (a table)" if isinstance(node, dict) else f"nothing (a value: {node!r})"
            raise ConfigError(key, f"a path into the config; {here.rsplit('.', 1)[0]} takes {what}",
                              part)
    last = parts[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    else:
        what = "an index (a list)" if isinstance(node, list) else \
            "a key (a table)" if isinstance(node, dict) else f"nothing (a value: {node!r})"
        raise ConfigError(key, f"a path into the config; its parent takes {what}", last)


def flatten(table: dict, prefix: str = "", *, until_list: bool = False) -> dict:
    """Nested TOML tables -> dotted keys (unquoted ``circuit.capacitance = ...`` in TOML)."""
    out = {}
    for k, v in table.items():
        key = normalise_key(f"{prefix}.{k}" if prefix else str(k))
        if isinstance(v, dict) and (until_list or v):
            out.update(flatten(v, key, until_list=until_list))
        else:
            out[key] = v
    return out


def parse_assignment(text: str, option: str = "--set") -> tuple[str, object]:
    """``KEY=VALUE`` from the command line: ``run.duration="20 us"``, ``run.seed=3``,
    ``model.dictionary=[[1, 0.5]]``. VALUE is read as a TOML value; a bare word that is not
    one (``run.backend=standalone``, ``circuit.capacitance=10 fF``) is taken as a string."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(option, "KEY=VALUE with a dotted config key (e.g. "
                          "run.duration=\"20 us\")", text)
    key, raw = (part.strip() for part in text.split("=", 1))
    _parts(normalise_key(key))  # a well-formed dotted key
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
    return normalise_key(key), value
