"""Where circuit-sim keeps what is slow to make again: standalone builds
(``standalone/``, :mod:`circuit_sim.circuit.backends`) and ngspice characterisations
(``characterize/``, :mod:`circuit_sim.characterization`) and the reduced sky130 libraries
(``pdk/``, :mod:`circuit_sim.pdk`)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$CIRCUIT_SIM_CACHE``, default ``~/.cache/circuit_sim``."""
    return Path(os.environ.get("CIRCUIT_SIM_CACHE", Path.home() / ".cache" / "circuit_sim"))
