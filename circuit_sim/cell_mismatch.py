"""Mismatch of a transistor-level transconductor cell from its device models: an ngspice
Monte Carlo of its large-signal transfer (the sky130 route of :mod:`circuit_sim.pdk`).

Each draw is one fabricated instance of the cell: the reduced sky130 library with
``mc_mm_switch = 1`` gives every transistor its own ``AGAUSS`` deviations (scaled by its own
``1 / sqrt(W L)``), ngspice's ``reset`` redraws them, and the cell's DC transfer is fitted to
``I_max tanh((dv - V_os) / V_L)`` as :func:`circuit_sim.characterize` does. The
spread across draws gives the Brian2 mismatch of the latent units, ``mismatch.gm_sigma`` (of
``G_m = I_max / V_L``) and ``mismatch.transconductor_offset_sigma`` (of ``V_os``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import constants

from .errors import ConfigError

__all__ = ["CellMismatch", "cell_mismatch"]


@dataclass(frozen=True)
class CellMismatch:
    """The fitted transfer of each Monte Carlo draw (SI arrays of shape (K,))."""

    saturation_current: np.ndarray
    linear_range: np.ndarray
    input_offset: np.ndarray

    @property
    def transconductance(self) -> np.ndarray:
        return self.saturation_current / self.linear_range

    @property
    def gm_sigma(self) -> float:
        """Relative s.d. of ``G_m`` across draws."""
        g = self.transconductance
        return float(np.std(g, ddof=1) / np.mean(g))

    @property
    def offset_sigma(self) -> float:
        """S.d. of the input offset across draws (V)."""
        return float(np.std(self.input_offset, ddof=1))


def _deck(cell: Path, subckt: str, lib: Path, corner: str, draws: int, temperature: float,
          supply: float, common_mode: float, dv_max: float, seed: int) -> str:
    step = dv_max / 100
    return f"""* circuit-sim cell mismatch Monte Carlo: {subckt} from {cell.name}
.lib {lib} {corner}
.include {cell}
.temp {temperature - constants.zero_Celsius:.6g}
Vdd vdd 0 {supply!r}
Vss vss 0 0
Vcm cm 0 {common_mode!r}
Vd inp cm dc 0
Einn inn 0 cm 0 1
Vo out cm dc 0
X1 out inp inn vdd vss {subckt}
.control
set wr_singlescale

let k = 0
while k < {draws}
  let sd = k + {seed * 100003}
  setseed $&sd
  reset
  dc Vd {-dv_max!r} {dv_max!r} {step!r}
  wrdata dc_{{$&k}}.txt i(Vo)
  let k = k + 1
end
.endc
.end
"""


def cell_mismatch(cell, subckt: str, *, draws: int = 40, corner: str = "tt",
                  temperature: float = 300.0, supply: float = 1.8, common_mode: float = 0.9,
                  dv_max: float = 0.3, seed: int = 1, timeout: float = 600.0) -> CellMismatch:
    """Monte Carlo of ``cell``'s transfer over ``draws`` instances on the sky130 models
    (module docstring), ngspice's generator seeded with ``seed`` (``setseed`` before each draw's ``reset``: the same
    instances every run). Raises ConfigError when ngspice, the models or a device are
    missing."""
    from .characterization import _fit_tanh
    from .pdk import cell_devices, reduced_library

    cell = Path(cell).resolve()
    if not cell.is_file():
        raise ConfigError("CELL", "an existing SPICE file with the cell's .subckt", str(cell))
    if shutil.which("ngspice") is None:
        raise ConfigError("ngspice", "ngspice on the PATH (e.g. apt-get install ngspice)", None)
    if not (isinstance(draws, int) and draws >= 2):
        raise ConfigError("draws", "an integer >= 2", draws)
    lib = reduced_library(cell_devices(cell.read_text()), corner, mismatch=True)
    if lib is None:
        raise ConfigError("CELL", "a cell whose devices are all in the sky130 corner file",
                          str(cell))
    with tempfile.TemporaryDirectory(prefix="circuit-sim-mc-") as tmp:
        work = Path(tmp)
        (work / "mc.cir").write_text(_deck(cell, subckt, lib, corner, draws, temperature,
                                           supply, common_mode, dv_max, seed))
        r = subprocess.run(["ngspice", "-b", "mc.cir"], cwd=work, capture_output=True,
                           text=True, timeout=timeout)
        fits = []
        for k in range(draws):
            path = work / f"dc_{k}.txt"
            if not path.is_file():
                raise ConfigError("ngspice", f"{draws} DC sweeps", f"{k} written; "
                                  + (r.stdout + r.stderr)[-500:])
            dc = np.loadtxt(path, ndmin=2)
            fits.append(_fit_tanh(dc[:, 0], dc[:, 1])[:3])
    i_max, v_l, dv0 = (np.array(a) for a in zip(*fits))
    return CellMismatch(i_max, v_l, dv0)
