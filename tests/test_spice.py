"""``circuit_sim.spice``: the ngspice export, cross-checked against the exact posterior and Brian2.

For a 1-node and a 2-node Gaussian-prior circuit (10 fF / 1 uS / 10 mV, thermal noise topped up
to T_eff = 1 by injected noise) the exported netlist is run with ``ngspice -b`` and the
stationary covariance of the node voltages is compared with

(a) the exact covariance of the exported circuit, ``spice.stationary_covariance`` (the posterior
    covariance ``T_eff V_u^2 A^-1`` with each mode's variance times the known low-pass factor of
    noise samples held for ``NT``, 0.993-0.995 here) within ``Z`` standard errors, and the
    continuous posterior within 5% (relative Frobenius error);
(b) the Brian2 run of the same config (numpy backend, Leimkuhler-Matthews integrator, whose
    stationary covariance on a Gaussian target is exact at any stable step): the two estimates,
    each minus its own known discretisation bias, agree within ``Z`` combined standard errors,
    and within 5% of each other.

Every standard error comes from the effective sample size (Sokal-windowed autocorrelation
time of the squared / product series), and the runs are long enough that ``Z`` standard
errors are below 5%, so the 5% checks cannot pass by luck. ``test_spice_fails_when_noise_is_wrong``
exports the noise amplitude off by sqrt(2) and must fail. ngspice runs in the background while
Brian2 runs (CI machines have 2 cores); ``ngspice`` missing from PATH skips these tests.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess

import numpy as np
import pytest
from scipy.linalg import expm

import models
from circuit_sim import Config, ConfigError, run_inference
from circuit_sim import spice
from circuit_sim.config import dumps_toml

from ._configs import DICT_4, X_4, base_dict
from ._physics import Z, mean_and_se

NGSPICE = shutil.which("ngspice")
needs_ngspice = pytest.mark.skipif(
    NGSPICE is None, reason="ngspice: program not found on PATH (apt-get install ngspice)")

TAU = 10e-9     # C / G_m = 10 fF / 1 uS
V_U = 0.01      # volts per unit
ACCEPT = 0.05   # the agreement figure
BURN = 0.05     # fraction of each record discarded (both runs start at the posterior mean)

ONE_NODE = {"dictionary": [[1.0]], "x": [0.5]}                       # A = 2
TWO_NODE = {"dictionary": [[1.0, 0.5], [0.0, 0.8]], "x": [0.6, 0.3]}  # eig(A) = 1.44, 2.45


def _config(case: dict, *, h: float, duration: float, seed: int = 1) -> Config:
    """Gaussian prior, sigma = 1, prior variance 1; Brian2 run: Leimkuhler-Matthews at step
    h = dt / tau_u (exact covariance on Gaussian targets), recorded every 2 steps."""
    phi = case["dictionary"]
    n, m = len(phi), len(phi[0])
    dt = h * TAU
    d = base_dict(model={"n_features": n, "n_components": m, "prior": "gaussian", "pi": None,
                         "sigma": 1.0, "prior_variance": 1.0, "dictionary": phi},
                  input={"x": case["x"]},
                  run={"duration": f"{duration!r} s", "dt": f"{dt!r} s",
                       "record_every": f"{2 * dt!r} s", "seed": seed,
                       "integrator": "leimkuhler_matthews"})
    return Config.from_dict(d)


def _start_ngspice(cfg: Config, tmp_path, *, t_stop: float, runs: int = 1,
                   t_step: float = 0.2 * TAU, **export) -> list:
    """Export ``cfg`` (seeds run.seed, run.seed + 1, ...) and start ``ngspice -b`` on each
    netlist in the background; returns [(process, data file)]."""
    started = []
    for k in range(runs):
        cir = tmp_path / f"circuit{k}.cir"
        spice.export_spice(cfg.with_overrides(seed=cfg.run.seed + k), cir, t_stop=t_stop,
                           t_step=t_step, **export)
        proc = subprocess.Popen([NGSPICE, "-b", str(cir)], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        started.append((proc, cir.with_suffix(".dat")))
    return started


def _finish_ngspice(started: list) -> list:
    """Wait for the ngspice runs; their node voltages (K, M) in V."""
    out = []
    for proc, dat in started:
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0 and dat.is_file(), f"ngspice failed:\n{log[-2000:]}"
        _, v = spice.read_wrdata(dat)
        assert np.all(np.isfinite(v))
        out.append(v)
    return out


def _covariance(runs: list, mean_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance about the exact mean and the standard error of each entry (from the
    effective sample size of each product series), averaged over independent runs (K, M)."""
    ests, ses = [], []
    for v in runs:
        d = v[int(BURN * len(v)):] - mean_v
        m = d.shape[1]
        est, se = np.empty((m, m)), np.empty((m, m))
        for a in range(m):
            for b in range(a, m):
                est[a, b], se[a, b] = mean_and_se(d[:, a] * d[:, b])
                est[b, a], se[b, a] = est[a, b], se[a, b]
        ests.append(est)
        ses.append(se)
    return np.mean(ests, axis=0), np.sqrt(np.sum(np.square(ses), axis=0)) / len(runs)


def _frobenius(err: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(err) / np.linalg.norm(ref))


def check_against_exact(cfg: Config, v: list) -> dict:
    """ngspice's node covariance against the exported circuit's exact covariance (Z se per
    entry) and the continuous posterior (5%, relative Frobenius)."""
    model = cfg.build_model()
    mean, cov = models.gaussian_posterior(model, cfg.x, temperature=cfg.noise_budget().T_eff)
    exact = cov * V_U**2
    ref = spice.stationary_covariance(cfg)
    est, se = _covariance(v, mean * V_U)
    out = {"est": est, "se": se, "exact": exact, "ref": ref,
           "ratio": np.diag(est) / np.diag(exact), "rel_se": np.diag(se) / np.diag(exact),
           "frob": _frobenius(est - exact, exact), "frob_se": _frobenius(se, exact)}
    assert np.all(np.abs(est - ref) <= Z * se), (
        f"ngspice covariance {est.tolist()} vs exported circuit's {ref.tolist()} "
        f"(+- {se.tolist()}): ratio to the posterior {out['ratio']}")
    assert out["frob"] < ACCEPT, f"relative Frobenius error vs the posterior {out['frob']:.4f}"
    assert Z * out["frob_se"] < ACCEPT, "too few effective samples for a 5% check"
    return out


def check_against_brian2(cfg: Config, v_ng: list, res) -> dict:
    """ngspice against the Brian2 run: each estimate minus its known discretisation bias
    (ngspice: the hold low-pass; Brian2 Leimkuhler-Matthews: none) agree within Z combined
    standard errors, and the two covariances within 5% (relative Frobenius)."""
    model = cfg.build_model()
    mean, cov = models.gaussian_posterior(model, cfg.x, temperature=cfg.noise_budget().T_eff)
    exact = cov * V_U**2
    ref = spice.stationary_covariance(cfg)
    est_ng, se_ng = _covariance(v_ng, mean * V_U)
    est_b2, se_b2 = _covariance([res.v], mean * V_U)
    se = np.hypot(se_ng, se_b2)
    out = {"est_b2": est_b2, "se_b2": se_b2, "ratio_b2": np.diag(est_b2) / np.diag(exact),
           "rel_se_b2": np.diag(se_b2) / np.diag(exact),
           "frob": _frobenius(est_ng - est_b2, est_b2), "frob_se": _frobenius(se, exact)}
    assert np.all(np.abs((est_ng - ref) - (est_b2 - exact)) <= Z * se), (
        f"ngspice {est_ng.tolist()} vs Brian2 {est_b2.tolist()} (+- {se.tolist()})")
    assert out["frob"] < ACCEPT, f"ngspice vs Brian2: relative Frobenius difference {out['frob']:.4f}"
    assert Z * out["frob_se"] < ACCEPT, "too few effective samples for a 5% check"
    return out


def _report(name: str, a: dict, b: dict | None = None) -> None:
    line = (f"{name}: ngspice var/exact = {np.round(a['ratio'], 4)} +- {np.round(a['rel_se'], 4)}"
            f" (exported circuit: {np.round(np.diag(a['ref']) / np.diag(a['exact']), 4)}), "
            f"Frobenius {a['frob']:.4f} +- {a['frob_se']:.4f}")
    if b is not None:
        line += (f"; Brian2 var/exact = {np.round(b['ratio_b2'], 4)} +- "
                 f"{np.round(b['rel_se_b2'], 4)}; ngspice vs Brian2 Frobenius {b['frob']:.4f} "
                 f"+- {b['frob_se']:.4f}")
    print(line)


# ------------------------------------------------------------------ cross-checks (slow)
@needs_ngspice
@pytest.mark.slow
@pytest.mark.parametrize("case, h, t_ng, t_b2", [
    (ONE_NODE, 0.5, 80e-6, 600e-6),    # Brian2: h lambda_max = 1.0
    (TWO_NODE, 0.4, 130e-6, 800e-6),   # Brian2: h lambda_max = 0.98
], ids=["1-node", "2-node"])
def test_ngspice_matches_exact_and_brian2(case, h, t_ng, t_b2, tmp_path):
    """Two ngspice runs (seeds 1 and 2, 8000 / 13000 tau_u each) in the background, Brian2
    (120000 / 200000 steps) meanwhile."""
    cfg = _config(case, h=h, duration=t_b2)
    started = _start_ngspice(cfg, tmp_path, t_stop=t_ng, runs=2)
    try:
        res = run_inference(cfg)
    finally:
        v_ng = _finish_ngspice(started)
    a = check_against_exact(cfg, v_ng)
    b = check_against_brian2(cfg, v_ng, res)
    _report(f"{cfg.model.n_components}-node", a, b)


@needs_ngspice
@pytest.mark.slow
def test_spice_fails_when_noise_is_wrong(tmp_path, monkeypatch):
    """The exported noise amplitude off by sqrt(2) (a one-/two-sided PSD mix-up) must fail the
    comparison with the exact covariance (a short run: the error is 50 standard errors)."""
    cfg = _config(ONE_NODE, h=0.5, duration=1e-6)
    original = spice.noise_amplitude
    monkeypatch.setattr(spice, "noise_amplitude", lambda psd, nt: math.sqrt(2) * original(psd, nt))
    v_ng = _finish_ngspice(_start_ngspice(cfg, tmp_path, t_stop=20e-6))
    with pytest.raises(AssertionError, match="vs exported circuit's"):
        check_against_exact(cfg, v_ng)


# ------------------------------------------------------------------ the netlist (fast)
def test_netlist_amplitudes_and_structure(tmp_path):
    cfg = _config(TWO_NODE, h=0.2, duration=1e-6)
    text = spice.export_spice(cfg, tmp_path / "c.cir", t_stop=2e-6, t_step=2e-9)
    assert (tmp_path / "c.cir").read_text() == text
    nt = spice.default_noise_step(cfg)
    assert nt <= TAU / (50 * models.lambda_max(cfg.build_model()))
    budget = cfg.noise_budget()
    # one filesource drives both nodes with held samples of the summed PSD
    assert "Anoise %i([v1 v2]) noise_samples" in text and "amplstep=true" in text
    for src in (0, 1):  # every source's PSD is listed
        assert f"S = {budget.entries[src].psd:.6e} A^2/Hz" in text
    data = np.loadtxt(tmp_path / "c.noise", comments="#")
    t, cur = data[:, 0], data[:, 1:]
    assert cur.shape[1] == 2 and t[0] == 0 and t[-1] >= 2e-6
    np.testing.assert_allclose(np.diff(t), nt, rtol=1e-9)
    na = math.sqrt(budget.total_psd / (2 * nt))
    for j in range(2):  # rms NA within the sampling error of the draws, and white
        assert abs(np.std(cur[:, j]) / na - 1) < 4 / math.sqrt(2 * len(cur))
        r1 = np.corrcoef(cur[:-1, j], cur[1:, j])[0, 1]
        assert abs(r1) < 4 / math.sqrt(len(cur))
    assert abs(np.corrcoef(cur[:, 0], cur[:, 1])[0, 1]) < 4 / math.sqrt(len(cur))
    for fragment in ("C1 v1 0 1e-14 IC=", "C2 v2 0 1e-14", "Br1 r1 0 V = 0.006 - 1*V(s1) - 0.5*V(s2)",
                     "Bd2 0 v2 I = 5e-07*V(r1) + 8e-07*V(r2) - 1e-06*V(v2)",
                     f".tran 2e-09 2e-06 0 {nt:.12g} uic", f"wrdata {tmp_path / 'c.dat'}",
                     f"file=\"{tmp_path / 'c.noise'}\""):
        assert fragment in text
    # the same seed gives the same samples; another seed others
    spice.export_spice(cfg, tmp_path / "again.cir", t_stop=2e-6, t_step=2e-9)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "again.noise", comments="#"), data)
    spice.export_spice(cfg.with_overrides(seed=2), tmp_path / "other.cir", t_stop=2e-6, t_step=2e-9)
    assert not np.allclose(np.loadtxt(tmp_path / "other.noise", comments="#")[:, 1:], cur)
    assert "TRNOISE(" in spice.export_spice(cfg, noise="trnoise")
    # the covariance helper reduces to the posterior when NT -> 0
    mean, cov = models.gaussian_posterior(cfg.build_model(), cfg.x)
    np.testing.assert_allclose(spice.stationary_covariance(cfg, noise_step=1e-20), cov * V_U**2,
                               rtol=1e-9)
    assert spice.noise_filter_factor(0.02) == pytest.approx(1 - 0.02 / 3, abs=1e-4)
    assert spice.noise_filter_factor(0.02, "trnoise") == pytest.approx(1 - 7 * 0.02 / 15, abs=1e-4)


def test_export_refuses_a_noise_file_too_large():
    cfg = _config(TWO_NODE, h=0.2, duration=1e-6)
    with pytest.raises(ConfigError, match=r"^t_stop: expected a duration whose noise file stays "
                                          r"below 2.1 GB \(this one: .* GB"):
        spice.export_spice(cfg, t_stop=1.0)


@pytest.mark.parametrize("change, field", [
    ({"model": {"n_features": 1, "n_components": 9, "dictionary": [[1.0] * 9]},
      "input": {"x": [0.5]}},
     "model.n_components: expected at most 8 latent units"),
    ({"noise": [{"kind": "thermal"}, {"kind": "flicker", "corner_frequency": "1 MHz",
                                       "f_min": "10 kHz", "f_max": "100 MHz"}]},
     "noise[1].kind: expected independent white noise sources"),
    ({"learning": {"dictionary_time_constant": "1 ms"}, "input": {"kind": "bars", "n_patches": 10,
                                                               "hold": "200 ns", "x": None},
      "model": {"n_features": 4, "n_components": 2, "dictionary": None}},
     "[learning]: expected no learning section"),
])
def test_export_rejects_unsupported_circuits(change, field):
    d = base_dict(**{k: v for k, v in change.items() if k != "learning"})
    if "learning" in change:
        d["learning"] = change["learning"]
    cfg = Config.from_dict(d)
    with pytest.raises(ConfigError, match=r"^" + __import__("re").escape(field)):
        spice.export_spice(cfg)


def test_export_rejects_bad_options():
    cfg = Config.from_dict(base_dict())
    with pytest.raises(ConfigError, match=r"^noise: expected one of 'file', 'trnoise', got 'white'"):
        spice.export_spice(cfg, noise="white")
    with pytest.raises(ConfigError, match=r"^t_step: expected at most t_stop"):
        spice.export_spice(cfg, t_stop=1e-6, t_step=2e-6)


def test_cmd_export_spice(tmp_path, capsys):
    toml = tmp_path / "chip.toml"
    toml.write_text(dumps_toml(base_dict()))
    out = tmp_path / "sub" / "chip.cir"
    args = argparse.Namespace(config=str(toml), out=str(out), duration="1 us", step="50 ps")
    assert spice.cmd_export_spice(args) == 0
    text = capsys.readouterr().out
    assert out.is_file() and out.with_suffix(".noise").is_file() and f"wrote {out}" in text
    assert "expected CPU time about" in text and "NT = 50 ps" in text
    assert ".tran 2e-10 1e-06 0 5e-11 uic" in out.read_text()
    with pytest.raises(ConfigError, match="--duration: expected a time"):
        spice.cmd_export_spice(argparse.Namespace(config=str(toml), out=str(out),
                                                  duration="1 V", step=None))


@needs_ngspice
def test_ngspice_runs_the_laplace_export(tmp_path):
    """Smoke test: the soft-threshold netlist (sgn, u, abs) parses and runs; with a small u0
    the units leave the dead zone and the state stays bounded."""
    cfg = Config.from_dict(base_dict(run={"seed": 3}))
    t, v = spice.run_ngspice(cfg, workdir=tmp_path, t_stop=0.5e-6, t_step=1e-9, timeout=120)
    assert v.shape == (len(t), 2) and len(t) >= 400
    assert np.all(np.isfinite(v)) and np.abs(v).max() < 20 * V_U
    assert np.abs(v).max() > V_U * cfg.model.u0  # it moved out of the dead zone


@needs_ngspice
def test_noiseless_export_relaxes_to_the_posterior_mean(tmp_path):
    """The crossbar is wired right (64 x 8, continuation lines included): without noise the
    exported circuit follows the exact descent from u = 0 to the posterior mean,
    ``u(t) = (I - exp(-A t / tau_u)) mean``."""
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(64, 8))
    phi /= np.linalg.norm(phi, axis=0)
    x = rng.normal(size=64)
    cfg = Config.from_dict(base_dict(
        model={"n_features": 64, "n_components": 8, "prior": "gaussian", "pi": None,
               "sigma": 1.0, "dictionary": phi.tolist()},
        input={"x": x.tolist()}, noise=[],
        run={"dt": None, "record_every": None, "u_init": [0.0] * 8}))
    assert "filesource" not in spice.export_spice(cfg)  # no noise at all
    t, v = spice.run_ngspice(cfg, workdir=tmp_path, t_stop=30 * TAU, t_step=0.5 * TAU, timeout=120)
    mean, cov = models.gaussian_posterior(cfg.build_model(), x)
    prec = np.linalg.inv(cov)  # tau_u du/dt = -A (u - mean), u(0) = 0
    expected = np.array([mean - expm(-prec * ti / TAU) @ mean for ti in t])
    assert t[0] == pytest.approx(0.5 * TAU) and len(t) == 60
    np.testing.assert_allclose(v / V_U, expected, atol=2e-4 * np.abs(mean).max())


@needs_ngspice
def test_ngspice_run_is_reproducible(tmp_path):
    """Our seeded noise file: the same seed gives the same run, another seed another."""
    cfg = _config(TWO_NODE, h=0.4, duration=1e-6)
    runs = [spice.run_ngspice(c, workdir=tmp_path, t_stop=1e-6, timeout=120)[1]
            for c in (cfg, cfg, cfg.with_overrides(seed=2))]
    assert np.array_equal(runs[0], runs[1]) and not np.allclose(runs[0], runs[2])


# ------------------------------------------------------------------ a nonlinear circuit (slow)
SLAB4 = {"dictionary": DICT_4, "x": X_4}
QV_WINDOWS, QV_FLOOR = 40, 0.5


def _slab4(duration: float, seed: int = 1) -> Config:
    """4 overlapping unit-norm atoms (N = 3), pi = 0.3, sigma = 0.5, T_eff = 1 (thermal noise
    filled by injected noise); Brian2: Leimkuhler-Matthews at its automatic step."""
    d = base_dict(model={"n_features": 3, "n_components": 4, "prior": "laplace", "lam": 1.0,
                         "pi": 0.3, "sigma": 0.5, "dictionary": SLAB4["dictionary"]},
                  input={"x": SLAB4["x"]},
                  run={"duration": f"{duration!r} s", "dt": None, "record_every": "2 ns",
                       "seed": seed, "integrator": "leimkuhler_matthews"})
    return Config.from_dict(d)


def _code_statistics(s: np.ndarray) -> dict:
    """Activity, E[s] and pairwise co-activity of codes (K, M), each with its standard
    error from the effective sample size."""
    a = (s != 0).astype(float)
    out = {}
    for i in range(s.shape[1]):
        out[f"P(s{i}!=0)"] = mean_and_se(a[:, i])
        out[f"E[s{i}]"] = mean_and_se(s[:, i])
        for j in range(i + 1, s.shape[1]):
            out[f"P(s{i}s{j}!=0)"] = mean_and_se(a[:, i] * a[:, j])
    return out


def _gibbs_statistics(cfg: Config) -> dict:
    """The exact reference: 2000 independent Gibbs chains of 450 kept sweeps (an exact draw of
    every conditional each sweep: no step bias), statistics and their standard errors."""
    model = cfg.build_model()
    s = models.gibbs_spike_and_slab(model, cfg.x, np.zeros((2000, model.n_components)),
                                    n_sweeps=500, rng=np.random.default_rng(7))[50:]
    per_chain = [_code_statistics(s[:, c]) for c in range(s.shape[1])]
    return {k: (float(np.mean([p[k][0] for p in per_chain])),
                float(np.sqrt(np.sum([p[k][1] ** 2 for p in per_chain])) / len(per_chain)))
            for k in per_chain[0]}


def _effective_samples(s: np.ndarray) -> float:
    a = (s != 0).astype(float)
    return len(a) / max(1.0, float(np.max(models.integrated_autocorrelation_time(a))))


def check_codes(name: str, s: np.ndarray, ref: dict) -> dict:
    """Every statistic of ``s`` within Z combined standard errors of the reference."""
    stats = _code_statistics(s)
    bad = [f"{k}: {stats[k][0]:.4f} vs exact {ref[k][0]:.4f} (se {math.hypot(stats[k][1], ref[k][1]):.4f})"
           for k in stats if abs(stats[k][0] - ref[k][0]) > Z * math.hypot(stats[k][1], ref[k][1])]
    assert not bad, f"{name} against the exact Gibbs reference: " + "; ".join(bad)
    return stats


def quadratic_variation(v: np.ndarray, n_windows: int = QV_WINDOWS) -> np.ndarray:
    """Each node's quadratic variation per window, over its median (windows x M): white noise
    keeps it near 1 everywhere; a node whose noise stops drops to ~0 (a smooth trajectory
    sampled this finely has almost none)."""
    dv2 = np.diff(v, axis=0) ** 2
    w = len(dv2) // n_windows
    qv = dv2[:w * n_windows].reshape(n_windows, w, -1).sum(axis=1)
    return qv / np.median(qv, axis=0)


def check_noise_alive(v: np.ndarray) -> None:
    qv = quadratic_variation(v)
    dead = [(j, int(np.argmin(qv[:, j])), float(qv[:, j].min())) for j in range(v.shape[1])
            if qv[:, j].min() < QV_FLOOR]
    assert not dead, ("noise stopped: (node, window, quadratic variation / median) "
                      f"{dead}")


@needs_ngspice
@pytest.mark.slow
def test_ngspice_nonlinear_slab_matches_gibbs_and_brian2(tmp_path):
    """A 4-latent spike-and-slab circuit (the soft threshold's discontinuities at u = 0 and
    |u| = u0 in every drive): ngspice (40 us = 4000 tau_u, >= 1000 effective samples) and
    Brian2 (100 us) each agree with an exact Gibbs reference in activity, E[s] and pairwise
    co-activity within Z standard errors; no node's noise stops."""
    cfg_ng, cfg_b2 = _slab4(40e-6), _slab4(100e-6, seed=2)
    started = _start_ngspice(cfg_ng, tmp_path, t_stop=40e-6, t_step=2e-9)
    try:
        res = run_inference(cfg_b2)
        ref = _gibbs_statistics(cfg_b2)
    finally:
        (v_ng,) = _finish_ngspice(started)
    s_ng = models.soft_threshold(v_ng[len(v_ng) // 20:] / V_U, cfg_ng.build_model().u0)
    ess = _effective_samples(s_ng)
    assert ess >= 1000, f"too few effective samples in the ngspice run ({ess:.0f})"
    check_noise_alive(v_ng)
    ng = check_codes("ngspice", s_ng, ref)
    b2 = check_codes("Brian2", res.kept(res.s), ref)
    for k in ref:
        print(f"{k}: exact {ref[k][0]:.4f}+-{ref[k][1]:.4f}  ngspice {ng[k][0]:.4f}+-{ng[k][1]:.4f}"
              f"  Brian2 {b2[k][0]:.4f}+-{b2[k][1]:.4f}")
    print(f"ngspice effective samples {ess:.0f}")


@needs_ngspice
@pytest.mark.slow
def test_nonlinear_check_fails_when_noise_is_wrong(tmp_path, monkeypatch):
    """The exported noise off by sqrt(2) (T = 2): the comparison with the Gibbs reference fails."""
    cfg = _slab4(20e-6)
    original = spice.noise_amplitude
    monkeypatch.setattr(spice, "noise_amplitude", lambda psd, nt: math.sqrt(2) * original(psd, nt))
    (v,) = _finish_ngspice(_start_ngspice(cfg, tmp_path, t_stop=20e-6, t_step=2e-9))
    s = models.soft_threshold(v[len(v) // 20:] / V_U, cfg.build_model().u0)
    with pytest.raises(AssertionError, match="ngspice against the exact Gibbs reference"):
        check_codes("ngspice", s, _gibbs_statistics(cfg))


@needs_ngspice
def test_quadratic_variation_sees_a_node_whose_noise_stops(tmp_path):
    """The check that would have caught TRRANDOM's freeze: from half-way through the file node
    3's source holds one value (as a frozen source holds its last draw: no more noise); the
    check names node 3 and a window in the second half; the untouched run passes. (The held
    value is one of about the samples' rms: a value near 0 would leave the unit sliding on
    the sign discontinuity at u = 0, which makes ngspice crawl, the freeze's other symptom.)"""
    cfg = _slab4(2e-6)
    cir = tmp_path / "c.cir"
    spice.export_spice(cfg, cir, t_stop=2e-6, t_step=2e-10)
    run = subprocess.run([NGSPICE, "-b", str(cir)], cwd=tmp_path, capture_output=True, text=True)
    _, v = spice.read_wrdata(cir.with_suffix(".dat"))
    check_noise_alive(v)
    data = np.loadtxt(cir.with_suffix(".noise"), comments="#")
    late = data[:, 0] > 1e-6
    first = np.flatnonzero(late & (np.abs(data[:, 3]) > 0.5 * np.std(data[:, 3])))[0]
    data[late, 3] = data[first, 3]
    spice.write_noise_file(cir.with_suffix(".noise"), data[:, 0], data[:, 1:])
    run = subprocess.run([NGSPICE, "-b", str(cir)], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0
    _, v = spice.read_wrdata(cir.with_suffix(".dat"))
    with pytest.raises(AssertionError, match=r"noise stopped: .*\(2, (2\d|3\d)"):
        check_noise_alive(v)
