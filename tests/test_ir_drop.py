"""Crossbar wire resistance (``[crossbar]``, issue 17): the exact IR-drop solution against
ngspice on the same resistor network, both reads (reciprocity), and its effect in the Brian2
circuit (the chip computes and samples with ``Phi_eff = G_eff / G_w``)."""

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

import models
from circuit_sim import run_inference
from circuit_sim.design.ir_drop import effective_conductances
from circuit_sim.errors import ConfigError

from ._configs import make_config

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                   reason="ngspice not installed (CI installs it)")


def _crossbar_netlist(g, r_row, r_col, drive_rows: bool) -> str:
    """The crossbar as resistors: column j's port pc_j drives a_0_j through one segment,
    row i's port pr_i is at b_i_0 through one segment; every port is a voltage source (0 V
    but the driven one, set by `alter`)."""
    n, m = g.shape
    lines = ["* crossbar with wire resistance"]
    for i in range(n):
        for j in range(m):
            lines.append(f"Rc{i}_{j} a{i}_{j} b{i}_{j} {1 / g[i, j]:.12e}")
            if i + 1 < n:
                lines.append(f"Rwc{i}_{j} a{i}_{j} a{i + 1}_{j} {r_col:.12e}")
            if j + 1 < m:
                lines.append(f"Rwr{i}_{j} b{i}_{j} b{i}_{j + 1} {r_row:.12e}")
    for j in range(m):
        lines += [f"Rpc{j} pc{j} a0_{j} {r_col:.12e}", f"Vc{j} pc{j} 0 dc 0"]
    for i in range(n):
        lines += [f"Rpr{i} pr{i} b{i}_0 {r_row:.12e}", f"Vr{i} pr{i} 0 dc 0"]
    driven, sensed = ("Vr", "Vc") if drive_rows else ("Vc", "Vr")
    k_drive, k_sense = (n, m) if drive_rows else (m, n)
    lines.append(".control")
    for k in range(k_drive):
        if k:
            lines.append(f"alter {driven}{k - 1} dc = 0")
        lines += [f"alter {driven}{k} dc = 1", "op",
                  "print " + " ".join(f"i({sensed}{q})" for q in range(k_sense))]
    lines += [".endc", ".end"]
    return "\n".join(lines) + "\n"


def _ngspice_transfer(tmp_path, g, r_row, r_col, drive_rows: bool) -> np.ndarray:
    path = tmp_path / f"xbar_{int(drive_rows)}.cir"
    path.write_text(_crossbar_netlist(g, r_row, r_col, drive_rows))
    out = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True,
                         timeout=120).stdout
    vals = [float(v) for v in re.findall(r"i\(v[cr]\d+\)\s*=\s*(\S+)", out, flags=re.I)]
    n, m = g.shape
    k_drive, k_sense = (n, m) if drive_rows else (m, n)
    assert len(vals) == k_drive * k_sense, out[-2000:]
    # ngspice's i(V) is the current into the source's + terminal: what the port draws
    return np.array(vals).reshape(k_drive, k_sense)


@needs_ngspice
def test_ir_drop_solution_is_what_ngspice_says_for_both_reads(tmp_path):
    """A 4 x 5 crossbar, cells 0.2-2 uS, wires 5 kohm (rows) and 12 kohm (columns) per cell
    (an IR drop of several percent): the forward read (columns driven, row currents) is
    ``G_eff`` and the backward read (rows driven, column currents) is ``G_eff^T``, each to
    1e-6 of ngspice's operating point; the drop is far above that."""
    rng = np.random.default_rng(3)
    g = rng.uniform(0.2e-6, 2e-6, size=(4, 5))
    g_eff = effective_conductances(g, 5e3, 12e3)
    fwd = _ngspice_transfer(tmp_path, g, 5e3, 12e3, drive_rows=False).T   # (N, M)
    bwd = _ngspice_transfer(tmp_path, g, 5e3, 12e3, drive_rows=True)      # (N, M)
    np.testing.assert_allclose(g_eff, fwd, rtol=1e-6)
    np.testing.assert_allclose(g_eff, bwd, rtol=1e-6)
    assert np.max(np.abs(g_eff - g) / g) > 0.03


def test_ir_drop_known_answers():
    """One cell: the series connection ``1 / (R_row + R_col + 1/g)``; signed weights are the
    difference of the two halves; no resistance, no drop."""
    g = np.array([[2e-6]])
    assert effective_conductances(g, 1e4, 3e4)[0, 0] == pytest.approx(1 / (4e4 + 5e5), rel=1e-12)
    assert effective_conductances(-g, 1e4, 3e4)[0, 0] == pytest.approx(-1 / (4e4 + 5e5),
                                                                       rel=1e-12)
    rng = np.random.default_rng(0)
    g = rng.normal(size=(6, 7)) * 1e-6
    np.testing.assert_allclose(effective_conductances(g, 1e-3, 1e-3), g, rtol=0, atol=1e-13)
    g_eff = effective_conductances(g, 1e4, 1e4)
    assert np.all(np.abs(g_eff) <= np.abs(g) + 1e-18)         # a drop never adds current
    # the corner farthest from both ports loses the most
    d = 1 - effective_conductances(np.full((6, 7), 1e-6), 1e4, 1e4) / 1e-6
    assert np.unravel_index(np.argmax(d), d.shape) == (5, 6)


def _gaussian(backend="numpy", **run):
    m = {"n_features": 2, "n_components": 2, "prior": "gaussian", "pi": None, "sigma": 0.5}
    noise = run.pop("noise", [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}])
    return make_config(model=m, crossbar={"wire_resistance": "100 kohm"},
                       run={"backend": backend, **run}, noise=noise)


@pytest.mark.parametrize("mode", ["dense", "summed"])
def test_ir_drop_circuit_follows_the_effective_dictionary_at_T0(mode):
    """G_m = 1 uS and 100 kohm per segment (R G = 0.1): at T = 0 the circuit follows the Euler
    trajectory of the model with ``Phi_eff``, to 1e-10, on both crossbar paths."""
    cfg = _gaussian(duration="20 ns", dt="0.2 ns", record_every="0.2 ns", u_init=[2.0, -1.5],
                    crossbar=mode, noise=[])
    res = run_inference(cfg)
    model = cfg.build_model()
    phi_eff = cfg.design.wired(model.dictionary)
    eff = models.SparseCodingModel(phi_eff, sigma=0.5, prior="gaussian")
    u, out = np.array([2.0, -1.5]), []
    for _ in range(len(res.t)):
        out.append(u.copy())
        u = u + 0.02 * models.langevin_drift(eff, u, cfg.x)
    np.testing.assert_allclose(res.u, np.array(out), rtol=0, atol=1e-10)
    assert cfg.design.ir_drop_error > 0.05
    np.testing.assert_allclose(res.dictionary, phi_eff, rtol=1e-12)


@pytest.mark.slow
def test_ir_drop_chip_samples_the_posterior_of_the_effective_dictionary():
    """The covariance of the samples is at its noise floor against the Gaussian posterior
    of ``Phi_eff`` and many floors away from that of the programmed ``Phi``."""
    cfg = _gaussian("standalone", duration="400 us", record_every="5 ns",
                    integrator="leimkuhler_matthews")
    res = run_inference(cfg)
    model = cfg.build_model()
    eff = models.SparseCodingModel(cfg.design.wired(model.dictionary), sigma=0.5,
                                   prior="gaussian")
    c_hat = np.cov(res.kept(res.u), rowvar=False)
    out = {}
    for name, mdl in (("eff", eff), ("ideal", model)):
        cov = models.gaussian_posterior(mdl, cfg.x)[1]
        f = np.linalg.norm(cov)
        floor = math.sqrt((f ** 2 + np.trace(cov) ** 2) / res.metrics["ess"]) / f
        out[name] = (np.linalg.norm(c_hat - cov) / f, floor)
    assert out["eff"][0] < 3 * out["eff"][1], out
    assert out["ideal"][0] > 10 * out["ideal"][1], out


def test_crossbar_section_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"crossbar\.column_resistance: expected a resistance"):
        make_config(crossbar={"row_resistance": "1 ohm"})
    with pytest.raises(ConfigError, match=r"crossbar\.wire_resistance: expected a resistance"):
        make_config(crossbar={"wire_resistance": "1 nA"})
    with pytest.raises(ConfigError, match=r"crossbar\.wire_resistance: expected a resistance .*> 0"):
        make_config(crossbar={"wire_resistance": "-2 ohm"})
    with pytest.raises(ConfigError, match=r"\[crossbar\]: expected static weights"):
        make_config(crossbar={"wire_resistance": "1 ohm"},
                    weights={"retention_time": "1 ms"})
