"""A soft threshold made by comparators of finite gain and offset (``[comparator]``, issue 17):
the circuit follows the smooth threshold's equation at T = 0 and samples the smooth
threshold's own posterior ``exp(-E_w)``, which a finite gain moves away from the ideal one."""

import math

import numpy as np
import pytest

import models
from circuit_sim import run_inference
from circuit_sim.errors import ConfigError

from ._configs import DICT_2D, X_2D, make_config


def _euler_smooth(u, x, phi, sigma, lam, u0, w, positive, h, n):
    """Reference: tau du/dt = h_w'(u) Phi^T (x - Phi h_w(u)) / sigma^2 - lam sign(u), Euler."""
    out = [u.copy()]
    for _ in range(n):
        s, ds = models.smooth_soft_threshold(u, u0, w, positive)
        u = u + h * (ds * (phi.T @ (x - phi @ s)) / sigma**2 - lam * np.sign(u))
        out.append(u.copy())
    return np.array(out)


@pytest.mark.parametrize("backend,positive", [
    ("numpy", False), ("numpy", True),
    pytest.param("standalone", False, marks=pytest.mark.slow)])
def test_comparator_follows_the_smooth_threshold_at_T0(backend, positive):
    """Gain 100 and a 1.2 V swing (V_w = 3 mV, w = 0.3 at V_u = 10 mV) and a 2 mV offset
    (u0 + 0.2): at T = 0 the circuit follows the Euler trajectory of the smooth threshold's
    flow to 1e-10, and leaves the ideal threshold's by far more."""
    cfg = make_config(model={"positive": positive}, noise=[],
                      comparator={"gain": 100, "swing": "1.2 V", "offset": "2 mV"},
                      run={"duration": "20 ns", "dt": "0.1 ns", "record_every": "0.1 ns",
                           "u_init": [1.7, -0.9], "backend": backend})
    assert cfg.comparator.width == pytest.approx(3e-3, rel=1e-12)
    res = run_inference(cfg)
    model = cfg.build_model()
    args = (np.array([1.7, -0.9]), np.array(X_2D), np.array(DICT_2D), 0.5, 1.0)
    n = len(res.t) - 1
    ref = _euler_smooth(*args, model.u0 + 0.2, 0.3, positive, 0.01, n)
    np.testing.assert_allclose(res.u, ref, rtol=0, atol=1e-10)
    ideal = _euler_smooth(*args, model.u0, 1e-6, positive, 0.01, n)
    assert np.max(np.abs(res.u - ideal)) > 0.05


def _one_latent(comparator: bool):
    """1 latent, phi = 1, x = 1.2, sigma = 0.5, lam = 1, pi = 0.3 (u0 = 1.20); comparators of
    width 3 mV at V_u = 10 mV (w = 0.3) or ideal; Leimkuhler-Matthews, 600 us = 60000 tau_u."""
    extra = {"comparator": {"width": "3 mV"}} if comparator else {}
    return make_config(model={"n_features": 1, "n_components": 1, "dictionary": [[1.0]]},
                       input={"x": [1.2]},
                       run={"duration": "600 us", "dt": None, "record_every": "10 ns",
                            "integrator": "leimkuhler_matthews", "backend": "standalone"},
                       **extra)


def _cdf(grid, u0, w):
    s = models.soft_threshold(grid, u0) if w == 0 else models.smooth_soft_threshold(grid, u0, w)[0]
    e = (1.2 - s) ** 2 / (2 * 0.25) + np.abs(grid)
    p = np.exp(-(e - e.min()))
    c = np.cumsum(p)
    return c / c[-1]


@pytest.mark.slow
def test_comparator_samples_the_smooth_posterior_and_not_the_ideal_one():
    """The samples' CDF is within the Kolmogorov-Smirnov bound 1.95 / sqrt(ESS) (the 0.1%
    level, the chain's ESS for its n) of exp(-E_w) by quadrature, and far outside it for the
    ideal exp(-E) (the two differ by 0.051); the ideal circuit is the other way round."""
    grid = np.linspace(-8, 8, 160001)
    u0 = math.log(1 / 0.3)
    exact = {True: _cdf(grid, u0, 0.3), False: _cdf(grid, u0, 0)}
    for comparator in (True, False):
        res = run_inference(_one_latent(comparator))
        u = np.sort(res.kept(res.u)[:, 0])
        bound = 1.95 / math.sqrt(res.metrics["ess"])
        emp = np.searchsorted(u, grid, side="right") / len(u)
        d_own = np.max(np.abs(emp - exact[comparator]))
        d_other = np.max(np.abs(emp - exact[not comparator]))
        assert d_own < bound, (comparator, d_own, bound)
        assert d_other > 2 * bound, (comparator, d_other, bound)


def test_comparator_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"comparator\.swing: expected gain \(V/V\) and swing"):
        make_config(comparator={"gain": 100})
    with pytest.raises(ConfigError, match=r"comparator\.width: expected either width, or gain"):
        make_config(comparator={"gain": 100, "swing": "1 V", "width": "1 mV"})
    with pytest.raises(ConfigError, match=r"comparator\.gain: expected .*> 0.*-3"):
        make_config(comparator={"gain": -3, "swing": "1 V"})
    with pytest.raises(ConfigError, match=r"comparator\.width: expected a voltage"):
        make_config(comparator={"width": "3 nA"})
    with pytest.raises(ConfigError, match=r"\[comparator\]: expected a soft threshold"):
        make_config(model={"prior": "gaussian", "pi": None}, comparator={"width": "1 mV"})


def test_smooth_threshold_tends_to_the_ideal_one():
    u = np.linspace(-3, 3, 601)
    for positive in (False, True):
        s, ds = models.smooth_soft_threshold(u, 1.0, 1e-4, positive)
        np.testing.assert_allclose(s, models.soft_threshold(u, 1.0, positive), atol=1e-4)
        far = np.abs(np.abs(u) - 1.0) > 0.01
        np.testing.assert_allclose(ds[far], models.soft_threshold_derivative(u, 1.0, positive)[far],
                                   atol=1e-12)
        s, ds = models.smooth_soft_threshold(u, 1.0, 0.3, positive)
        num = np.gradient(s, u)
        assert np.max(np.abs(num - ds)[1:-1]) < 1e-3        # h_w' is the derivative of h_w
