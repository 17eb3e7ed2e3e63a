"""Validation against the transistor level (issue 17, item 4(b, c)): a 1-latent and a
2-latent spike-and-slab chip whose transconductors are the sky130 5-transistor OTA
(``cells/sky130_ota5.cir``), simulated by ngspice in transient with white noise injected as
held current samples, against the Brian2 circuit built from the OTA's characterisation
(``circuit_sim.characterize``: G_m, G_o, the cell's capacitance, I_max, the input offset).

Both sides use comparators of width 0.5 mV (``[comparator] width``; ngspice cannot step a
discontinuous force through the cell), ngspice's prior sign is ``tanh(v / 50 uV)``, the node
capacitor is 1 pF (so that the node's rates, up to 4 / tau_u = 0.8 MHz, stay below the OTA's
mirror pole near 5 MHz, which the Brian2 model does not have), and neither side has the
cell's own noise (ngspice's transient analysis has none). At each V_u the table gives, per
unit, the variance of u, the activity P(|u| > u0) and E[s], with the z-score of the
difference (the two runs' standard errors from their autocorrelation times): (b) the Brian2
model with the saturation, (c) without it.

    python transistor_validation.py [--quick]

Writes ``results/transistor_validation.csv`` and ``results/transistor_validation.png`` (u
histograms of both simulators, with and without the saturation in Brian2).
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

import models
from circuit_sim import characterize, loads_config, run_cell_chip, run_inference
from _common import HERE, RESULTS, save_figure

CELL = HERE / "cells" / "sky130_ota5.cir"
C_NODE = 1e-12           # F
WIDTH = 0.5e-3           # V, the comparators' transition width
CASES = {
    "1-latent": {"dictionary": [[1.0]], "x": [1.2]},
    "2-latent": {"dictionary": [[1.0, 0.6], [0.0, 0.8]], "x": [0.9, 0.4]},
}
VOLTS = ["10 mV", "30 mV"]


def _toml(case: dict, vu: str, duration: str, cell=None, saturation: bool = True) -> str:
    """The design as TOML: the ideal circuit for ngspice (``cell=None``: C = C_node, white
    noise only), or the Brian2 model of the chip on the characterised ``cell``."""
    m = len(case["dictionary"][0])
    gm = 1.246777e-06 if cell is None else cell.transconductance
    s_inj = 4 * gm * C_NODE * (float(vu.split()[0]) * 1e-3) ** 2    # T = 1 on C_node
    text = f"""
[model]
n_features = {len(case["x"])}
n_components = {m}
prior = "laplace"
lam = 1.0
pi = 0.3
sigma = 0.5
dictionary = {case["dictionary"]}
[input]
x = {case["x"]}
[circuit]
capacitance = "{C_NODE + (0.0 if cell is None else cell.capacitance)!r} F"
transconductance = "{gm!r} S"
volts_per_unit = "{vu}"
[[noise]]
kind = "injected"
psd = "{s_inj!r} A^2/Hz"
[run]
duration = "{duration}"
integrator = "leimkuhler_matthews"
backend = "standalone"
seed = 3
"""
    if cell is not None:
        i_max = cell.saturation_current if saturation else 1.0
        text += (f'[comparator]\nwidth = "{WIDTH!r} V"\n'
                 f'[transconductor]\nsaturation_current = "{i_max!r} A"\n'
                 f'input_offset = "{cell.input_offset!r} V"\n')
        text = text.replace("[circuit]\n", f'[circuit]\noutput_conductance = '
                                           f'"{cell.output_conductance!r} S"\n')
    return text


def _stats(u: np.ndarray, u0: float) -> dict:
    """Per unit: (mean, SE) of the variance of u, the activity and E[s]."""
    out = {}
    for i in range(u.shape[1]):
        x = u[:, i]
        s = models.soft_threshold(x, u0)
        out[i] = {"var": models.mean_and_standard_error((x - x.mean()) ** 2),
                  "activity": models.mean_and_standard_error((np.abs(x) > u0).astype(float)),
                  "E[s]": models.mean_and_standard_error(s)}
    return out


def run_case(name: str, vu: str, ngspice_time: str, brian_time: str, cell) -> dict:
    case = CASES[name]
    ideal = loads_config(_toml(case, vu, ngspice_time))
    d = ideal.design
    tau = d.tau_u
    t, v = run_cell_chip(ideal, CELL, "ota5", lib="sky130", corner="tt",
                         temperature=cell.temperature, t_step=tau / 4,
                         threshold_width=WIDTH)
    keep = t > 50 * tau
    u_spice = v[keep] / d.circuit.volts_per_unit
    res = {"spice": u_spice}
    for sat in (True, False):
        cfg = loads_config(_toml(case, vu, brian_time, cell, saturation=sat),
                           {"run.record_every": f"{tau / 4!r} s"})
        r = run_inference(cfg)
        res["brian" if sat else "linear"] = r.kept(r.u)
    u0 = d.model.u0
    stats = {k: _stats(u, u0) for k, u in res.items()}
    return {"u": res, "stats": stats, "u0": u0}


def _z(a, b) -> float:
    return (a[0] - b[0]) / np.hypot(a[1], b[1])


def table(results: dict) -> list[dict]:
    rows = []
    for (name, vu), r in results.items():
        sp = r["stats"]["spice"]
        for unit in sp:
            for q in ("var", "activity", "E[s]"):
                row = {"chip": name, "V_u": vu, "unit": unit, "quantity": q,
                       "ngspice": sp[unit][q][0], "ngspice_se": sp[unit][q][1]}
                for side in ("brian", "linear"):
                    b = r["stats"][side][unit][q]
                    row[side] = b[0]
                    row[f"z_{side}"] = _z(sp[unit][q], b)
                rows.append(row)
    return rows


def draw(results: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        r = results[key]
        bins = np.linspace(-4, 5, 91)
        for side, style, label in (("spice", "k-", "ngspice, transistor-level OTA"),
                                   ("brian", "r--", "Brian2, characterised (tanh)"),
                                   ("linear", "b:", "Brian2, saturation off")):
            h, _ = np.histogram(r["u"][side][:, 0], bins=bins, density=True)
            ax.step(bins[:-1], h, style, where="post", label=label, lw=1.2)
        ax.axvline(r["u0"], color="0.6", lw=0.8)
        ax.axvline(-r["u0"], color="0.6", lw=0.8)
        ax.set_title(f"{key[0]} chip, V_u = {key[1]}: u_1", fontsize=9)
        ax.set_xlabel("u_1 (lines: +-u0)")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7)
    save_figure(fig, "transistor_validation")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1-latent chip, 30 mV only")
    args = ap.parse_args(argv)
    cell = characterize(CELL, "ota5", lib="sky130", corner="tt", temperature=300.0)
    cases = [("1-latent", "30 mV")] if args.quick else [(c, v) for c in CASES for v in VOLTS]
    results = {(c, v): run_case(c, v, "4 ms", "40 ms", cell) for c, v in cases}
    rows = table(results)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "transistor_validation.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for row in rows:
        print(f"{row['chip']} V_u = {row['V_u']} u_{row['unit'] + 1} {row['quantity']:8s}: "
              f"ngspice {row['ngspice']:.4f} +- {row['ngspice_se']:.4f}; Brian2 "
              f"{row['brian']:.4f} (z = {row['z_brian']:+.2f}); saturation off "
              f"{row['linear']:.4f} (z = {row['z_linear']:+.2f})")
    draw(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
