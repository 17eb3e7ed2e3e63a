"""The sky130 crossbar synapse cell (``cells/sky130_synapse.cir``: an nfet_01v8 in triode
between the column and the row wire): its I-V over the crossbar's voltages, its programming
curve and the spread of its conductance over 200 instances from the device models.

    python synapse_cell.py

Draws ``results/synapse.png`` and prints the figures ``mismatch.weight_gain_sigma`` takes.
"""

from __future__ import annotations

import numpy as np

from circuit_sim import characterize_synapse, synapse_mismatch
from _common import HERE, save_figure

CELL = HERE / "cells" / "sky130_synapse.cir"


def main() -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = characterize_synapse(CELL, "syn", v_range=0.05)
    lin = {r: characterize_synapse(CELL, "syn", v_range=r).nonlinearity
           for r in (0.01, 0.02, 0.05)}
    g = synapse_mismatch(CELL, "syn", draws=200)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(s.v * 1e3, s.i * 1e9, "k-", label="ngspice .dc (V_g = 1.8 V, V_cm = 0.9 V)")
    axes[0].plot(s.v * 1e3, s.conductance * s.v * 1e9, "r--",
                 label=f"linear g V, g = {s.conductance * 1e6:.3f} uS")
    axes[0].set_xlabel("V_ab = column - row (mV)")
    axes[0].set_ylabel("current a -> b (nA)")
    axes[0].set_title("nonlinearity " + ", ".join(f"{100 * v:.1f}% over +-{r * 1e3:g} mV"
                                                  for r, v in lin.items()), fontsize=8)
    axes[1].semilogy(s.gate, s.gate_conductance * 1e6, "o-")
    axes[1].set_xlabel("gate voltage V_g (V)")
    axes[1].set_ylabel("conductance g (uS)")
    axes[1].set_title("programming curve")
    rel = g / g.mean() - 1
    axes[2].hist(100 * rel, bins=25, color="0.5")
    axes[2].set_xlabel("g / mean(g) - 1 (%)")
    axes[2].set_title(f"200 instances (sky130 mismatch): s.d. {100 * rel.std(ddof=1):.2f}%")
    for ax in axes[:1]:
        ax.legend(fontsize=7)
    save_figure(fig, "synapse")
    print(f"g = {s.conductance:.4g} S at V_g = 1.8 V; nonlinearity "
          + ", ".join(f"{100 * v:.2f}% over +-{r * 1e3:g} mV" for r, v in lin.items())
          + f"; programming {s.gate_conductance[0]:.3g} to {s.gate_conductance[-1]:.3g} S over "
          f"{s.gate[0]:.2f}-{s.gate[-1]:.2f} V; instance spread (weight_gain_sigma) "
          f"{rel.std(ddof=1):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
