"""A crossbar synapse cell at the transistor level: its conductance, how linear it is over the
voltages the crossbar sees, how the programming voltage sets it, and how much it varies from
instance to instance (an ngspice Monte Carlo on the sky130 models).

The cell is ``.subckt NAME a b g vss``: the conductance between ``a`` (the column wire, a
latent output at ``V_cm + V_u s``) and ``b`` (the row wire, a residual node held at
``V_cm``), programmed by the voltage at ``g``. :func:`characterize_synapse` sweeps ``V_ab``
over ``+-v_range`` and reports ``g = dI/dV`` at 0 and the nonlinearity ``max |I - g V| / (g
v_range)`` (the Brian2 crossbar is linear: this is what that assumption costs), and ``g``
against the gate voltage. :func:`synapse_mismatch` gives the relative spread of ``g`` across
instances, the ``mismatch.weight_gain_sigma`` of the chip.
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

__all__ = ["SynapseCell", "characterize_synapse", "synapse_mismatch"]


@dataclass(frozen=True)
class SynapseCell:
    """A characterised synapse cell (SI)."""

    conductance: float          #: g = dI/dV_ab at V_ab = 0, S
    nonlinearity: float         #: max |I - g V| / (g v_range) over +-v_range
    v_range: float              #: V
    v_gate: float               #: V
    v: np.ndarray               #: V_ab of the sweep, V
    i: np.ndarray               #: current a -> b, A
    gate: np.ndarray            #: gate voltages of the programming curve, V
    gate_conductance: np.ndarray  #: g at each, S


def _lib_lines(cell_text: str, lib, corner: str, mismatch: bool) -> str:
    from .pdk import cell_devices, global_params, reduced_library, resolve_lib

    if lib is None:
        return ""
    path = resolve_lib(lib)
    if lib == "sky130":
        path = reduced_library(cell_devices(cell_text), corner, mismatch=mismatch) or path
    elif mismatch:
        raise ConfigError("lib", "\"sky130\" for a mismatch Monte Carlo", lib)
    return f"{global_params(path)}.lib {path} {corner}\n"


def _bench(cell: Path, subckt: str, lib_lines: str, temperature: float, v_cm: float,
           v_gate: float) -> str:
    return (f"* circuit-sim synapse bench: {subckt} from {cell.name}\n{lib_lines}"
            f".include {cell}\n.temp {temperature - constants.zero_Celsius:.6g}\n"
            f"Vb b 0 {v_cm!r}\nVa a 0 {v_cm!r}\nVg g 0 {v_gate!r}\nX1 a b g 0 {subckt}\n")


def _run(deck: str, files: list[str], timeout: float) -> list[np.ndarray]:
    if shutil.which("ngspice") is None:
        raise ConfigError("ngspice", "ngspice on the PATH (e.g. apt-get install ngspice)", None)
    with tempfile.TemporaryDirectory(prefix="circuit-sim-syn-") as tmp:
        (Path(tmp) / "syn.cir").write_text(deck)
        r = subprocess.run(["ngspice", "-b", "syn.cir"], cwd=tmp, capture_output=True,
                           text=True, timeout=timeout)
        out = []
        for name in files:
            path = Path(tmp) / name
            if not path.is_file():
                raise ConfigError("ngspice", f"a run that writes {name}",
                                  (r.stdout + r.stderr)[-500:])
            out.append(np.loadtxt(path, ndmin=2))
    return out


def _conductance(v: np.ndarray, i: np.ndarray) -> float:
    k = len(v) // 2
    return float((i[k + 1] - i[k - 1]) / (v[k + 1] - v[k - 1]))


def _check(cell, v_range) -> Path:
    cell = Path(cell).resolve()
    if not cell.is_file():
        raise ConfigError("CELL", "an existing SPICE file with the cell's .subckt", str(cell))
    if not v_range > 0:
        raise ConfigError("v_range", "a voltage > 0", v_range)
    return cell


def characterize_synapse(cell, subckt: str, *, v_gate: float = 1.8, common_mode: float = 0.9,
                         v_range: float = 0.05, gates=None, lib="sky130", corner: str = "tt",
                         temperature: float = 300.0, timeout: float = 300.0) -> SynapseCell:
    """Characterise the synapse cell (module docstring). Voltages in V, temperature in K;
    ``gates``: the gate voltages of the programming curve (default 11 from ``v_gate - 0.5``
    to ``v_gate``); ``lib``: ``"sky130"``, a library path or None (a cell without models)."""
    cell = _check(cell, v_range)
    gates = np.linspace(v_gate - 0.5, v_gate, 11) if gates is None else np.asarray(gates, float)
    step = v_range / 50
    deck = _bench(cell, subckt, _lib_lines(cell.read_text(), lib, corner, False), temperature,
                  common_mode, v_gate)
    deck += ".control\nset wr_singlescale\n"
    deck += (f"dc Va {common_mode - v_range!r} {common_mode + v_range + step / 2!r} {step!r}\n"
             "wrdata iv.txt i(Va)\n")
    for k, vg in enumerate(gates):
        deck += (f"alter Vg dc = {float(vg)!r}\ndc Va {common_mode - step!r} "
                 f"{common_mode + step * 1.5!r} {step!r}\nwrdata g_{k}.txt i(Va)\n")
    deck += ".endc\n.end\n"
    data = _run(deck, ["iv.txt"] + [f"g_{k}.txt" for k in range(len(gates))], timeout)
    v, i = data[0][:, 0] - common_mode, -data[0][:, 1]   # i(Va): into Va's + terminal
    g = _conductance(v, i)
    nonlin = float(np.max(np.abs(i - g * v)) / (abs(g) * v_range))
    gate_g = np.array([_conductance(d[:, 0], -d[:, 1]) for d in data[1:]])
    return SynapseCell(g, nonlin, float(v_range), float(v_gate), v, i, gates, gate_g)


def synapse_mismatch(cell, subckt: str, *, draws: int = 40, v_gate: float = 1.8,
                     common_mode: float = 0.9, corner: str = "tt", temperature: float = 300.0,
                     seed: int = 1, timeout: float = 300.0) -> np.ndarray:
    """The conductance of ``draws`` instances of the cell (S, shape (draws,)), each with its
    own mismatch from the sky130 models (``mc_mm_switch = 1``, ``setseed`` per draw); their
    relative s.d. is ``mismatch.weight_gain_sigma``."""
    cell = _check(cell, 1.0)
    if not (isinstance(draws, int) and draws >= 2):
        raise ConfigError("draws", "an integer >= 2", draws)
    step = 1e-3
    deck = _bench(cell, subckt, _lib_lines(cell.read_text(), "sky130", corner, True),
                  temperature, common_mode, v_gate)
    deck += (".control\nset wr_singlescale\nlet k = 0\n"
             f"while k < {draws}\n  let sd = k + {seed * 100003}\n  setseed $&sd\n  reset\n"
             f"  dc Va {common_mode - step!r} {common_mode + step * 1.5!r} {step!r}\n"
             "  wrdata g_{$&k}.txt i(Va)\n  let k = k + 1\nend\n.endc\n.end\n")
    data = _run(deck, [f"g_{k}.txt" for k in range(draws)], timeout)
    return np.array([_conductance(d[:, 0], -d[:, 1]) for d in data])
