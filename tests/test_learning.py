"""Plasticity in the circuit (SPEC section 2, "Learning"): the Brian2 synaptic equation
``dg/dt`` and the threshold equation ``du0/dt`` follow the numpy reference to round-off at
T = 0, and the joint inference + learning dynamics settle on the analytic fixed point."""

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import brentq

import models
from circuit_sim import ConfigError, run_inference

from ._configs import make_config

PHI0 = [[1.0, 0.6, -0.3, 0.2], [0.0, 0.8, 0.5, -0.7], [0.2, 0.0, 0.8, 0.6]]


def _learning_config(case: str, backend: str, crossbar: str, n_steps: int):
    m = {"n_features": 3, "n_components": 4, "sigma": 0.5, "dictionary": PHI0}
    learning = {"dictionary_time_constant": "40 ns", "normalise": True, "normalise_strength": 2.0}
    if case in ("laplace", "shared"):
        m.update(prior="laplace", pi=0.3, positive=True)
        learning["threshold_time_constant"] = "80 ns"
        if case == "shared":  # one threshold for all units, following -sum_j dE/du0_j
            learning["threshold"] = "shared"
            learning["threshold_time_constant"] = "320 ns"
    elif case in ("lca", "lca_positive"):
        m.update(prior="laplace", pi=0.3, positive=case == "lca_positive")
        learning["dynamics"] = "lca"
    else:
        m.update(prior="gaussian", pi=None, prior_variance=2.0)
    cfg = make_config(model=m, input={"x": [3.0, -2.0, 2.5]}, noise=[],
                      run={"duration": "4 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                           "backend": backend, "u_init": [1.9, -2.3, 0.4, 3.1],
                           "crossbar": crossbar})
    d = dict(cfg.raw, learning=learning)
    d["run"] = dict(d["run"], duration=f"{n_steps * 0.4e-9!r} s")
    from circuit_sim import Config
    return Config.from_dict(d)


def check_learning_trajectory(case, backend, crossbar, n_steps=250):
    cfg = _learning_config(case, backend, crossbar, n_steps)
    res = run_inference(cfg)
    model = cfg.build_model()
    h = 0.4e-9 / cfg.circuit.tau_u
    lc = cfg.learning
    ref = models.learning_reference(
        model, cfg.x, np.array(cfg.run.u_init), n_steps=n_steps, step=h,
        tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
        tau_u0=(None if lc.threshold_time_constant is None
                else lc.threshold_time_constant / cfg.circuit.tau_u),
        normalise=lc.gamma, dynamics=lc.dynamics, plasticity_every=cfg.plasticity_stride(),
        threshold=lc.threshold)
    # the dictionary moved, and the circuit's final conductances equal the reference's next step
    final_ref = models.learning_reference(
        model, cfg.x, np.array(cfg.run.u_init), n_steps=n_steps + 1, step=h,
        tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
        tau_u0=(None if lc.threshold_time_constant is None
                else lc.threshold_time_constant / cfg.circuit.tau_u),
        normalise=lc.gamma, dynamics=lc.dynamics, plasticity_every=cfg.plasticity_stride(),
        threshold=lc.threshold)
    assert np.max(np.abs(final_ref.dictionary[-1] - model.dictionary)) > 0.05
    np.testing.assert_allclose(res.dictionary, final_ref.dictionary[-1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.u0_final, final_ref.u0[-1], rtol=0, atol=1e-10)
    if case in ("laplace", "shared"):
        assert np.max(np.abs(final_ref.u0[-1] - model.u0)) > 0.01  # the threshold moved
    if case == "shared":  # one threshold: every unit's moved by the same amount
        assert np.ptp(res.u0_final) < 1e-12
        # and not the per-unit rule's trajectory
        per_unit = models.learning_reference(
            model, cfg.x, np.array(cfg.run.u_init), n_steps=n_steps + 1, step=h,
            tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
            tau_u0=lc.threshold_time_constant / cfg.circuit.tau_u, normalise=lc.gamma,
            plasticity_every=cfg.plasticity_stride())
        assert np.max(np.abs(per_unit.u0[-1] - res.u0_final)) > 0.01
    if case in ("laplace", "shared"):
        s_ref = np.maximum(np.abs(ref.u) - ref.u0, 0.0)
    elif case in ("lca", "lca_positive"):
        s_ref = np.maximum(np.abs(ref.u) - ref.u0, 0.0)
        if case == "lca":
            s_ref = np.sign(ref.u) * s_ref
        # LCA has no chatter: u itself must agree (inactive units are driven too)
        np.testing.assert_allclose(res.u, ref.u, rtol=0, atol=1e-10)
    else:
        s_ref = ref.u
    s_res = res.s
    np.testing.assert_allclose(s_res, s_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("crossbar", ["summed", "dense"])
@pytest.mark.parametrize("case", ["laplace", "shared", "gaussian", "lca", "lca_positive"])
def test_plasticity_matches_reference_at_T0_numpy(case, crossbar):
    check_learning_trajectory(case, "numpy", crossbar)


@pytest.mark.slow
@pytest.mark.parametrize("crossbar", ["summed", "dense"])
@pytest.mark.parametrize("backend", ["cython", "standalone"])
@pytest.mark.parametrize("case", ["laplace", "shared", "gaussian", "lca", "lca_positive"])
def test_plasticity_matches_reference_at_T0_compiled(case, backend, crossbar):
    check_learning_trajectory(case, backend, crossbar)


def test_plasticity_clock_is_multirate_with_dense_crossbar():
    """The dense crossbar steps the plasticity every K = floor(tau_u / (4 dt)) steps by
    default (here 6), and the circuit then follows the K = 6 reference, not the K = 1 one."""
    cfg = _learning_config("laplace", "numpy", "dense", 60)
    assert cfg.plasticity_stride() == 6
    res = run_inference(cfg)
    model, lc = cfg.build_model(), cfg.learning
    kw = dict(n_steps=61, step=0.4e-9 / cfg.circuit.tau_u, normalise=lc.gamma,
              tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
              tau_u0=lc.threshold_time_constant / cfg.circuit.tau_u)
    k6 = models.learning_reference(model, cfg.x, np.array(cfg.run.u_init), plasticity_every=6, **kw)
    k1 = models.learning_reference(model, cfg.x, np.array(cfg.run.u_init), plasticity_every=1, **kw)
    np.testing.assert_allclose(res.dictionary, k6.dictionary[-1], rtol=0, atol=1e-10)
    assert np.max(np.abs(res.dictionary - k1.dictionary[-1])) > 1e-4
    # an explicit plasticity_dt = dt gives every step again
    from circuit_sim import Config
    d = dict(cfg.raw, learning=dict(cfg.raw["learning"], plasticity_dt="0.4 ns"))
    assert Config.from_dict(d).plasticity_stride() == 1


def test_plasticity_dt_errors():
    from circuit_sim import Config
    cfg = _learning_config("laplace", "numpy", "dense", 10)
    bad = dict(cfg.raw, learning=dict(cfg.raw["learning"], plasticity_dt="1 ns"))
    with pytest.raises(ConfigError, match=r"learning.plasticity_dt: expected a whole multiple "
                                          r"of run.dt = 400 ps, got .1 ns"):
        Config.from_dict(bad)
    summed = dict(bad, learning=dict(bad["learning"], plasticity_dt="1.2 ns"),
                  run=dict(bad["run"], crossbar="summed"))
    with pytest.raises(ConfigError, match="learning.plasticity_dt: expected run.dt = 400 ps "
                                          "with the summed crossbar"):
        Config.from_dict(summed)
    with pytest.raises(ConfigError, match="learning.plasticity_dt: expected a time"):
        Config.from_dict(dict(bad, learning=dict(bad["learning"], plasticity_dt="3 V")))


@pytest.mark.parametrize("plasticity", ["every step", "multirate"])
def test_learning_fixed_point_matches_analytic(plasticity):
    """One input, one unit, Gaussian prior (variance v), T = 0, normalisation gamma. At the
    fixed point u = v Phi x / (sigma^2 + v Phi^2), r = x sigma^2 / (sigma^2 + v Phi^2), and
    the dictionary rule balances: r u / sigma^2 = gamma Phi (Phi^2 - 1)."""
    sigma, var, gamma, x = 0.5, 1.0, 0.5, 1.2

    def balance(phi):
        u = var * phi * x / (sigma**2 + var * phi**2)
        r = x - phi * u
        return r * u / sigma**2 - gamma * phi * (phi**2 - 1)

    phi_star = brentq(balance, 1.0, 5.0)
    cfg = make_config(model={"n_features": 1, "n_components": 1, "prior": "gaussian", "pi": None,
                             "prior_variance": var, "sigma": sigma, "dictionary": [[0.7]]},
                      input={"x": [x]}, noise=[],
                      run={"duration": "3 us", "dt": "1 ns", "record_every": "3 us",
                           "u_init": [0.0], "crossbar": "dense"})
    from circuit_sim import Config
    learning = {"dictionary_time_constant": "50 ns", "normalise": True,
                "normalise_strength": gamma}
    if plasticity == "every step":
        learning["plasticity_dt"] = "1 ns"
    cfg = Config.from_dict(dict(cfg.raw, learning=learning))
    assert cfg.plasticity_stride() == (1 if plasticity == "every step" else 2)
    res = run_inference(cfg)
    assert res.dictionary[0, 0] == pytest.approx(phi_star, abs=1e-6)
    assert abs(phi_star - 0.7) > 0.3  # it had to move there


def test_learning_config_errors_and_warning():
    from circuit_sim import Config
    base = make_config().raw
    with pytest.raises(ConfigError, match="learning.dictionary_time_constant: expected a time"):
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "5 V"}))
    with pytest.raises(ConfigError, match="learning.dictionary_time_constant: expected a time > 0"):
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "-5 us"}))
    with pytest.raises(ConfigError, match="learning.threshold: expected one of 'per_unit', "
                                          "'shared', got 'global'"):
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "50 us",
                                              "threshold_time_constant": "1 ms",
                                              "threshold": "global"}))
    with pytest.raises(ConfigError, match="learning.threshold: expected \"shared\" only with a "
                                          "learned threshold"):
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "50 us",
                                              "threshold": "shared"}))
    with pytest.warns(UserWarning, match="tau_u << tau_Phi"):
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "20 ns"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Config.from_dict(dict(base, learning={"dictionary_time_constant": "50 us"}))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("standalone", marks=pytest.mark.slow)])
def test_input_schedule_switches_patches_at_their_times(backend):
    """A stream of inputs: patch k is presented until switch_at[k] (no global clock)."""
    from circuit_sim.run.inference import run_inference as run
    cfg = _learning_config("gaussian", backend, "auto", 60)
    patches = np.array([[3.0, -2.0, 2.5], [-1.0, 0.5, 2.0], [0.3, 0.3, -0.9]])
    dt = 0.4e-9
    switch_at = np.array([11, 32, np.inf])  # in steps
    res = run(cfg, schedule=(patches, switch_at))
    xs = np.repeat(patches, [11, 21, 60 - 32], axis=0)
    lc = cfg.learning
    ref = models.learning_reference(cfg.build_model(), xs, np.array(cfg.run.u_init), n_steps=60,
                                    step=dt / cfg.circuit.tau_u, normalise=lc.gamma,
                                    tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
                                    plasticity_every=cfg.plasticity_stride())
    np.testing.assert_allclose(res.u, ref.u, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_standalone_plasticity_loop_at_a_size_with_vector_remainders_matches_reference():
    """The standalone crossbar's own state-update template (rows x columns, indices computed,
    a vectorised inner loop) at N = 6, M = 13 (13 columns: a vector body and a remainder at any
    vector width), with the column-norm term (the summed-variable template): the dictionary
    after 150 plasticity-every-step steps equals the numpy reference's to 1e-10."""
    rng = np.random.default_rng(7)
    n, m = 6, 13
    phi = rng.normal(0.0, 0.4, (n, m))
    x = rng.normal(0.0, 1.5, n)
    u_init = rng.normal(0.0, 2.0, m)
    from circuit_sim import Config
    cfg = make_config(model={"n_features": n, "n_components": m, "sigma": 0.5,
                             "dictionary": phi.tolist(), "prior": "laplace", "pi": 0.3,
                             "positive": False},
                      input={"x": x.tolist()}, noise=[],
                      run={"duration": f"{150 * 0.4e-9!r} s", "dt": "0.4 ns",
                           "record_every": "0.4 ns", "backend": "standalone",
                           "u_init": u_init.tolist(), "crossbar": "dense"})
    cfg = Config.from_dict(dict(cfg.raw, learning={
        "dictionary_time_constant": "20 ns", "normalise": True, "normalise_strength": 2.0,
        "plasticity_dt": "0.4 ns"}))
    assert cfg.plasticity_stride() == 1
    res = run_inference(cfg)
    model, lc = cfg.build_model(), cfg.learning
    ref = models.learning_reference(model, cfg.x, u_init, n_steps=151,
                                    step=0.4e-9 / cfg.circuit.tau_u,
                                    tau_phi=lc.dictionary_time_constant / cfg.circuit.tau_u,
                                    normalise=lc.gamma, plasticity_every=1)
    assert np.max(np.abs(ref.dictionary[-1] - phi)) > 0.05, "the dictionary must move"
    np.testing.assert_allclose(res.dictionary, ref.dictionary[-1], rtol=0, atol=1e-10)
