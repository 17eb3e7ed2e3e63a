"""The exact Gibbs reference (models.gibbs_spike_and_slab) against grid quadrature: the
histograms of s (zero mass included) and of u (completed by models.u_from_s) in 1-D and
2-D, signed and positive, within the noise bound of their effective sample size."""

import numpy as np
import pytest

import models

from ._physics import mean_and_se, tv_noise_bound

Z = 4.0


def _check(model, x, n_chains=400, n_sweeps=300, seed=0):
    rng = np.random.default_rng(seed)
    s = models.gibbs_spike_and_slab(model, x, np.zeros((n_chains, model.n_components)),
                                    n_sweeps=n_sweeps, rng=rng)[20:]
    u = models.u_from_s(model, s, rng)
    grid = models.grid_posterior(model, x)
    out = {}
    for i in range(model.n_components):
        si, ui = s[..., i], u[..., i]
        # effective samples: chains are independent; within a chain the sweeps correlate
        per_chain = [models.integrated_autocorrelation_time((si[:, c:c + 1] != 0).astype(float))[0]
                     for c in range(0, n_chains, 40)]
        tau = max(1.0, float(np.nanmean(per_chain)))
        n_eff = si.size / tau
        from circuit_sim.results.metrics import s_edges, u_edges
        for name, samples, edges, probs in (("s", si, s_edges(grid, i), models.s_bin_probabilities),
                                            ("u", ui, u_edges(grid, i), models.u_bin_probabilities)):
            p_hat, p = probs(samples.ravel(), grid, i, edges)
            tv = models.total_variation(p_hat, p)
            _, bound = tv_noise_bound(p, n_eff)
            out[f"tv_{name}{i}"] = (tv, bound)
            assert tv < bound, (name, i, tv, bound)
        assert abs(np.mean(si == 0) - grid.s_zero_mass[i]) < Z * np.sqrt(
            grid.s_zero_mass[i] * (1 - grid.s_zero_mass[i]) / n_eff)
    return out


@pytest.mark.parametrize("positive", [False, True])
def test_gibbs_matches_quadrature_1d(positive):
    model = models.SparseCodingModel(dictionary=np.array([[1.0]]), sigma=0.5, lam=1.0,
                                     u0=models.u0_from_pi(1.0, 0.3), positive=positive)
    print(_check(model, np.array([1.2])))


def test_gibbs_matches_quadrature_2d():
    model = models.SparseCodingModel(dictionary=np.array([[1.0, 0.6], [0.0, 0.8]]), sigma=0.5,
                                     lam=1.0, u0=models.u0_from_pi(1.0, 0.3))
    print(_check(model, np.array([0.9, 0.4])))


def test_gibbs_check_fails_on_the_wrong_posterior():
    """The same comparison rejects a sampler of another posterior (sigma off by sqrt(2))."""
    model = models.SparseCodingModel(dictionary=np.array([[1.0, 0.6], [0.0, 0.8]]), sigma=0.5,
                                     lam=1.0, u0=models.u0_from_pi(1.0, 0.3))
    wrong = models.SparseCodingModel(dictionary=model.dictionary, sigma=0.5 * np.sqrt(2),
                                     lam=1.0, u0=model.u0)
    rng = np.random.default_rng(0)
    s = models.gibbs_spike_and_slab(wrong, np.array([0.9, 0.4]), np.zeros((400, 2)),
                                    n_sweeps=300, rng=rng)[20:]
    grid = models.grid_posterior(model, np.array([0.9, 0.4]))
    from circuit_sim.results.metrics import s_edges
    p_hat, p = models.s_bin_probabilities(s[..., 0].ravel(), grid, 0, s_edges(grid, 0))
    _, bound = tv_noise_bound(p, s[..., 0].size / 3)
    assert models.total_variation(p_hat, p) > bound
