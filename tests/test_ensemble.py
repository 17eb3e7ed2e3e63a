"""Ensembles (issue 16): many chains and many chips of one circuit in one network.

* T = 0: every copy of a batch (chips x chains, each with its own start) follows the run of
  that copy alone to 1e-10, on the numpy and standalone backends (the batched crossbar
  products, the per-chip device draws and conductances, the copies' inputs).
* A chip's device draw is the same alone (``mismatch.first_chip = k``) or in a batch of 64.
* Pooled chains pass the Gaussian exactness and spike-and-slab checks of
  :mod:`tests.test_statistics` (and fail them with the noise off by sqrt(2)).
* The chains are independent: the correlation of two chains' ``u_i`` is within
  ``Z / sqrt(ESS)``.
* Files: samples (samples, Q, M), a ``chips`` group; bad ensembles refused with the field named.
"""

from __future__ import annotations

import math
import re

import h5py
import numpy as np
import pytest

import models
from circuit_sim import Config, run_inference
from circuit_sim.errors import ConfigError

from ._configs import base_dict
from ._physics import Z, break_noise
from .test_statistics import _gaussian_2d, _slab, check_gaussian_exactness, check_slab

SQRT2 = math.sqrt(2.0)
#: the ziggurat's tail boundary (256 layers; circuit_sim/circuit/noise_source.py)
ZIGGURAT_R = 3.6541528853610088
MISMATCH = {"gm_sigma": 0.1, "c_sigma": 0.05, "threshold_offset_sigma": "2 mV",
            "weight_gain_sigma": 0.1, "weight_offset_sigma": 0.05}
DICT = [[1.0, 0.6, -0.3, 0.2], [0.0, 0.8, 0.5, -0.7], [0.2, 0.0, 0.8, 0.6]]


def _noiseless(backend: str, **mismatch) -> Config:
    d = base_dict(model={"n_features": 3, "n_components": 4, "sigma": 0.5, "dictionary": DICT,
                         "prior": "laplace", "lam": 1.0, "pi": 0.3},
                  input={"x": [3.0, -2.0, 2.5]}, noise=[],
                  run={"duration": "120 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                       "backend": backend, "crossbar": "dense"})
    d["mismatch"] = {**MISMATCH, **mismatch}
    return Config.from_dict(d)


@pytest.mark.parametrize("backend", ["numpy", "standalone",
                                     pytest.param("cython", marks=pytest.mark.slow)])
def test_every_copy_follows_its_own_run_at_T0(backend):
    chips, chains = 3, 2
    batch = _noiseless(backend, chips=chips, first_chip=2).replace(**{"run.chains": chains})
    starts = np.random.default_rng(5).normal(0.0, 2.0, (chips * chains, 4))
    res = run_inference(batch, u_init=starts)
    assert res.u.shape == (300, chips * chains, 4)
    for q in range(chips * chains):
        alone = run_inference(_noiseless(backend, first_chip=2 + q // chains),
                              u_init=starts[q])
        moved = np.max(np.abs(alone.u[-1] - alone.u[0]))
        assert moved > 0.5, "the dynamics must be non-trivial"
        np.testing.assert_allclose(res.u[:, q], alone.u, rtol=0, atol=1e-10,
                                   err_msg=f"copy {q} (chip {2 + q // chains})")
    # the chips differ (their draws are not the same chip's)
    assert np.max(np.abs(res.u[-1, 0] - res.u[-1, chains])) > 1e-3


def test_a_chips_draw_is_the_same_alone_or_in_a_batch():
    batch = _noiseless("numpy", chips=64).design.ensemble
    for k in (0, 1, 37, 63):
        alone = _noiseless("numpy", first_chip=k).design.devices.as_dict()
        for name, arr in batch.devices[k].as_dict().items():
            np.testing.assert_array_equal(arr, alone[name], err_msg=f"chip {k}: {name}")
    # and chips are different draws
    assert not np.array_equal(batch.devices[1].gm_rel, batch.devices[2].gm_rel)
    np.testing.assert_array_equal(batch.devices[0].gm_rel,
                                  _noiseless("numpy").design.devices.gm_rel)


def _chains(cfg: Config, chains: int) -> Config:
    return cfg.replace(**{"run.chains": chains})


def test_pooled_chains_gaussian_quick_numpy():
    """16 chains of 25 tau_u each: the pooled covariance within the ESS noise of the Euler law
    (the check of tests.test_statistics, now on the pooled chains); fails with sqrt(2)."""
    def cfg():
        return _chains(_gaussian_2d("numpy", n_tau=250.0, h=0.03), 16)

    out = check_gaussian_exactness(cfg(), tolerance=None)
    assert out["noise_rel"] < 0.1, out
    with break_noise(SQRT2), pytest.raises(AssertionError, match=r"^(\|C_hat|relative Frob)"):
        check_gaussian_exactness(cfg(), tolerance=None)


def test_chains_are_independent_and_agree():
    res = run_inference(_chains(_gaussian_2d("numpy", n_tau=400.0, h=0.03), 8))
    u = res.kept(res.u)                                     # (n, 8, 2)
    n = len(u)
    tau = np.max(models.integrated_autocorrelation_time(u.reshape(n, -1)))
    ess = n / tau
    worst = 0.0
    for a in range(8):
        for b in range(a + 1, 8):
            for i in range(2):
                worst = max(worst, abs(np.corrcoef(u[:, a, i], u[:, b, i])[0, 1]))
    # 56 pairs: the largest of 56 |N(0, 1/ESS)| is below Z / sqrt(ESS) with probability > 0.99
    assert worst < Z / math.sqrt(ess), f"cross-chain correlation {worst:.3f}, ESS {ess:.0f}"
    mt = res.metrics
    assert mt["chains"] == 8 and mt["n_samples"] == 8 * n
    assert abs(mt["r_hat"] - 1) < 0.05, mt["r_hat"]
    # pooled ESS: about the sum of the chains' (each chain's own autocorrelation)
    assert 0.5 * 8 * ess < mt["ess"] < 2.0 * 8 * ess
    # R-hat sees chains that disagree: half the chains started far away, run for 3 tau_u
    starts = np.zeros((8, 2))
    starts[4:] = [6.0, -6.0]
    res2 = run_inference(_chains(_gaussian_2d("numpy", n_tau=3.0, h=0.03), 8), u_init=starts)
    assert np.max(models.split_r_hat(res2.u)) > 1.1


@pytest.mark.slow
def test_pooled_chains_gaussian_exactness_standalone():
    out = check_gaussian_exactness(_chains(_gaussian_2d(n_tau=1000.0), 32))
    assert out["noise_rel"] < 0.05 / Z, out
    with break_noise(SQRT2), pytest.raises(AssertionError,
                                           match=r"^(\|C_hat - C_h\|_F|mean of u|relative Frob)"):
        check_gaussian_exactness(_chains(_gaussian_2d(n_tau=1000.0), 32))


@pytest.mark.slow
def test_pooled_chains_spike_and_slab_standalone():
    from ._configs import DICT_2D, X_2D

    model = {"n_features": 2, "n_components": 2, "prior": "laplace", "lam": 1.0, "pi": 0.3,
             "sigma": 0.5, "dictionary": DICT_2D}
    d = _slab(model, list(X_2D), n_tau=2000.0)
    d["run"]["chains"] = 32
    out = check_slab(d)
    print(out)
    with break_noise(SQRT2), pytest.raises(AssertionError, match=r"^(TV|P\(s)"):
        check_slab(d)


def test_ensemble_file_layout(tmp_path):
    cfg = _noiseless("numpy", chips=3).replace(**{"run.chains": 2, "run.duration": "20 ns"})
    out = tmp_path / "ens.h5"
    res = run_inference(cfg, out=out)
    with h5py.File(out, "r") as f:
        assert f["u"].shape == (50, 6, 4) and f["v"].attrs["units"] == "V"
        assert f.attrs["chains"] == 2 and f.attrs["chips"] == 3
        assert f["dictionary"].shape == (3, 3, 4)
        assert f["devices/gm_rel"].shape == (3, 4)
        assert "chips" in f and f["chips/chip"][:].tolist() == [0, 1, 2]
    assert res.u0_final.shape == (6, 4)
    assert "posterior_error_median" in res.metrics or "activity_median" in res.metrics
    assert res.plot(tmp_path / "chips.png") is not None and (tmp_path / "chips.png").stat().st_size
    assert "3 chips (0-2) x 2 chain(s) = 6 copies" in res.summary()


@pytest.mark.parametrize("change, field", [
    ({"run.chains": 0}, "run.chains"),
    ({"run.chains": 2.5}, "run.chains"),
    ({"mismatch.chips": -1}, "mismatch.chips"),
    ({"run.chains": 4, "run.crossbar": "summed"}, "run.crossbar"),
])
def test_bad_ensembles_are_refused(change, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        _noiseless("numpy").replace(**change)


def test_ensembles_of_learning_circuits_build():  # tests/test_ensemble_learning.py runs them
    from circuit_sim import load_config
    from .test_statistics import ROOT

    cfg = load_config(ROOT / "experiments" / "configs" / "bars.toml")
    assert cfg.replace(**{"run.chains": 4}).design.copies == 4
    assert cfg.replace(**{"run.chains": 4, "mismatch.chips": 2,
                          "learning.threshold_time_constant": "10 us"}).design.copies == 8


def _white_noise_draws(backend: str = "standalone", chains: int = 96) -> np.ndarray:
    """The normal deviates a standalone ensemble drew, recovered exactly from its recorded
    nodes: M uncoupled Gaussian nodes (zero dictionary), Euler, recorded every step, so that
    ``v[n+1] = v[n] (1 - h / prior_var) + amp sqrt(dt) z[n] / C``."""
    m = 16
    d = base_dict(model={"n_features": 1, "n_components": m, "prior": "gaussian",
                         "prior_variance": 1.0, "sigma": 1.0, "dictionary": [[0.0] * m],
                         "pi": None, "lam": None},
                  input={"x": [0.0]}, noise=[{"kind": "thermal"}],
                  run={"duration": "80 ns", "dt": "0.04 ns", "record_every": "0.04 ns",
                       "backend": backend, "chains": chains})
    cfg = Config.from_dict(d)
    res = run_inference(cfg)
    design = res.design
    c, h = design.circuit.capacitance, design.dt / design.tau_u
    amp = math.sqrt(design.noise.budget.total_psd / 2)  # the intended sqrt(S_I / 2)
    v = res.v                                                  # (n, Q, M)
    z = (v[1:] - v[:-1] * (1 - h)) * c / (amp * np.sqrt(design.dt))
    return z


def check_normal_draws(z: np.ndarray) -> dict:
    """Independent standard normal draws, at the resolution of their number n (all
    tolerances Z standard errors): mean, variance, the tail beyond the ziggurat's R = 3.654
    (the generator's separate branch), the KS distance (0.1% critical value 1.95 / sqrt(n)),
    lag-1 autocorrelation, the correlation of neighbouring copies and of neighbouring nodes
    (drawn side by side, in different lanes of the eight-lane path)."""
    from scipy import stats

    flat = z.ravel()
    n = flat.size
    out = {"n": n, "mean": float(flat.mean()), "var": float(flat.var())}
    assert abs(out["mean"]) < Z / math.sqrt(n), out
    assert abs(out["var"] - 1) < Z * math.sqrt(2 / n), out
    p_tail = 2 * stats.norm.sf(ZIGGURAT_R)
    tail = float(np.mean(np.abs(flat) > ZIGGURAT_R))
    assert abs(tail - p_tail) < Z * math.sqrt(p_tail / n), (tail, p_tail)
    ks = stats.kstest(flat, "norm").statistic
    assert ks < 1.95 / math.sqrt(n), f"KS distance {ks:.5f}"
    lag = float(np.mean(z[1:] * z[:-1]))
    assert abs(lag) < Z / math.sqrt(z[1:].size), f"lag-1 correlation {lag:.5f}"
    cross = float(np.mean(z[:, 1:] * z[:, :-1]))
    assert abs(cross) < Z / math.sqrt(z[:, 1:].size), f"neighbouring copies {cross:.5f}"
    nodes = float(np.mean(z[..., 1:] * z[..., :-1]))
    assert abs(nodes) < Z / math.sqrt(z[..., 1:].size), f"neighbouring nodes {nodes:.5f}"
    return out


@pytest.mark.parametrize("vector", [True, False], ids=["eight-lane", "scalar"])
def test_standalone_ensemble_noise_is_independent_standard_normal(vector, monkeypatch):
    """The ensemble's C++ generator (xoshiro256** + ziggurat), both paths (eight lanes at once
    where the compiler targets AVX-512, scalar otherwise; ``noise_source.VECTOR = False``
    generates the scalar one): 2000 steps x 96 chains x 16 nodes, 3.07 million draws, pass
    as standard normal; with the noise off by sqrt(2) they fail. Tried by hand on the
    eight-lane path: with every wedge candidate accepted (the test of the wedges removed, the
    smallest error a 256-layer ziggurat can make) the variance is 1.0064 against a bound of
    1.0032 (with 16 chains it passed); with the eight lanes seeded alike the neighbouring
    nodes' correlation is 0.92 against 0.0024."""
    from circuit_sim.circuit import noise_source

    monkeypatch.setattr(noise_source, "VECTOR", vector)
    check_normal_draws(_white_noise_draws())
    with break_noise(SQRT2), pytest.raises(AssertionError):
        check_normal_draws(_white_noise_draws())


def test_a_chip_of_a_batch_is_its_own_result():
    """``InferenceResult.chip(c)``: chip c's samples, devices and figures as a result of that
    chip alone; with an automatic step (here the chips' spread changes it) its design keeps
    the batch's dt and record interval (what the sweep's batched points write)."""
    d = base_dict(model={"n_features": 3, "n_components": 4, "sigma": 0.5, "dictionary": DICT,
                         "prior": "laplace", "lam": 1.0, "pi": 0.3},
                  input={"x": [3.0, -2.0, 2.5]},
                  run={"duration": "400 ns", "dt": None, "record_every": "2 ns",
                       "backend": "numpy", "crossbar": "dense"})
    d["mismatch"] = {**MISMATCH, "gm_sigma": 0.3, "chips": 3}
    res = run_inference(Config.from_dict(d))
    dts = [Config.from_dict({**d, "mismatch": {**d["mismatch"], "chips": 1, "first_chip": k}})
           .design.dt for k in range(3)]
    assert res.design.dt == min(dts) and max(dts) > min(dts), (res.design.dt, dts)
    for c in range(3):
        one = res.chip(c)
        assert one.design.chips == 1 and one.design.config.mismatch.first_chip == c
        assert one.design.dt == res.design.dt
        assert one.design.timestep.record_stride == res.design.timestep.record_stride
        np.testing.assert_array_equal(one.u, res.u[:, c])
        np.testing.assert_array_equal(one.dictionary, res.dictionary[c])
        np.testing.assert_array_equal(one.design.devices.gm_rel, res.design.ensemble.devices[c].gm_rel)
        assert "activity" in one.metrics
        for key, values in res.chip_metrics.items():
            if key != "chip":
                assert one.metrics[key] == values[c], key


@pytest.mark.parametrize("n, m, chips, chains", [(3, 4, 1, 1), (3, 4, 2, 1), (3, 4, 1, 3),
                                                 (2, 5, 3, 2), (4, 2, 4, 1)])
def test_the_crossbar_generator_makes_the_ensemble_order(n, m, chips, chains):
    """``connect(i=ensemble_generator(...))`` creates the synapses of ``ensemble_order`` (the
    kernel's row-major blocks), in that order: the dense crossbar is connected without index
    arrays (a standalone program would hold them twice)."""
    import brian2 as b2

    from circuit_sim.circuit import equations as eq

    b2.start_scope()
    old, b2.prefs.codegen.target = b2.prefs.codegen.target, "numpy"
    try:
        pre = b2.NeuronGroup(chips * chains * m, "v : 1")
        post = b2.NeuronGroup(chips * chains * n, "v : 1")
        syn = b2.Synapses(pre, post, "w : 1")
        syn.connect(i=eq.ensemble_generator(n, m, chips, chains))
        b2.Network(pre, post, syn)  # (used: no warning about unused objects)
    finally:
        b2.prefs.codegen.target = old
    want_pre, want_post = eq.ensemble_order(n, m, chips, chains)
    np.testing.assert_array_equal(np.asarray(syn.i[:]), want_pre)
    np.testing.assert_array_equal(np.asarray(syn.j[:]), want_post)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("standalone", marks=pytest.mark.slow)])
def test_a_batch_of_seeds_is_each_seed_alone_at_T0(backend, tmp_path):
    """``run.seeds``: chip q is chip ``first_chip`` of seed q's draws; at T = 0 its trajectory,
    devices and dictionary are its seed's run alone (``InferenceResult.chip``), and the
    seeds' draws differ. The summary, the file and the chips figure name the seeds."""
    seeds = [3, 5, 9]
    batch = _noiseless(backend, first_chip=1).replace(**{"run.seeds": seeds})
    starts = np.random.default_rng(5).normal(0.0, 2.0, (len(seeds), 4))
    res = run_inference(batch, u_init=starts, out=tmp_path / "seeds.h5")
    assert res.u.shape == (300, 3, 4) and res.design.chips == 3
    for c, seed in enumerate(seeds):
        one = res.chip(c)
        assert one.design.seed == seed and one.design.config.run.seeds is None
        alone = run_inference(_noiseless(backend, first_chip=1).replace(**{"run.seed": seed}),
                              u_init=starts[c])
        np.testing.assert_allclose(one.u, alone.u, rtol=0, atol=1e-10, err_msg=f"seed {seed}")
        np.testing.assert_array_equal(one.design.devices.gm_rel, alone.design.devices.gm_rel)
        np.testing.assert_allclose(one.dictionary, alone.dictionary, rtol=0, atol=1e-12)
    gm = np.array([d.gm_rel for d in res.design.ensemble.devices])
    assert np.min(np.ptp(gm, axis=0)) > 1e-3, "each seed draws its own devices"
    assert "one per seed (run.seeds = [3, 5, 9]" in res.summary()
    with h5py.File(tmp_path / "seeds.h5") as f:
        assert f["chips/seed"][:].tolist() == seeds
    assert res.plot(tmp_path / "seeds.png") is not None


@pytest.mark.parametrize("backend", ["numpy", pytest.param("standalone", marks=pytest.mark.slow)])
def test_a_batch_of_seeds_that_draw_their_dictionaries_is_each_seed_alone_at_T0(backend):
    """Without a given model.dictionary each seed of a batch draws its own, hence its own
    posterior: chip q is programmed with seed q's dictionary, starts at its own posterior
    mean (Gaussian prior) and, from a common start, follows seed q's run alone (its
    devices too) to 1e-10;
    its figures of merit are judged against its own posterior (the exact Gaussian one), as
    alone, and differ from the other seeds'."""
    d = _noiseless(backend).raw
    d["model"] = {"n_features": 3, "n_components": 4, "sigma": 0.5, "prior": "gaussian"}
    seeds = [2, 6, 13]
    batch_cfg = Config.from_dict(d).replace(**{"run.seeds": seeds})
    phis = batch_cfg.design.chip_dictionaries
    assert min(np.max(np.abs(phis[k] - phis[0])) for k in (1, 2)) > 0.1
    res = run_inference(batch_cfg, u_init=np.zeros(4))
    starts = run_inference(batch_cfg.replace(**{"run.duration": "2 ns"}))
    errors = []
    for c, seed in enumerate(seeds):
        one = Config.from_dict(d).replace(**{"run.seed": seed})
        mean = models.gaussian_posterior(one.design.model, one.design.x)[0]
        np.testing.assert_allclose(starts.u[0, c], mean, rtol=0, atol=1e-10)
        alone = run_inference(one, u_init=np.zeros(4))
        chip = res.chip(c)
        np.testing.assert_allclose(chip.u, alone.u, rtol=0, atol=1e-10, err_msg=f"seed {seed}")
        np.testing.assert_allclose(chip.dictionary, alone.dictionary, rtol=0, atol=1e-12)
        assert np.max(np.abs(alone.u[-1] - alone.u[0])) > 0.5, "the dynamics must move"
        for key in ("posterior_mean_error", "posterior_error"):
            if key in alone.metrics:
                assert chip.metrics[key] == pytest.approx(alone.metrics[key], rel=1e-9), key
        errors.append(alone.metrics["posterior_error"])
    assert np.ptp(errors) > 1e-6
    assert "run.seeds = [2, 6, 13]" in res.summary()


@pytest.mark.parametrize("change, expected", [
    ({"run.seeds": []}, "run.seeds: expected a non-empty list"),
    ({"run.seeds": [1, 1]}, "run.seeds: expected a non-empty list of distinct"),
    ({"run.seeds": [1, -2]}, "run.seeds: expected"),
    ({"run.seeds": "1, 2"}, "run.seeds: expected"),
    ({"run.seeds": [1, 2], "mismatch.chips": 2}, "mismatch.chips: expected 1 with run.seeds"),
    ({"run.seeds": [1, 2], "run.crossbar": "summed"}, "run.crossbar: expected \"dense\""),
])
def test_bad_seed_batches_are_refused(change, expected):
    cfg = _noiseless("numpy")
    d = cfg.raw
    if change.get("model.dictionary", 0) is None:
        d = {**d, "model": {k: v for k, v in d["model"].items() if k != "dictionary"}}
        change = {k: v for k, v in change.items() if k != "model.dictionary"}
    with pytest.raises(ConfigError, match=re.escape(expected)):
        Config.from_dict(d).replace(**change)
