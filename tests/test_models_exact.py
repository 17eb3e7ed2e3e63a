"""Deterministic tests of models.exact (closed-form and grid posteriors, TV helpers)."""

import re

import numpy as np
import pytest
from scipy import stats

from models import (GridPosterior, SparseCodingModel, gaussian_posterior, grid_posterior,
                    lambda_max, s_total_variation, total_variation, u0_from_pi,
                    u_total_variation)

PHI2 = np.array([[1.0, 0.6], [0.0, 0.8]])
X2 = np.array([0.9, 0.4])


def test_gaussian_posterior_requires_gaussian_prior():
    model = SparseCodingModel(PHI2, sigma=0.5)
    with pytest.raises(ValueError, match=re.escape(
            "model.prior: expected 'gaussian' for a closed-form posterior, got 'laplace'")):
        gaussian_posterior(model, X2)


def test_gaussian_posterior_rejects_unstable_euler_step():
    model = SparseCodingModel(PHI2, sigma=0.5, prior="gaussian")
    h_max = 2.0 / lambda_max(model)
    with pytest.raises(ValueError, match=r"^euler_step: expected a finite float > 0 and < "):
        gaussian_posterior(model, X2, euler_step=h_max)


def test_gaussian_posterior_closed_form_and_euler_fixed_point():
    model = SparseCodingModel(PHI2, sigma=0.5, prior="gaussian", prior_variance=1.5)
    a = PHI2.T @ PHI2 / 0.25 + np.eye(2) / 1.5
    mean, cov = gaussian_posterior(model, X2, temperature=2.0)
    np.testing.assert_allclose(mean, np.linalg.solve(a, PHI2.T @ X2 / 0.25), rtol=1e-13)
    np.testing.assert_allclose(cov, 2.0 * np.linalg.inv(a), rtol=1e-13)
    # the discrete law is the fixed point of cov = (I - hA) cov (I - hA)^T + 2 T h I
    h = 0.1
    mean_h, cov_h = gaussian_posterior(model, X2, temperature=2.0, euler_step=h)
    b = np.eye(2) - h * a
    np.testing.assert_allclose(cov_h, b @ cov_h @ b.T + 2 * 2.0 * h * np.eye(2), rtol=1e-12)
    np.testing.assert_allclose(mean_h, mean, rtol=1e-14)


def test_gaussian_posterior_matches_grid_in_2d():
    model = SparseCodingModel(PHI2, sigma=0.5, prior="gaussian", prior_variance=1.0)
    mean, cov = gaussian_posterior(model, X2)
    post = grid_posterior(model, X2)
    np.testing.assert_allclose(post.mean_u(), mean, atol=1e-4)
    # marginal bin masses against the exact normal marginals
    edges = np.linspace(-1.5, 2.5, 41)
    for i in range(2):
        exact = np.diff(stats.norm.cdf(edges, loc=mean[i], scale=np.sqrt(cov[i, i])))
        np.testing.assert_allclose(post.u_bin_masses(i, edges), exact, atol=1e-5)
    np.testing.assert_array_equal(post.s_zero_mass, [0.0, 0.0])


def test_grid_uninformative_data_gives_the_prior():
    lam, u0 = 1.5, u0_from_pi(1.5, 0.3)
    model = SparseCodingModel(np.array([[1.0]]), sigma=1e6, lam=lam, u0=u0)
    post = grid_posterior(model, np.array([0.2]))
    assert post.s_zero_mass[0] == pytest.approx(1.0 - np.exp(-lam * u0), abs=1e-6)
    edges = np.linspace(-4.0, 4.0, 33)
    laplace = np.diff(stats.laplace.cdf(edges, scale=1.0 / lam))
    np.testing.assert_allclose(post.u_bin_masses(0, edges), laplace, atol=1e-6)
    # nonzero part of s: pi * Laplace(lam) (memoryless tail)
    np.testing.assert_allclose(post.s_bin_masses(0, edges), 0.3 * laplace, atol=1e-6)
    # densities integrate to 1 - zero mass
    integral = np.trapezoid(post.s_densities[0], post.s_grid)
    assert integral == pytest.approx(0.3, abs=1e-6)
    np.testing.assert_allclose(np.trapezoid(post.u_marginals, post.u_grid, axis=1), 1.0,
                               rtol=1e-12)
    # the grid holds 0 and +-u0 exactly
    assert {0.0, u0, -u0} <= set(post.u_grid.tolist())


def test_grid_positive_variant_puts_mass_on_nonnegative_s():
    model = SparseCodingModel(PHI2, sigma=0.5, u0=0.5, positive=True)
    post = grid_posterior(model, X2)
    edges = np.append(np.linspace(-2.0, 3.0, 51), np.inf)
    masses = post.s_bin_masses(1, edges)
    assert np.all(masses[edges[1:] <= 0.0] == 0.0)
    assert masses.sum() + post.s_zero_mass[1] == pytest.approx(1.0, abs=1e-9)
    assert np.all(post.s_grid >= 0.0)


def test_grid_is_converged_in_resolution():
    model = SparseCodingModel(PHI2, sigma=0.5, u0=u0_from_pi(1.0, 0.3))
    coarse = grid_posterior(model, X2)
    fine = grid_posterior(model, X2, n_grid=2401)
    edges = np.linspace(-2.0, 3.0, 26)
    for i in range(2):
        np.testing.assert_allclose(coarse.s_bin_masses(i, edges), fine.s_bin_masses(i, edges),
                                   atol=1e-5)
    np.testing.assert_allclose(coarse.s_zero_mass, fine.s_zero_mass, atol=1e-6)


def test_grid_errors():
    model3 = SparseCodingModel(np.eye(3), sigma=1.0)
    with pytest.raises(ValueError, match=re.escape(
            "model.n_components: expected 1 or 2 for grid quadrature, got 3")):
        grid_posterior(model3, np.zeros(3))
    post = grid_posterior(SparseCodingModel(np.eye(1), sigma=1.0), np.zeros(1))
    assert isinstance(post, GridPosterior)
    with pytest.raises(ValueError, match=r"^i: expected a component index in \[0, 0\], got 1$"):
        post.u_bin_masses(1, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"^edges: expected strictly increasing bin edges"):
        post.u_bin_masses(0, [1.0, 0.0])


def test_total_variation_helpers():
    assert total_variation([0.5, 0.5], [1.0, 0.0]) == 0.5
    with pytest.raises(ValueError, match=r"^q: expected an array of shape \(2,\)"):
        total_variation([0.5, 0.5], [1.0, 0.0, 0.0])
    model = SparseCodingModel(np.array([[1.0]]), sigma=1e6, lam=1.0, u0=1.0)
    post = grid_posterior(model, np.zeros(1))
    edges = np.array([-1.0, 0.0, 1.0])
    # all samples at zero: TV = 0.5 * (|1 - p0| + sum of the exact nonzero masses) = 1 - p0
    assert s_total_variation(np.zeros(100), post, 0, edges) == pytest.approx(
        1.0 - post.s_zero_mass[0], abs=1e-12)
    # samples far outside the edges are an extra bin, not dropped: the exact u-law puts
    # 1 - exp(-1) inside [-1, 1] (Laplace prior), all of which is missed by these samples
    tv = u_total_variation(np.full(10, 100.0), post, 0, edges)
    assert tv == pytest.approx(1.0 - np.exp(-1.0), abs=1e-6)
