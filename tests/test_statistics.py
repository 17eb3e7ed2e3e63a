"""SPEC section 5: the circuit samples the right posterior (statistical acceptance checks).

Every check compares a statistic with its exact value within ``Z = 4`` standard errors,
the standard error coming from the effective sample size (Sokal-windowed autocorrelation
time), and also against the SPEC's acceptance figure (3%, 5%, TV < 0.03). Where Euler-
Maruyama's own discretisation bias is known exactly (Gaussian targets: the chain's
stationary covariance is ``T (A - h A^2/2)^-1``), the ESS test uses that law, so the test
is sharp; the acceptance figure is always measured against the continuous posterior.

Each check is also run with the noise amplitude deliberately off by sqrt(2)
(``break_noise``) and must then fail. The large (64 x 128) case was broken by hand (see
the closing note); all others carry a permanent ``broken`` variant.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants

import models
from circuit_sim import Config, load_config, run_inference

from ._configs import DICT_2D, X_2D, base_dict
from ._physics import (Z, break_noise, euler_temperature_factor, mean_and_se,
                       temperature_series, tv_noise_bound)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
K_B = constants.k
SQRT2 = math.sqrt(2.0)


def _run(cfg_dict: dict):
    return run_inference(Config.from_dict(cfg_dict))


def _circuit(capacitance: float, g_m: float = 1e-6) -> dict:
    return {"capacitance": f"{capacitance!r} F", "transconductance": f"{g_m!r} S",
            "volts_per_unit": "10 mV", "temperature": "300 K"}


def _run_section(tau: float, h: float, n_tau: float, rec_tau: float, backend: str, seed=1) -> dict:
    dt = h * tau
    stride = max(1, round(rec_tau / h))
    return {"duration": f"{n_tau * tau!r} s", "dt": f"{dt!r} s",
            "record_every": f"{stride * dt!r} s", "seed": seed, "backend": backend}


# ---------------------------------------------------------------- item 2: kT/C
def check_kT_over_C(capacitance: float, *, backend="standalone", n_tau=2000.0, h=0.01, m=64,
                    seed=1) -> dict:
    """M uncoupled gm-C nodes (E = u^2/2) with only the transconductor's thermal noise:
    var(v) must be k_B T / C (Euler: times 1/(1 - h/2))."""
    tau = capacitance / 1e-6
    d = {"model": {"n_features": 1, "n_components": m, "prior": "gaussian", "prior_variance": 1.0,
                   "sigma": 1.0, "dictionary": [[0.0] * m]},
         "input": {"x": [0.0]}, "circuit": _circuit(capacitance), "noise": [{"kind": "thermal"}],
         "run": _run_section(tau, h, n_tau, 0.5, backend, seed)}
    res = _run(d)
    v2 = res.kept(res.v) ** 2  # exact mean is 0
    stats = [mean_and_se(v2[:, i]) for i in range(m)]
    var = float(np.mean([s[0] for s in stats]))
    se = float(np.sqrt(np.sum([s[1] ** 2 for s in stats])) / m)
    ktc = K_B * 300.0 / capacitance
    expected = ktc / (1 - h / 2)
    out = {"ratio": var / ktc, "rel_se": se / ktc}
    # the run's precision, relative to what it measured (so that a wrong noise level, which
    # scales the variance and its SE together, fails the physics below, not this)
    assert se / var < 0.03 / Z, "too few effective samples for a 3% check"
    assert abs(var - expected) < Z * se, f"var(v) = {var:.4g} V^2, Euler-expected {expected:.4g} +- {se:.2g}"
    assert abs(var / ktc - 1) < 0.03, f"var(v) / (kT/C) = {var / ktc:.4f}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("capacitance", [1e-15, 100e-15])
def test_kT_over_C(capacitance):
    out = check_kT_over_C(capacitance, seed=int(round(-math.log10(capacitance))))
    print(f"C = {capacitance:g} F: var(v)/(kT/C) = {out['ratio']:.4f} +- {out['rel_se']:.4f}")


@pytest.mark.slow
@pytest.mark.parametrize("factor", [SQRT2, 1 / SQRT2])
def test_kT_over_C_fails_when_noise_is_wrong(factor):
    # the physics assertions must fail, not the sample-size precondition
    with break_noise(factor), pytest.raises(AssertionError, match=r"^var\(v\) (=|/)"):
        check_kT_over_C(1e-15)


def test_kT_over_C_quick_numpy():
    """Fast-suite version on the numpy backend (8 nodes, 300 tau_u): same statistics,
    ESS-derived tolerance, looser acceptance because it has fewer samples."""
    tau = 1e-15 / 1e-6
    h, m = 0.02, 8
    d = {"model": {"n_features": 1, "n_components": m, "prior": "gaussian", "sigma": 1.0,
                   "dictionary": [[0.0] * m]},
         "input": {"x": [0.0]}, "circuit": _circuit(1e-15), "noise": [{"kind": "thermal"}],
         "run": _run_section(tau, h, 300.0, 0.5, "numpy")}
    res = _run(d)
    v2 = res.kept(res.v) ** 2
    stats = [mean_and_se(v2[:, i]) for i in range(m)]
    var = np.mean([s[0] for s in stats])
    se = np.sqrt(np.sum([s[1] ** 2 for s in stats])) / m
    expected = K_B * 300 / 1e-15 / (1 - h / 2)
    assert abs(var - expected) < Z * se
    assert abs(var * 2 - expected) > Z * se * 2  # a factor-2 PSD error would be visible


# ---------------------------------------------------------------- flicker noise in the circuit
def _euler_flicker_variance(cfg: Config, h: float) -> float:
    """Exact stationary var(u) of the Euler-discretised node + OU-bank linear system
    (discrete Lyapunov equation), for E = u^2/2."""
    from scipy.linalg import solve_discrete_lyapunov

    c = cfg.circuit
    taus, sds = cfg.noise_sources()[0].ou_bank()
    dt = h * c.tau_u
    k = len(taus)
    f = np.eye(k + 1)
    f[0, 0] -= h
    f[0, 1:] = dt / (c.capacitance * c.volts_per_unit)
    q = np.zeros((k + 1, k + 1))
    for p, (tau, sd) in enumerate(zip(taus, sds)):
        f[p + 1, p + 1] -= dt / tau
        q[p + 1, p + 1] = sd**2 * 2 * dt / tau
    return float(solve_discrete_lyapunov(f, q)[0, 0])


def check_flicker_variance(*, backend="standalone", n_tau=10000.0, h=0.005, m=64, seed=1) -> dict:
    """Uncoupled nodes with E = u^2/2 driven by flicker noise only (an OU bank with poles
    from tau_u/10 to 10 tau_u): var(u) equals the exact variance of the Euler-discretised
    system within Z SE, and the budget's equivalent temperature T_eq = <S>_H / (4 G_m C V_u^2)
    (exact at unit curvature, by its definition) within 3%. Flicker is not white: for other
    curvatures the Boltzmann formula does not hold (a result to report, SPEC 3)."""
    c = 1e-15
    tau = c / 1e-6
    fc = 1 / (2 * math.pi * tau)
    d = {"model": {"n_features": 1, "n_components": m, "prior": "gaussian", "sigma": 1.0,
                   "dictionary": [[0.0] * m]},
         "input": {"x": [0.0]}, "circuit": _circuit(c),
         "noise": [{"kind": "flicker", "white_psd": "1e-25 A^2/Hz", "corner_frequency": f"{fc!r} Hz",
                    "f_min": f"{fc / 10!r} Hz", "f_max": f"{fc * 10!r} Hz"}],
         "run": _run_section(tau, h, n_tau, 0.5, backend, seed)}
    cfg = Config.from_dict(d)
    res = run_inference(cfg)
    u2 = res.kept(res.u) ** 2
    stats = [mean_and_se(u2[:, i]) for i in range(m)]
    var = float(np.mean([s[0] for s in stats]))
    se = float(np.sqrt(np.sum([s[1] ** 2 for s in stats])) / m)
    t_eq = res.T_eff
    var_h = _euler_flicker_variance(cfg, h)
    out = {"ratio": var / t_eq, "rel_se": se / t_eq, "euler_ratio": var_h / t_eq}
    assert se / var < 0.03 / Z, "too few effective samples for a 3% check"  # relative, as above
    assert abs(var - var_h) < Z * se, f"var(u) = {var:.4g}, Euler-exact {var_h:.4g} +- {se:.2g}"
    assert abs(var / t_eq - 1) < 0.03, f"var(u)/T_eq = {var / t_eq:.4f}"
    return out


@pytest.mark.slow
def test_flicker_noise_gives_budgeted_variance():
    print(check_flicker_variance())


@pytest.mark.slow
def test_flicker_check_fails_when_noise_is_wrong():
    with break_noise(SQRT2), pytest.raises(AssertionError, match=r"^var\(u\)( =|/T_eq)"):
        check_flicker_variance()


# ---------------------------------------------------------------- item 4: temperature mapping
NOISE_SETS = {
    "thermal": [{"kind": "thermal"}],
    "shot": [{"kind": "shot", "current": "100 nA"}],
    "mixed": [{"kind": "thermal", "gamma": 0.6667}, {"kind": "shot", "current": "20 nA", "branches": 2},
              {"kind": "injected", "psd": "1e-26 A^2/Hz"}],
}


def _mapping_model():
    rng = np.random.default_rng(7)
    phi = models.random_dictionary(4, 8, rng)
    x = rng.normal(size=4)
    return phi, x


def check_temperature_mapping(sources: str, capacitance: float, *, backend="standalone",
                              n_tau=6000.0, h=0.005, seed=1) -> dict:
    """Gaussian prior (4 x 8): the temperature measured from the samples equals the noise
    budget's T_eff (times the known Euler factor) within Z SE, and within 3%."""
    phi, x = _mapping_model()
    tau = capacitance / 1e-6
    d = {"model": {"n_features": 4, "n_components": 8, "prior": "gaussian", "sigma": 1.0,
                   "dictionary": phi.tolist()},
         "input": {"x": x.tolist()}, "circuit": _circuit(capacitance),
         "noise": NOISE_SETS[sources], "run": _run_section(tau, h, n_tau, 0.25, backend, seed)}
    res = _run(d)
    model = res.model
    q = temperature_series(res.kept(res.u), model, x) / res.T_eff
    mean, se = mean_and_se(q)
    factor = euler_temperature_factor(model, x, h)
    out = {"T_eff": res.T_eff, "ratio": mean, "se": se, "euler_factor": factor}
    assert se / mean < 0.03 / Z, "too few effective samples for a 3% check"  # relative
    assert abs(mean - factor) < Z * se, f"T_meas/T_eff = {mean:.4f}, Euler-expected {factor:.4f} +- {se:.4f}"
    assert abs(mean - 1) < 0.03, f"T_meas/T_eff = {mean:.4f}, more than 3% from 1"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("capacitance", [1e-15, 10e-15, 100e-15])
@pytest.mark.parametrize("sources", sorted(NOISE_SETS))
def test_temperature_mapping(sources, capacitance):
    seed = 10 * sorted(NOISE_SETS).index(sources) + int(round(-math.log10(capacitance)))
    out = check_temperature_mapping(sources, capacitance, seed=seed)
    print(f"{sources} C={capacitance:g}: T_eff={out['T_eff']:.4g} measured/predicted="
          f"{out['ratio']:.4f} +- {out['se']:.4f} (Euler factor {out['euler_factor']:.4f})")


@pytest.mark.slow
def test_temperature_mapping_fails_when_noise_is_wrong():
    with break_noise(SQRT2), pytest.raises(AssertionError, match=r"^T_meas/T_eff = "):
        check_temperature_mapping("mixed", 10e-15)


# ---------------------------------------------------------------- item 1: Gaussian exactness
def check_gaussian_exactness(cfg: Config, *, tolerance=0.05) -> dict:
    """Sample covariance vs the closed form: within the ESS noise of the Euler law, and
    relative Frobenius error vs the continuous posterior below ``tolerance`` (None: the
    known Euler bias plus Z times the covariance's relative noise from the ESS)."""
    res = run_inference(cfg)
    model, x = res.model, res.x
    h = res.dt / res.tau_u
    u = res.pooled(res.u)  # an ensemble: its chains one after the other
    _, cov = models.gaussian_posterior(model, x, temperature=res.T_eff)
    mean_h, cov_h = models.gaussian_posterior(model, x, temperature=res.T_eff, euler_step=h)
    c_hat = np.atleast_2d(np.cov(u, rowvar=False))
    tau = float(np.nanmax(models.integrated_autocorrelation_time(u)))
    n_eff = len(u) / max(tau, 1.0)
    # E|C_hat - C|_F^2 = (tr(C)^2 + |C|_F^2) / n_eff for Gaussian samples
    noise_rms = math.sqrt((np.trace(cov_h) ** 2 + np.sum(cov_h**2)) / n_eff)
    err_h = float(np.linalg.norm(c_hat - cov_h))
    err = float(np.linalg.norm(c_hat - cov) / np.linalg.norm(cov))
    out = {"cov_error": err, "noise_rel": noise_rms / np.linalg.norm(cov), "n_eff": n_eff,
           "euler_bias": float(np.linalg.norm(cov_h - cov) / np.linalg.norm(cov)),
           "T_measured": float(np.mean(temperature_series(u, model, x)))}
    # |C_hat - C_h|_F^2 is a sum of >= 3 chi^2-like terms: 2.5x its RMS is a > 4-sigma event
    assert err_h < 2.5 * noise_rms, f"|C_hat - C_h|_F = {err_h:.3g} vs noise RMS {noise_rms:.3g}"
    se_mean = np.sqrt(np.diag(cov_h) * tau / len(u))
    assert np.all(np.abs(u.mean(0) - mean_h) < Z * se_mean + 1e-12), (
        f"mean of u {u.mean(0)} vs exact {mean_h} +- {se_mean}")
    if tolerance is None:
        tolerance = out["euler_bias"] + Z * out["noise_rel"]
    assert err < tolerance, f"relative Frobenius error {err:.4f} (allowed {tolerance:.4f})"
    return out


def _gaussian_2d(backend="standalone", n_tau=30000.0, h=0.012):
    cfg = load_config(ROOT / "experiments" / "configs" / "gaussian_2d.toml")
    d = dict(cfg.raw)
    tau = cfg.circuit.tau_u
    d["run"] = _run_section(tau, h, n_tau, 0.5, backend)
    return Config.from_dict(d)


@pytest.mark.slow
def test_gaussian_exactness_2d():
    out = check_gaussian_exactness(_gaussian_2d())
    print(out)
    assert out["noise_rel"] < 0.05 / Z  # enough samples to resolve the 5% criterion


@pytest.mark.slow
def test_gaussian_exactness_2d_fails_when_noise_is_wrong():
    with break_noise(SQRT2), pytest.raises(AssertionError,
                                           match=r"^(\|C_hat - C_h\|_F|mean of u|relative Frob)"):
        check_gaussian_exactness(_gaussian_2d())


def test_gaussian_2d_quick_numpy():
    """Fast-suite version on the numpy backend: the ESS-based check against the Euler law, and
    the error against the continuous posterior within what this short run can resolve (the
    Euler bias at h = 0.03 plus Z times the covariance's relative noise at its ESS; the 5%
    acceptance needs the slow run). Also fails with the noise off by sqrt(2)."""
    out = check_gaussian_exactness(_gaussian_2d("numpy", n_tau=400.0, h=0.03), tolerance=None)
    assert out["noise_rel"] < 0.1, out  # a check of about 40% at most: it sees sqrt(2)
    with break_noise(SQRT2), pytest.raises(AssertionError, match=r"^(\|C_hat|relative Frob)"):
        check_gaussian_exactness(_gaussian_2d("numpy", n_tau=400.0, h=0.03), tolerance=None)


@pytest.mark.slow
def test_gaussian_exactness_64x128():
    """Euler at h = 0.02 on the 64x128 Gaussian posterior, 150000 tau_u shared by 8 chains (an
    ensemble: a third of one chain's CPU time; the single-chain 64x128 path is
    test_examples.py::test_gaussian_64x128_claim)."""
    cfg = load_config(ROOT / "experiments" / "configs" / "gaussian_64x128.toml")
    d = dict(cfg.raw)
    d["run"] = _run_section(cfg.circuit.tau_u, 0.02, 150000.0 / 8, 2.0, "standalone")
    d["run"]["chains"] = 8
    out = check_gaussian_exactness(Config.from_dict(d))
    print(out)


# ---------------------------------------------------------------- item 3: spike-and-slab vs quadrature
SLAB_1D = {"n_features": 1, "n_components": 1, "prior": "laplace", "lam": 1.0, "pi": 0.3,
           "sigma": 0.5, "dictionary": [[1.0]]}


def _slab(model: dict, x: list, *, backend="standalone", n_tau=60000.0, h=0.01, seed=1,
          noise=None, integrator="euler") -> dict:
    run = _run_section(1e-8, h, n_tau, 0.5, backend, seed)
    run["integrator"] = integrator
    d = base_dict(model=model, input={"x": x}, run=run)
    if noise is not None:
        d["noise"] = noise
    return d


def check_slab(cfg_dict: dict) -> dict:
    """TV distance of the marginals of u and s (zero mass included) to grid quadrature."""
    res = _run(cfg_dict)
    model, x = res.model, res.x
    grid = models.grid_posterior(model, x)
    u, s = res.pooled(res.u), res.pooled(res.s)  # an ensemble: its chains one after the other
    out = {}
    for i in range(model.n_components):
        active = (s[:, i] != 0).astype(float)
        tau = max(float(models.integrated_autocorrelation_time(u[:, i:i + 1])[0]),
                  float(models.integrated_autocorrelation_time(active[:, None])[0]), 1.0)
        n_eff = len(u) / tau
        for var, edges, probs in (
                ("u", res.u_edges(grid, i), models.u_bin_probabilities),
                ("s", res.s_edges(grid, i), models.s_bin_probabilities)):
            p_hat, p = probs((u if var == "u" else s)[:, i], grid, i, edges)
            tv = models.total_variation(p_hat, p)
            floor, bound = tv_noise_bound(p, n_eff)
            out[f"tv_{var}{i}"] = tv
            out[f"bound_{var}{i}"] = bound
            assert bound < 0.03, f"too few effective samples ({n_eff:.0f}) for a TV < 0.03 check"
            assert tv < bound, f"TV({var}_{i}) = {tv:.4f} above the ESS noise bound {bound:.4f}"
        p0, p0_hat = grid.s_zero_mass[i], 1 - active.mean()
        se0 = math.sqrt(p0 * (1 - p0) / n_eff)
        out[f"zero_mass{i}"] = (p0_hat, p0)
        assert abs(p0_hat - p0) < Z * se0, f"P(s_{i}=0) = {p0_hat:.4f} vs exact {p0:.4f} +- {se0:.4f}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("positive", [False, True])
def test_spike_and_slab_1d(positive):
    # positive: u is bimodal (s = |u| - u0 for either sign) and crossing between the modes
    # through the dead zone is slow, so the chain needs a longer run for the same ESS
    n_tau = 250000.0 if positive else 120000.0
    print(check_slab(_slab({**SLAB_1D, "positive": positive}, [1.2], n_tau=n_tau)))


@pytest.mark.slow
def test_spike_and_slab_2d():
    print(check_slab(_slab({"positive": False}, X_2D)))


@pytest.mark.slow
def test_spike_and_slab_fails_when_noise_is_wrong():
    with break_noise(SQRT2), pytest.raises(AssertionError,
                                           match=r"(above the ESS noise bound|^P\(s_\d=0\))"):
        check_slab(_slab({"positive": False}, X_2D))


# ---------------------------------------------------------------- item 8: dt halving; reference match
def _slab_statistics(res) -> dict[str, tuple[float, float]]:
    return _statistics(res.kept(res.u), res.kept(res.s))


def _statistics(u: np.ndarray, s: np.ndarray) -> dict[str, tuple[float, float]]:
    out = {}
    for i in range(u.shape[1]):
        out[f"P(s{i}!=0)"] = mean_and_se((s[:, i] != 0).astype(float))
        out[f"E[s{i}]"] = mean_and_se(s[:, i])
        out[f"E[u{i}^2]"] = mean_and_se(u[:, i] ** 2)
    return out


def _compare(a: dict, b: dict, z: float) -> list[str]:
    bad = []
    for k in a:
        (ma, sa), (mb, sb) = a[k], b[k]
        if abs(ma - mb) > z * math.hypot(sa, sb):
            bad.append(f"{k}: {ma:.4f} vs {mb:.4f} (se {math.hypot(sa, sb):.4f})")
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("integrator, h", [("euler", 0.01), ("leimkuhler_matthews", 0.025)])
def test_dt_halving_2d_slab(integrator, h):
    """Halving dt changes the reported statistics by less than Z combined standard errors.
    Euler at h = 0.01 (its bias in E[u^2] is ~h lambda / 2: ~1.7% between h and h/2, about
    1 standard error in 40000 tau_u); Leimkuhler-Matthews at its automatic step for this
    posterior, h = min(1 / lambda_max, 0.1, 0.025 / lam^2) = 0.025 (the histograms under
    halving: ``test_kink.py``). (A 2-SE criterion over these 6 statistics
    raised false alarms: it failed once a change of the noise stream moved P(s1 != 0) by
    2.2 SE.) ``test_dt_halving_detects_a_coarse_euler_step`` shows the check has power."""
    coarse = _slab_statistics(_run(_slab({"positive": False}, X_2D, h=h, n_tau=40000.0, seed=3,
                                         integrator=integrator)))
    fine = _slab_statistics(_run(_slab({"positive": False}, X_2D, h=h / 2, n_tau=40000.0, seed=4,
                                       integrator=integrator)))
    for k in coarse:
        print(f"{integrator} {k}: h={h} {coarse[k][0]:.4f}+-{coarse[k][1]:.4f}  h/2 {fine[k][0]:.4f}+-{fine[k][1]:.4f}")
    assert not _compare(coarse, fine, Z)


@pytest.mark.slow
def test_dt_halving_detects_a_coarse_euler_step():
    """The same comparison fails for Euler at h = 0.25 against 0.125 (near its stability limit
    2 / lambda_max = 0.31, its variance inflation 1 / (1 - h lambda / 2) is large on the
    active modes). The runs are 4x longer than the halving test's: at 40000 tau_u the largest
    difference, E[u1^2] 1.44 against 1.38, was only 3.4 combined SE (seed scheme 2), so the
    detection was a matter of luck; at 160000 tau_u it is about 7 SE."""
    coarse = _slab_statistics(_run(_slab({"positive": False}, X_2D, h=0.25, n_tau=160000.0,
                                         seed=3, integrator="euler")))
    fine = _slab_statistics(_run(_slab({"positive": False}, X_2D, h=0.125, n_tau=160000.0,
                                       seed=4, integrator="euler")))
    assert _compare(coarse, fine, Z)


@pytest.mark.slow
def test_circuit_matches_numpy_reference_sampler_at_T1():
    """The Brian2 circuit and models.euler_maruyama (same h) give the same statistics."""
    h, n_tau = 0.02, 40000.0
    circuit = _slab_statistics(_run(_slab({"positive": False}, X_2D, h=h, n_tau=n_tau)))
    model = Config.from_dict(_slab({"positive": False}, X_2D)).build_model()
    rng = np.random.default_rng(5)
    chains = 16
    n_steps = int(n_tau / h / chains)
    samples = models.euler_maruyama(model, np.array(X_2D), np.zeros((chains, 2)), n_steps=n_steps,
                                    step=h, temperature=1.0, rng=rng, record_every=25)

    ref_stats = {}
    burn = samples.shape[0] // 10
    per_chain = [_statistics(samples[burn:, c], models.soft_threshold(samples[burn:, c], model.u0))
                 for c in range(chains)]
    for k in per_chain[0]:
        means = np.array([pc[k][0] for pc in per_chain])
        ses = np.array([pc[k][1] for pc in per_chain])
        ref_stats[k] = (float(means.mean()), float(np.sqrt(np.sum(ses**2)) / chains))
    for k in circuit:
        print(f"{k}: circuit {circuit[k][0]:.4f}+-{circuit[k][1]:.4f}  numpy {ref_stats[k][0]:.4f}+-{ref_stats[k][1]:.4f}")
    assert not _compare(circuit, ref_stats, Z)
