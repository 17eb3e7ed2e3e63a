"""Non-idealities ([mismatch], [weights], rails, residual bandwidth): each shows the effect its physics predicts.

Statistical checks allow Z = 4 standard errors from the effective sample size; each also
checks that the ideal circuit's prediction is rejected by the same data (so the test
could fail), or is a deterministic identity.
"""

import math

import h5py
import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov
from scipy.stats import norm

import models
from circuit_sim import Config, ConfigError, run_inference

from ._configs import base_dict
from ._physics import Z, mean_and_se

K_B = 1.380649e-23


def _independent_units(m: int, **over) -> dict:
    """M decoupled OU units: Gaussian prior (variance 1), a zero dictionary (1 x M)."""
    d = base_dict(model={"n_features": 1, "n_components": m, "prior": "gaussian", "pi": None,
                         "lam": None, "prior_variance": 1.0, "sigma": 1.0,
                         "dictionary": [[0.0] * m]},
                  input={"x": [0.0]})
    for k, v in over.items():
        d[k] = v if k in ("noise", "mismatch", "weights") else {**d[k], **v}
    return d


def _var_and_se(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column variance (mean zero known) and its SE from the ESS of u^2."""
    out = [mean_and_se(u[:, j] ** 2) for j in range(u.shape[1])]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def test_capacitance_mismatch_sets_each_units_kT_over_C():
    """Thermal noise of each unit's own G_m: var(v_j) = kT / C_j whatever G_m,j is; with
    c_sigma = 0.3 and gm_sigma = 0.3 each unit follows its own C_j, and the ideal kT/C is
    rejected."""
    m, c, vu, h = 12, 1e-15, 2.0e-3, 0.02
    d = _independent_units(
        m, circuit={"capacitance": "1 fF", "volts_per_unit": "2 mV"},
        noise=[{"kind": "thermal"}],
        run={"duration": f"{40000 * h!r} ns", "dt": f"{h!r} ns", "record_every": f"{5 * h!r} ns",
             "seed": 3},
        mismatch={"c_sigma": 0.3, "gm_sigma": 0.3})
    cfg = Config.from_dict(d)
    dev = cfg.devices()
    res = run_inference(cfg)
    var, se = _var_and_se(res.kept(res.u))
    t_j = K_B * 300.0 / (c * dev.c_rel * vu**2)          # kT/C_j in units of V_u^2
    h_j = h * dev.gm_rel / dev.c_rel                      # each unit's own dt / tau_u
    pred = t_j / (1 - h_j / 2)                            # exact Euler-Maruyama law
    assert np.all(np.abs(var - pred) < Z * se), (var / pred, se / pred)
    ideal = K_B * 300.0 / (c * vu**2) / (1 - h / 2)
    chi2_ideal = np.sum(((var - ideal) / se) ** 2)
    assert chi2_ideal > 10 * m, chi2_ideal


def test_transconductance_mismatch_with_a_fixed_noise_conductance():
    """A thermal source of fixed conductance G_n: T_j = S_I / (4 G_m,j C V_u^2), so the
    variance of each unit goes as 1 / G_m,j."""
    m, h = 12, 0.02
    d = _independent_units(
        m, circuit={"capacitance": "1 fF", "volts_per_unit": "2 mV"},
        noise=[{"kind": "thermal", "conductance": "1 uS"}],
        run={"duration": f"{40000 * h!r} ns", "dt": f"{h!r} ns", "record_every": f"{5 * h!r} ns",
             "seed": 4},
        mismatch={"gm_sigma": 0.25})
    cfg = Config.from_dict(d)
    dev = cfg.devices()
    res = run_inference(cfg)
    var, se = _var_and_se(res.kept(res.u))
    t0 = K_B * 300.0 / (1e-15 * 2e-3**2)
    h_j = h * dev.gm_rel
    pred = t0 / dev.gm_rel / (1 - h_j / 2)
    assert np.all(np.abs(var - pred) < Z * se), (var / pred, se / pred)
    assert np.sum(((var - t0 / (1 - h / 2)) / se) ** 2) > 10 * m


def test_threshold_offsets_and_weight_mismatch_are_programmed_and_recorded(tmp_path):
    d = base_dict(run={"duration": "20 ns", "dt": "0.2 ns", "record_every": "2 ns", "seed": 9},
                  mismatch={"threshold_offset_sigma": "3 mV", "weight_gain_sigma": 0.1,
                            "weight_offset_sigma": 0.02})
    cfg = Config.from_dict(d)
    dev = cfg.devices()
    res = run_inference(cfg)
    model = cfg.build_model()
    np.testing.assert_allclose(res.u0_final, np.maximum(model.u0 + dev.threshold_offset / 10e-3, 0),
                               rtol=0, atol=1e-12)
    assert np.max(np.abs(res.u0_final - model.u0)) > 0.05
    np.testing.assert_allclose(res.dictionary, model.dictionary * dev.weight_gain + dev.weight_offset,
                               rtol=0, atol=1e-12)
    # drawn from the seed: the same seed gives the same chip, another seed another chip
    again = Config.from_dict(d).devices()
    np.testing.assert_array_equal(again.weight_gain, dev.weight_gain)
    other = Config.from_dict({**d, "run": {**d["run"], "seed": 10}}).devices()
    assert not np.allclose(other.weight_gain, dev.weight_gain)
    path = res.to_hdf5(tmp_path / "mm.h5")
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["devices/weight_gain"][()], dev.weight_gain)
        assert f["devices/threshold_offset"].attrs["units"] == "V"
        assert "[mismatch]" in f.attrs["config"]


def test_pelgrom_sigmas():
    d = base_dict(mismatch={"A_VT": "3.5 mV um", "A_beta": "1 % um", "width": "1 um",
                            "length": "0.25 um"})
    mm = Config.from_dict(d).mismatch
    assert mm.threshold_offset_sigma == pytest.approx(7e-3)   # 3.5 mV um / 0.5 um
    assert mm.weight_gain_sigma == pytest.approx(0.02)
    assert mm.gm_sigma == pytest.approx(0.01)
    d["mismatch"]["gm_sigma"] = 0.05                           # a direct value wins
    assert Config.from_dict(d).mismatch.gm_sigma == 0.05


@pytest.mark.parametrize("mismatch, message", [
    ({"gm_sigma": -0.1}, "mismatch.gm_sigma: expected a number >= 0"),
    ({"threshold_offset_sigma": "3 uS"}, "mismatch.threshold_offset_sigma: expected a voltage"),
    ({"A_VT": "3.5 mV"}, "mismatch.width: expected a length"),
    ({"A_VT": "3.5 mV", "width": "1 um", "length": "1 um"}, "mismatch.A_VT: expected a value in voltage x length"),
    ({"sigma_gm": 0.1}, "mismatch.sigma_gm: expected one of the keys"),
])
def test_mismatch_errors(mismatch, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(base_dict(mismatch=mismatch))


@pytest.mark.parametrize("weights, message", [
    ({"bits": 0}, "weights.bits: expected an integer from 1 to 24"),
    ({"bits": 1}, "weights.bits: expected an integer from 2 to 24"),
    ({"bits": 4, "range": -1}, "weights.range: expected a number > 0"),
    ({"rounding": "up"}, "weights.rounding: expected one of 'nearest', 'stochastic'"),
    ({"retention_time": "3 V"}, "weights.retention_time: expected a time"),
    ({"drift_sigma": "1 s"}, "weights.drift_sigma: expected a frequency"),
])
def test_weight_errors(weights, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(base_dict(weights=weights))


def _learning_1x1(weights: dict | None, duration: str):
    """1 input, 1 unit, Gaussian prior, T = 0, dictionary learning with normalisation: the
    continuous rule settles at the root of r u / sigma^2 = gamma Phi (Phi^2 - 1)."""
    d = base_dict(model={"n_features": 1, "n_components": 1, "prior": "gaussian", "pi": None,
                         "lam": None, "prior_variance": 1.0, "sigma": 0.5, "dictionary": [[0.7]]},
                  input={"x": [1.2]}, noise=[],
                  run={"duration": duration, "dt": "1 ns", "record_every": duration,
                       "u_init": [0.0], "seed": 2})
    d["learning"] = {"dictionary_time_constant": "400 ns", "normalise": True,
                     "normalise_strength": 0.5}
    if weights is not None:
        d["weights"] = weights
    return Config.from_dict(d)


def test_weight_resolution_nearest_rounding_stalls_stochastic_rounding_learns():
    """8-bit weights (LSB 0.031): the per-step update (~0.005) is below half an LSB, so
    nearest rounding never moves the weight; stochastic rounding follows the continuous
    rule in expectation and reaches its fixed point (Phi* ~ 1.36) within a few LSB."""
    cont = run_inference(_learning_1x1(None, "8 us")).dictionary[0, 0]
    w = {"bits": 8, "range": 4.0}
    lsb = 8.0 / 254
    nearest = run_inference(_learning_1x1({**w, "rounding": "nearest"}, "8 us")).dictionary[0, 0]
    stoch = run_inference(_learning_1x1({**w, "rounding": "stochastic"}, "8 us")).dictionary[0, 0]
    assert abs(cont - 0.7) > 0.5                      # the continuous rule moved far
    assert nearest == pytest.approx(round(0.7 / lsb) * lsb, abs=1e-12)  # stalled on its level
    assert abs(stoch - cont) < 4 * lsb, (stoch, cont)
    assert abs(round(stoch / lsb) * lsb - stoch) < 1e-9  # on a level


def test_weight_leak_and_drift_follow_their_equation():
    """No plasticity: dg/dt = -g / tau_ret + G_w d_ij, stepped by Euler: after n steps
    Phi_n = a^n Phi_0 + d dt (1 - a^n) / (1 - a) with a = 1 - dt / tau_ret."""
    d = base_dict(run={"duration": "200 ns", "dt": "0.2 ns", "record_every": "200 ns", "seed": 5},
                  weights={"retention_time": "100 ns", "drift_sigma": "1 MHz"})
    cfg = Config.from_dict(d)
    res = run_inference(cfg)
    dev = cfg.devices()
    n, dt, tau = 1000, 0.2e-9, 100e-9
    a = 1 - dt / tau
    pred = a**n * cfg.build_model().dictionary + dev.drift_rate * dt * (1 - a**n) / (1 - a)
    np.testing.assert_allclose(res.dictionary, pred, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(dev.drift_rate)) > 0


def test_rails_truncate_the_posterior():
    """Node voltages clipped at the rails |v| <= V_u (u in [-1, 1]) on N(0, 1) posteriors:
    no sample leaves the rails; inside them the law is still the posterior's (the second
    moment of u restricted to |u| < 0.7 matches N(0, 1) truncated there, within 4 SE); the
    variance collapses from 1 towards that of N(0, 1) truncated to [-1, 1] (0.291), plus
    the clipped Euler chain's O(sqrt(h)) boundary excess (the chain sticks at the rail for
    a few steps; measured 0.04 at h = 0.01, bounded here by 0.6 sqrt(h))."""
    h, a = 0.01, 0.7
    d = _independent_units(4, noise=[{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
                           circuit={"rail_voltage": "10 mV"},
                           run={"duration": f"{150000 * h * 10!r} ns", "dt": f"{h * 10!r} ns",
                                "record_every": f"{10 * h * 10!r} ns", "seed": 6})
    res = run_inference(Config.from_dict(d))
    u = res.kept(res.u)
    assert np.max(np.abs(u)) <= 1.0 + 1e-12
    assert np.mean(np.abs(u) >= 1.0 - 1e-12) > 0  # it does reach the rails
    # inside: E[u^2 | |u| < a] = 1 - 2 a phi(a) / (2 Phi(a) - 1) for N(0, 1)
    inner = 1 - 2 * a * norm.pdf(a) / (2 * norm.cdf(a) - 1)
    for j in range(u.shape[1]):
        ind = (np.abs(u[:, j]) < a).astype(float)
        m, se = mean_and_se(ind * (u[:, j] ** 2 - inner))  # zero mean if the law is right
        assert abs(m) < Z * se, (j, m, se)
    var, se = _var_and_se(u)
    trunc = 1 - 2 * norm.pdf(1) / (2 * norm.cdf(1) - 1)
    assert np.all(var > trunc - Z * se) and np.all(var < trunc + 0.6 * math.sqrt(h) + Z * se), var
    assert np.all(var < 0.5)  # far below the unclipped variance 1


def test_finite_residual_bandwidth_follows_the_delayed_linear_law():
    """tau_r dr/dt = -r + x - Phi s with tau_r = 2 tau_u on a 1-D Gaussian posterior: the
    (u, r) chain is linear, and its stationary variance is the discrete Lyapunov solution
    of the update the circuit performs; the instantaneous-residual value is rejected."""
    phi, sig, pv, h, tau_ratio = 1.5, 0.5, 1.0, 0.02, 2.0
    d = base_dict(model={"n_features": 1, "n_components": 1, "prior": "gaussian", "pi": None,
                         "lam": None, "prior_variance": pv, "sigma": sig, "dictionary": [[phi]]},
                  input={"x": [0.0]}, noise=[{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
                  circuit={"residual_time_constant": f"{tau_ratio * 10!r} ns"},
                  run={"duration": f"{100000 * h * 10!r} ns", "dt": f"{h * 10!r} ns",
                       "record_every": f"{10 * h * 10!r} ns", "seed": 8, "u_init": [0.0]})
    res = run_inference(Config.from_dict(d))
    alpha = -math.expm1(-h / tau_ratio)
    c = h * phi / sig**2
    # state (u_n, r_{n-1}) -> (u_{n+1}, r_n)
    a = np.array([[1 - h / pv - c * phi * alpha, c * (1 - alpha)],
                  [-alpha * phi, 1 - alpha]])
    q = np.diag([2 * h, 0.0])
    var_pred = solve_discrete_lyapunov(a, q)[0, 0]
    u = res.kept(res.u)[:, 0]
    v, se = mean_and_se(u**2)
    assert abs(v - var_pred) < Z * se, (v, var_pred, se)
    _, cov_inst = models.gaussian_posterior(Config.from_dict(d).build_model(), np.zeros(1),
                                            euler_step=h)
    assert abs(v - cov_inst[0, 0]) > 10 * se, (v, cov_inst, se)


def test_step_is_bounded_by_the_fastest_mismatched_unit():
    """tau_j = C_j / G_m,j: the stability bound and the automatic dt follow the fastest unit
    (a chip at s = 0.3 diverged at the nominal step before this)."""
    d = base_dict(run={"dt": None, "integrator": "leimkuhler_matthews", "seed": 4},
                  mismatch={"gm_sigma": 0.3, "c_sigma": 0.3})
    cfg = Config.from_dict(d)
    dev = cfg.devices()
    speed = float(np.max(dev.gm_rel / dev.c_rel))
    assert speed > 1.2
    nominal = Config.from_dict(base_dict(run={"dt": None, "integrator": "leimkuhler_matthews"}))
    assert cfg.resolved_dt()[0] == pytest.approx(nominal.resolved_dt()[0] / speed, rel=0.06)
    lam = models.lambda_max(cfg.build_model())
    dt = 1.9 / lam * 10e-9  # stable for the nominal unit (tau_u = 10 ns), not for the fastest
    with pytest.raises(ConfigError, match="fastest unit of this mismatched chip"):
        Config.from_dict({**d, "run": {**d["run"], "dt": f"{dt!r} s", "record_every": f"{dt!r} s"}})
