"""Ensembles of learning circuits (issue 16): chips that each learn their own dictionary and
chains that share their chip's plasticity (``learning.share = "chains"``), on a stream.

* T = 0: every chip of a learning batch follows the run of that chip alone to 1e-10 (its
  dictionary at every snapshot and its nodes), on numpy and standalone.
* T = 0: the chains of one chip, each on its own patches, follow an independent numpy
  integration of the batch rule ``tau_Phi dPhi/dt = mean_k r_k s_k^T / sigma^2 - gamma Phi
  (|Phi_j|^2 - 1)`` to 1e-10 (the chains all reading chain 0's patch, or a sum instead of
  the mean, is far off: both checked).
  Learned thresholds (per unit or shared) follow the chains' mean gradient the same way.
* ``learning.share = "none"``: every chain its own learner; at T = 0 each follows its chip
  alone to 1e-10; with noise the learners drift apart.
* A batch of seeds (``run.seeds``) on a stream: at T = 0 chip q follows ``run.seed = q``
  alone to 1e-10 (its own patches, drawn dictionary, devices and start), learning or not;
  seen failing with every chip on the first seed's stream, with the batch's dictionary for
  every chip, and with one MAP start for all (and, without learning, one first patch).
* Files and refusals: per-chip datasets, the summary's median, an unknown ``share`` refused
  with the field named, a batch of seeds on a Poisson schedule refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from circuit_sim import Config, load_learning, run_learning
from circuit_sim.errors import ConfigError

from ._configs import base_dict

N, M = 3, 4
DICT = [[0.8, 0.3, -0.2, 0.1], [0.1, 0.7, 0.4, -0.5], [0.3, 0.1, 0.6, 0.5]]
MISMATCH = {"gm_sigma": 0.1, "c_sigma": 0.05, "weight_gain_sigma": 0.1,
            "weight_offset_sigma": 0.05, "threshold_offset_sigma": "1 mV"}
U_INIT = [1.5, -1.2, 2.0, 0.8]  # active from the start (at u = 0 the T = 0 flow stays put)
DT = 0.4e-9
HOLD_STEPS = 25


def _patches(path, k: int = 64) -> str:
    x = np.random.default_rng(3).normal(0.0, 1.5, (k, N))
    np.save(path, x)
    return str(path)


def _learning_cfg(patch_file, backend: str, chains: int = 1, chips: int = 1,
                  mismatch: bool = True, n_patches: int = 12, gamma: float = 2.0,
                  threshold: str | None = None, stride: int = 1) -> Config:
    d = base_dict(model={"n_features": N, "n_components": M, "sigma": 0.5, "dictionary": DICT,
                         "prior": "laplace", "lam": 1.0, "pi": 0.3, "positive": True},
                  input={"kind": "file", "path": patch_file, "n_patches": n_patches,
                         "presentation": "synchronous", "hold": f"{HOLD_STEPS * DT * 1e9} ns",
                         "x": None},
                  noise=[],
                  run={"duration": None, "dt": f"{DT * 1e9} ns",
                       "record_every": f"{DT * 1e9} ns", "backend": backend,
                       "chains": chains, "crossbar": "dense", "u_init": U_INIT})
    d["learning"] = {"dictionary_time_constant": "200 ns", "normalise": gamma > 0,
                     "normalise_strength": max(gamma, 1.0), "snapshot_every": "40 ns",
                     "plasticity_dt": f"{stride * DT * 1e9} ns"}
    if threshold is not None:  # learned thresholds (tau_u0 = 10 ns)
        d["learning"].update(threshold_time_constant="10 ns", threshold=threshold)
    if mismatch or chips > 1:
        d["mismatch"] = {**(MISMATCH if mismatch else {}), "chips": chips}
    return Config.from_dict(d)


def _assert_summary_and_figure(data: dict, png, *phrases: str) -> None:
    """The summary of a learning file says each of ``phrases``; its figure is written."""
    from circuit_sim import plot_learning
    from circuit_sim.results.text import learning_summary

    text = learning_summary(data)
    print(text)
    for phrase in phrases:
        assert phrase in text, phrase
    assert plot_learning(data, png).stat().st_size > 10_000


def _reference(cfg: Config, patch_file: str, chains: int, mean: bool = True,
               same: bool = False) -> list[np.ndarray]:
    """An independent numpy Euler integration of the batch rule at T = 0 (one chip, no
    mismatch): the dictionary after each step. Chain ``k`` sees patch ``p K_c + k`` at
    presentation ``p``; ``same`` gives every chain chain 0's patch (a wrong reference), ``mean``
    False sums the chains instead of averaging (another)."""
    design = cfg.design
    model, lc = design.model, design.learning
    x_all = np.load(patch_file)
    phi = np.array(model.dictionary, dtype=float)
    h = DT / design.tau_u
    tau_phi = design.learning.dictionary_time_constant
    gamma = design.learning.gamma
    u = np.tile(design.u_init, (chains, 1))
    u0, lam, s2 = np.full(M, model.u0), model.lam, model.sigma ** 2
    tau_u0 = lc.threshold_time_constant
    k = design.timestep.plasticity_stride  # the rule steps at n = 0, K, 2K, ... by K dt
    out = []
    for n in range(design.timestep.n_steps):
        p = min(n // HOLD_STEPS, design.schedule.n_patches - 1)
        idx = (p * chains + np.arange(chains)) % len(x_all)
        if same:
            idx[:] = idx[0]
        x = x_all[idx]                                           # (K_c, N)
        act = np.abs(u) > u0
        s = (np.abs(u) - u0) * act
        hp = np.sign(u) * act
        r = x - s @ phi.T                                        # (K_c, N)
        force = hp * (r @ phi) / s2 - lam * np.sign(u)
        hebb = r.T @ s / (chains if mean else 1)
        norm2 = np.sum(phi ** 2, axis=0)
        grad_u0 = np.sum(hp * np.sign(u) * (r @ phi) / s2, axis=0) / (chains if mean else 1)
        if n % k == 0:
            phi = phi + (k * DT / tau_phi) * (hebb / s2 - gamma * phi * (norm2 - 1))
        u = u + h * force
        if tau_u0 is not None:  # dE/du0 averaged over the chains (per unit or all units)
            u0 = u0 - (DT / tau_u0) * (np.full(M, grad_u0.sum()) if lc.threshold == "shared"
                                       else grad_u0)
        out.append((phi.copy(), u0.copy()))
    return out


@pytest.mark.parametrize("backend, threshold, stride", [
    ("numpy", None, 1), ("numpy", "per_unit", 1), ("numpy", "shared", 1), ("numpy", None, 4),
    pytest.param("standalone", None, 1, marks=pytest.mark.slow),
    pytest.param("standalone", "per_unit", 4, marks=pytest.mark.slow)])
def test_chains_share_the_chips_plasticity_at_T0(tmp_path, backend, threshold, stride):
    """``stride``: the plasticity on its own clock, every K steps with the step K dt."""
    pf = _patches(tmp_path / "x.npy")
    chains = 3
    cfg = _learning_cfg(pf, backend, chains=chains, mismatch=False, threshold=threshold,
                        stride=stride)
    assert cfg.design.timestep.plasticity_stride == stride
    data = load_learning(run_learning(cfg, tmp_path / "batch.h5"))
    ref = _reference(cfg, pf, chains)
    sn = data["snapshots"]
    steps = np.round(sn["t"] / DT).astype(int)
    assert len(steps) >= 3 and sn["dictionary"].shape == (len(steps), N, M)
    moved = np.max(np.abs(ref[-1][0] - np.array(DICT)))
    assert moved > 0.05, f"the dictionary must move (moved {moved:.3g})"
    for k, n in enumerate(steps):
        np.testing.assert_allclose(sn["dictionary"][k], ref[n - 1][0], rtol=0, atol=1e-10,
                                   err_msg=f"snapshot {k} (step {n})")
        np.testing.assert_allclose(sn["u0"][k], ref[n - 1][1], rtol=0, atol=1e-10,
                                   err_msg=f"thresholds at snapshot {k} (step {n})")
    if threshold is not None:
        assert np.max(np.abs(ref[-1][1] - cfg.design.model.u0)) > 0.01, "u0 must move"
    # the check sees chains reading one patch and a summed (not averaged) batch
    for wrong in (_reference(cfg, pf, chains, same=True), _reference(cfg, pf, chains, mean=False)):
        assert np.max(np.abs(sn["dictionary"][-1] - wrong[steps[-1] - 1][0])) > 1e-3
    assert int(sn["patches_seen"][-1]) == chains * cfg.design.schedule.n_patches


@pytest.mark.parametrize("backend, chains", [
    ("numpy", 1), pytest.param("standalone", 1, marks=pytest.mark.slow),
    pytest.param("standalone", 2, marks=pytest.mark.slow)])
def test_every_chip_learns_as_it_does_alone_at_T0(tmp_path, backend, chains):
    """``chains``: each chip's chains share its plasticity (its normalisation reads the
    chip's own column norms: on standalone the crossbar's state update computes every
    synapse's latent index from its chip and column, ``c K_c M + j``)."""
    pf = _patches(tmp_path / "x.npy")
    chips = 3
    batch = load_learning(run_learning(_learning_cfg(pf, backend, chains=chains, chips=chips),
                                       tmp_path / "chips.h5"))
    assert batch["snapshots"]["dictionary"].shape[1:] == (chips, N, M)
    assert batch["stats"]["activity"].shape[1:] == (chips,)
    assert batch["attrs"]["chips"] == chips
    finals = []
    for c in range(chips):
        cfg = _learning_cfg(pf, backend, chains=chains).replace(**{"mismatch.first_chip": c})
        alone = load_learning(run_learning(cfg, tmp_path / f"chip{c}.h5"))
        np.testing.assert_allclose(batch["snapshots"]["dictionary"][:, c],
                                   alone["snapshots"]["dictionary"], rtol=0, atol=1e-10,
                                   err_msg=f"chip {c}")
        np.testing.assert_allclose(batch["stats"]["reconstruction_error"][:, c],
                                   alone["stats"]["reconstruction_error"], rtol=1e-9, atol=1e-12)
        finals.append(alone["dictionary"])
    assert np.max(np.abs(finals[0] - finals[1])) > 1e-3, "the chips must differ"


@pytest.mark.parametrize("backend", ["numpy", pytest.param("standalone", marks=pytest.mark.slow)])
def test_an_ensemble_resumed_from_a_snapshot_continues_exactly(tmp_path, backend):
    """2 chips x 2 chains with noise (T_eff = 1): stopped after one snapshot and resumed, the
    file ends as the uninterrupted run's (per-segment seeds, the saved state of every copy;
    standalone: the noise kernel's generator reseeded at every segment)."""
    pf = _patches(tmp_path / "x.npy")
    cfg = Config.from_dict({**_learning_cfg(pf, backend, chains=2, chips=2).raw,
                            "noise": [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}]})
    # standalone: the whole run as one program (its segments one after the other in it)
    whole = load_learning(run_learning(cfg, tmp_path / "whole.h5", checkpoint_seconds=1e9))
    run_learning(cfg, tmp_path / "cut.h5", stop_after=1)
    assert len(load_learning(tmp_path / "cut.h5")["snapshots"]["t"]) == 1
    cut = load_learning(run_learning(cfg, tmp_path / "cut.h5", resume=True))
    np.testing.assert_array_equal(cut["snapshots"]["dictionary"], whole["snapshots"]["dictionary"])
    np.testing.assert_array_equal(cut["stats"]["activity"], whole["stats"]["activity"])
    assert np.max(np.abs(whole["dictionary"][0] - whole["dictionary"][1])) > 1e-3


def test_ensemble_learning_file_summary_and_figure(tmp_path):
    pf = _patches(tmp_path / "x.npy")
    out = run_learning(_learning_cfg(pf, "numpy", chains=2, chips=3), tmp_path / "e.h5")
    _assert_summary_and_figure(load_learning(out), tmp_path / "e.png", "3 chips x 2 chains",
                               "median over chips", "10th-90th percentile")


@pytest.mark.parametrize("backend", ["numpy", pytest.param("standalone", marks=pytest.mark.slow)])
def test_chains_with_their_own_plasticity_learn_as_their_chip_alone_at_T0(tmp_path, backend):
    """``learning.share = "none"``: every chain of every chip is its own learner (its own
    dictionary and learned thresholds, its chip's devices, the chip's patches); at T = 0 each
    learner follows its chip run alone with one chain to 1e-10, dictionary and thresholds at
    every snapshot (a chain reading another chain's patch, another chip's devices or weights,
    or thresholds averaged over chips would not)."""
    pf = _patches(tmp_path / "x.npy")
    chips, chains = 2, 2
    cfg = _learning_cfg(pf, backend, chains=chains, chips=chips, threshold="per_unit")
    cfg = cfg.replace(**{"learning.share": "none"})
    out = load_learning(run_learning(cfg, tmp_path / "own.h5"))
    sn, a = out["snapshots"], out["attrs"]
    assert sn["dictionary"].shape[1:] == (chips * chains, N, M)
    assert sn["u0"].shape[1:] == (chips * chains, M)
    assert (a["chips"], a["chains"], a["learners"], a["share"]) == (chips, chains, 4, "none")
    assert int(sn["patches_seen"][-1]) == cfg.design.schedule.n_patches
    alone = []
    for c in range(chips):
        one = _learning_cfg(pf, backend, threshold="per_unit").replace(
            **{"mismatch.first_chip": c})
        alone.append(load_learning(run_learning(one, tmp_path / f"chip{c}.h5"))["snapshots"])
    for q in range(chips * chains):
        ref = alone[q // chains]
        np.testing.assert_allclose(sn["dictionary"][:, q], ref["dictionary"], rtol=0,
                                   atol=1e-10, err_msg=f"learner {q}")
        np.testing.assert_allclose(sn["u0"][:, q], ref["u0"], rtol=0, atol=1e-10,
                                   err_msg=f"thresholds of learner {q}")
    assert np.max(np.abs(alone[0]["dictionary"][-1] - alone[1]["dictionary"][-1])) > 1e-3
    assert np.max(np.abs(alone[0]["dictionary"][-1] - np.array(DICT))) > 0.05
    assert np.max(np.abs(alone[0]["u0"][-1] - cfg.design.model.u0)) > 0.01, "u0 must move"


def test_chains_with_their_own_plasticity_learn_apart_with_noise(tmp_path):
    """With noise (T_eff = 1) the learners of one chip (``share = "none"``) drift apart, in
    dictionary and thresholds: each follows its own ``r s^T``. With ``share = "chains"`` the
    same chains keep one dictionary. The summary and the figure name the learners."""
    pf = _patches(tmp_path / "x.npy")
    d = _learning_cfg(pf, "numpy", chains=3, mismatch=False, threshold="per_unit").raw
    d["noise"] = [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}]
    d["learning"]["share"] = "none"
    out = load_learning(run_learning(Config.from_dict(d), tmp_path / "own.h5"))
    phi, u0 = out["dictionary"], out["snapshots"]["u0"][-1]
    assert phi.shape == (3, N, M) and out["stats"]["activity"].shape[1:] == (3,)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.max(np.abs(phi[a] - phi[b])) > 1e-3, f"learners {a} and {b} share weights"
        assert np.max(np.abs(u0[a] - u0[b])) > 1e-4, f"learners {a} and {b} share thresholds"
    _assert_summary_and_figure(out, tmp_path / "own.png", "1 chip x 3 chains", "3 learners",
                               "median over learners")
    d["learning"]["share"] = "chains"
    shared = load_learning(run_learning(Config.from_dict(d), tmp_path / "shared.h5"))
    assert shared["dictionary"].shape == (N, M)


def test_an_unknown_sharing_is_refused(tmp_path):
    cfg = _learning_cfg(_patches(tmp_path / "x.npy"), "numpy")
    with pytest.raises(ConfigError, match=r"learning\.share.*chains.*none.*everything"):
        cfg.replace(**{"learning.share": "everything"})


@pytest.mark.slow
def test_standalone_ensemble_noise_is_fresh_in_every_segment(tmp_path):
    """The noise kernel draws new noise in every segment of a standalone learning run (each
    segment is its own run of the program, seeded from the noise stream by its index). One
    fixed patch, the weights frozen (tau_Phi = 1 s), segments of 100 tau_u: with the same
    draws in every segment the trajectories, which forget their start within a few tau_u,
    would repeat and so would every segment's statistics."""
    np.save(tmp_path / "x.npy", np.array([[1.0, -0.5, 0.8]]))
    d = _learning_cfg(str(tmp_path / "x.npy"), "standalone", chains=2, chips=2, gamma=0.0,
                      n_patches=1).raw
    d["noise"] = [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}]
    d["input"]["hold"] = "4 us"
    d["learning"].update(dictionary_time_constant="1 s", snapshot_every="1 us")
    out = load_learning(run_learning(Config.from_dict(d), tmp_path / "n.h5"))
    energy = out["stats"]["energy"]                       # (segments, chips)
    assert energy.shape == (4, 2)
    spread = np.std(energy[1:], axis=0) / np.mean(np.abs(energy[1:]), axis=0)
    assert np.all(spread > 1e-3), f"segments repeat their noise: relative spread {spread}"


SEEDS = [4, 7, 12]


def _seed_cfg(backend: str, chains: int = 1, share: str = "chains",
              dynamics: str = "langevin") -> Config:
    """Bars (2 x 2, N = 4) learned by M = 5 units from a dictionary drawn from the seed, with
    mismatch (drawn from the seed), T = 0; Langevin from U5_INIT or MAP descent from a
    draw of the prior (also the seed's)."""
    d = _learning_cfg("unused.npy", backend, chains=chains).raw
    d["model"] = {"n_features": 4, "n_components": 5, "sigma": 0.5, "prior": "laplace",
                  "lam": 1.0, "pi": 0.3, "positive": True}
    d["input"] = {**d["input"], "kind": "bars", "patch_size": 2}
    d["input"].pop("path")
    d["run"]["u_init"] = [1.5, -1.2, 2.0, 0.8, 1.1]
    d["learning"].update(share=share, dynamics=dynamics)
    return Config.from_dict(d)


@pytest.mark.parametrize("backend, chains, share, dynamics", [
    ("numpy", 1, "chains", "langevin"),
    pytest.param("numpy", 2, "none", "map", marks=pytest.mark.slow),
    pytest.param("standalone", 2, "chains", "langevin", marks=pytest.mark.slow)])
def test_a_batch_of_seeds_learns_as_each_seed_alone_at_T0(tmp_path, backend, chains, share,
                                                          dynamics):
    """``run.seeds`` on a stream: chip q presents seed q's own patches, starts from seed q's
    own drawn dictionary (and, MAP descent, its own prior draw) with seed q's devices, and
    learns as ``run.seed = q`` alone does, to 1e-10 at every snapshot; the seeds' data and
    dictionaries differ. The file's config re-resolves to the same batch (each seed's
    dictionary left drawn); the summary names the seeds."""
    from circuit_sim.config import loads_config
    from circuit_sim.results.text import learning_summary

    cfg = _seed_cfg(backend, chains, share, dynamics)
    batch_cfg = cfg.replace(**{"run.seeds": SEEDS})
    batch = load_learning(run_learning(batch_cfg, tmp_path / "seeds.h5"))
    per = chains if share == "none" else 1  # learners per seed
    assert batch["snapshots"]["dictionary"].shape[1:] == (len(SEEDS) * per, 4, 5)
    starts, firsts = [], []
    for c, seed in enumerate(SEEDS):
        one = cfg.replace(**{"run.seed": seed})
        alone = load_learning(run_learning(one, tmp_path / f"seed{seed}.h5"))
        mine = slice(c * per, (c + 1) * per)
        got = batch["snapshots"]["dictionary"][:, mine]
        want = alone["snapshots"]["dictionary"]
        np.testing.assert_allclose(got if per > 1 else got[:, 0], want, rtol=0, atol=1e-10,
                                   err_msg=f"seed {seed}")
        err = batch["stats"]["reconstruction_error"][:, mine]
        np.testing.assert_allclose(err if per > 1 else err[:, 0],
                                   alone["stats"]["reconstruction_error"], rtol=1e-9, atol=1e-12)
        start = one.design.model.dictionary
        moved = np.max(np.abs(np.asarray(want)[-1] - start))
        assert moved > 0.05, f"seed {seed}: the dictionary must move (moved {moved:.3g})"
        starts.append(start)
        firsts.append(one.design.stream.patches(0, 8))
    for k in (1, 2):
        assert np.max(np.abs(starts[k] - starts[0])) > 0.1, "each seed draws its dictionary"
        assert np.max(np.abs(firsts[k] - firsts[0])) > 0.1, "each seed draws its patches"
    again = loads_config(batch["attrs"]["config"]).design
    assert again.config.model.dictionary is None and again.config.run.seeds == tuple(SEEDS)
    for a, b in zip(again.chip_dictionaries, batch_cfg.design.chip_dictionaries):
        np.testing.assert_array_equal(a, b)
    assert "one chip per seed (run.seeds = [4, 7, 12]" in learning_summary(batch)


def test_a_batch_of_seeds_on_a_poisson_schedule_is_refused():
    """A Poisson schedule is drawn from the seed; the batch presents at one schedule."""
    cfg = _seed_cfg("numpy").replace(**{"input.presentation": "poisson"})
    with pytest.raises(ConfigError, match=r"run\.seeds: expected input\.presentation = "
                                          r"\"synchronous\" on a stream.*\[4, 7\]"):
        cfg.replace(**{"run.seeds": [4, 7]})


def test_a_batch_of_seeds_on_a_stream_without_learning_is_each_seed_alone_at_T0(tmp_path):
    """Inference on each seed's stream (no [learning], Gaussian prior: each chip starts at
    its seed's posterior mean of its own first patch under its own drawn dictionary): every
    snapshot's statistics are the seed's run alone, and differ between the seeds."""
    d = _seed_cfg("numpy").raw
    d.pop("learning")
    d["run"].pop("u_init")
    d["run"]["duration"] = "120 ns"
    d["model"] = {k: v for k, v in d["model"].items() if k not in ("pi", "lam")}
    d["model"].update(prior="gaussian", positive=False)
    d["mismatch"] = {k: v for k, v in d["mismatch"].items() if k != "threshold_offset_sigma"}
    cfg = Config.from_dict(d)
    batch = load_learning(run_learning(cfg.replace(**{"run.seeds": SEEDS}), tmp_path / "b.h5"))
    errors = []
    for c, seed in enumerate(SEEDS):
        alone = load_learning(run_learning(cfg.replace(**{"run.seed": seed}),
                                           tmp_path / f"a{seed}.h5"))
        err = alone["stats"]["reconstruction_error"]
        assert len(err) >= 3 and np.all(err > 0)
        np.testing.assert_allclose(batch["stats"]["reconstruction_error"][:, c], err,
                                   rtol=1e-9, atol=1e-12, err_msg=f"seed {seed}")
        np.testing.assert_allclose(batch["snapshots"]["dictionary"][:, c],
                                   alone["snapshots"]["dictionary"], rtol=0, atol=1e-12)
        errors.append(err)
    assert np.min(np.ptp(np.array(errors), axis=0)) > 1e-6, "each seed its own stream"
