"""Deterministic tests of models.sparse_coding and models.data."""

import re

import numpy as np
import pytest

import models
from models import (SparseCodingModel, energy, energy_gradient, lambda_max, max_stable_step,
                    pi_from_u0, random_dictionary, soft_threshold, soft_threshold_derivative,
                    u0_from_pi)

PHI = np.array([[1.0, 0.6], [0.0, 0.8], [0.3, -0.2]])


def _msg(field, expected, got):
    return re.escape(f"{field}: expected {expected}, got {got}")


# ----------------------------------------------------------------------------------- errors

def test_dictionary_shape_error_message():
    with pytest.raises(ValueError, match=_msg("dictionary", "a 2-D array of shape (N, M)",
                                              "shape (3,)")):
        SparseCodingModel(np.ones(3), sigma=1.0)


@pytest.mark.parametrize("kwargs, field, got", [
    (dict(sigma=0.0), "sigma", "0.0"),
    (dict(sigma=-1.0), "sigma", "-1.0"),
    (dict(sigma=np.inf), "sigma", "inf"),
    (dict(sigma=1.0, lam=0.0), "lam", "0.0"),
    (dict(sigma=1.0, u0=-0.1), "u0", "-0.1"),
    (dict(sigma=1.0, prior_variance=0.0), "prior_variance", "0.0"),
    (dict(sigma=1.0, prior="cauchy"), "prior", "'cauchy'"),
    (dict(sigma=1.0, positive=1), "positive", "1"),
    (dict(sigma=1.0, prior="gaussian", u0=0.5), "u0", "0.5"),
    (dict(sigma=1.0, prior="gaussian", positive=True), "positive", "True"),
])
def test_model_field_errors(kwargs, field, got):
    with pytest.raises(ValueError, match=rf"^{field}: expected .+, got {re.escape(got)}$"):
        SparseCodingModel(PHI, **kwargs)


def test_dictionary_nonfinite_error():
    bad = PHI.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^dictionary: expected finite values, got "):
        SparseCodingModel(bad, sigma=1.0)


def test_energy_input_shape_errors():
    model = SparseCodingModel(PHI, sigma=0.5)
    with pytest.raises(ValueError, match=_msg("x", "an array of shape (N,) = (3,)", "shape (2,)")):
        energy(model, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"^u: expected .*M = 2.*, got shape \(4, 3\)$"):
        energy_gradient(model, np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"^model: expected a SparseCodingModel, got dict$"):
        energy({}, np.zeros(2), np.zeros(3))


def test_pi_u0_errors():
    with pytest.raises(ValueError, match=_msg("pi", "a finite float > 0 and <= 1", "1.5")):
        u0_from_pi(1.0, 1.5)
    with pytest.raises(ValueError, match=_msg("lam", "a finite float > 0", "-2.0")):
        pi_from_u0(-2.0, 0.1)


def test_random_dictionary_errors():
    with pytest.raises(ValueError, match=_msg("n_features", "an integer >= 1", "0")):
        random_dictionary(0, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^rng: expected a numpy.random.Generator, got 3$"):
        random_dictionary(2, 3, 3)


# ------------------------------------------------------------------------------- the model

def test_model_is_read_only_copy_and_properties():
    phi = PHI.copy()
    model = SparseCodingModel(phi, sigma=0.5, lam=2.0, u0=0.3)
    phi[0, 0] = 99.0
    assert model.dictionary[0, 0] == 1.0
    with pytest.raises(ValueError):
        model.dictionary[0, 0] = 5.0
    assert (model.n_features, model.n_components) == (3, 2)
    assert model.pi == pytest.approx(np.exp(-0.6))
    assert SparseCodingModel(PHI, sigma=0.5, prior="gaussian").pi == 1.0


def test_pi_u0_round_trip():
    for lam in (0.5, 1.0, 3.0):
        for pi in (1.0, 0.3, 0.1, 1e-3):
            assert pi_from_u0(lam, u0_from_pi(lam, pi)) == pytest.approx(pi, rel=1e-13)
    assert u0_from_pi(1.0, 1.0) == 0.0
    assert u0_from_pi(1.0, 0.3) == pytest.approx(-np.log(0.3))


def test_soft_threshold_values():
    u = np.array([-2.0, -0.5, -0.3, 0.0, 0.3, 0.5, 2.0])
    np.testing.assert_array_equal(soft_threshold(u, 0.5), [-1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5])
    np.testing.assert_array_equal(soft_threshold(u, 0.5, positive=True),
                                  [1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5])
    np.testing.assert_array_equal(soft_threshold(u, 0.0), u)
    np.testing.assert_array_equal(soft_threshold_derivative(u, 0.5), [1, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(soft_threshold_derivative(u, 0.5, positive=True),
                                  [-1, 0, 0, 0, 0, 0, 1])
    assert soft_threshold(np.ones((2, 3, 4)), 0.2).shape == (2, 3, 4)
    assert float(soft_threshold(-1.25, 0.25)) == -1.0


def test_energy_values_by_hand():
    x = np.array([0.9, 0.4, -0.1])
    u = np.array([[1.5, -0.2], [0.0, 0.0]])
    m = SparseCodingModel(PHI, sigma=0.5, lam=2.0, u0=0.5)
    s = np.array([[1.0, 0.0], [0.0, 0.0]])
    expect = (np.sum((x - s @ PHI.T) ** 2, axis=1) / 0.5
              + 2.0 * np.abs(u).sum(axis=1))
    np.testing.assert_allclose(energy(m, u, x), expect, rtol=1e-14)
    g = SparseCodingModel(PHI, sigma=0.5, prior="gaussian", prior_variance=2.0)
    expect = np.sum((x - u @ PHI.T) ** 2, axis=1) / 0.5 + np.sum(u ** 2, axis=1) / 4.0
    np.testing.assert_allclose(energy(g, u, x), expect, rtol=1e-14)


@pytest.mark.parametrize("kwargs", [
    dict(prior="laplace", lam=1.3, u0=0.4),
    dict(prior="laplace", lam=1.3, u0=0.4, positive=True),
    dict(prior="laplace", lam=0.7, u0=0.0),
    dict(prior="gaussian", prior_variance=0.8),
])
def test_gradient_matches_finite_differences(kwargs):
    rng = np.random.default_rng(1)
    phi = random_dictionary(5, 4, rng)
    model = SparseCodingModel(phi, sigma=0.7, **kwargs)
    x = rng.standard_normal(5)
    u = rng.uniform(-2.5, 2.5, size=(50, 4))
    # keep points away from the kinks at 0 and +-u0 (the FD stencil must not cross them)
    eps = 1e-6
    far = np.all((np.abs(u) > 0.05) & (np.abs(np.abs(u) - model.u0) > 0.05), axis=1)
    u = u[far]
    assert u.shape[0] > 20
    fd = np.empty_like(u)
    for j in range(4):
        e = np.zeros(4)
        e[j] = eps
        fd[:, j] = (energy(model, u + e, x) - energy(model, u - e, x)) / (2 * eps)
    np.testing.assert_allclose(energy_gradient(model, u, x), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(models.langevin_drift(model, u, x),
                               -energy_gradient(model, u, x), rtol=0, atol=0)


def test_gradient_in_dead_zone_is_prior_pull_only():
    model = SparseCodingModel(PHI, sigma=0.1, lam=1.7, u0=1.0)
    u = np.array([[0.5, -0.9], [0.0, 1.0]])
    np.testing.assert_array_equal(energy_gradient(model, u, np.array([5.0, -3.0, 1.0])),
                                  [[1.7, -1.7], [0.0, 1.7]])


def test_lambda_max_and_stable_step():
    model = SparseCodingModel(PHI, sigma=0.5)
    top = np.linalg.eigvalsh(PHI.T @ PHI)[-1] / 0.25
    assert lambda_max(model) == pytest.approx(top, rel=1e-12)
    g = SparseCodingModel(PHI, sigma=0.5, prior="gaussian", prior_variance=0.5)
    assert lambda_max(g) == pytest.approx(top + 2.0, rel=1e-12)
    assert max_stable_step(g) == pytest.approx(2.0 / (top + 2.0), rel=1e-12)
    wide = SparseCodingModel(PHI.T, sigma=0.5)  # N < M uses the smaller Gram matrix
    assert lambda_max(wide) == pytest.approx(top, rel=1e-12)


def test_random_dictionary_unit_columns_and_seeded():
    a = random_dictionary(8, 5, np.random.default_rng(3))
    b = random_dictionary(8, 5, np.random.default_rng(3))
    assert a.shape == (8, 5)
    np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(a, b)


def _nonnegative_lasso(phi, x, sigma, lam, sweeps=5000):
    """Coordinate descent on |x - phi s|^2/(2 sigma^2) + lam sum s, s >= 0 (to ~1e-14)."""
    s = np.zeros(phi.shape[1])
    norms = np.sum(phi**2, axis=0)
    for _ in range(sweeps):
        for i in range(len(s)):
            r = x - phi @ s + phi[:, i] * s[i]
            s[i] = max(0.0, (phi[:, i] @ r - lam * sigma**2) / norms[i])
    return s


def test_zero_by_energy_keeps_an_l1_minimum_and_removes_chatter():
    rng = np.random.default_rng(3)
    phi = models.random_dictionary(12, 20, rng)
    s_true = rng.exponential(1.0, 20) * (rng.random(20) < 0.3)
    x = phi @ s_true + 0.3 * rng.standard_normal(12)
    s_map = _nonnegative_lasso(phi, x, 0.3, 1.0)
    active = s_map > 0
    assert 0 < active.sum() < 20
    # the minimum itself is left alone
    np.testing.assert_array_equal(models.zero_by_energy(s_map, x, phi, 0.3, 1.0), s_map)
    # chatter on the inactive units is removed, the actives stay (chatter much below the
    # smallest active coefficient, 0.009 here: a coefficient at the chatter's own size is
    # ambiguous for any rule)
    chatter = s_map + np.where(active, 0.0, 0.002 * rng.random(20))
    out = models.zero_by_energy(chatter[None, :], x[None, :], phi, 0.3, 1.0)[0]
    np.testing.assert_array_equal(out[~active], 0.0)
    np.testing.assert_array_equal(out[active], s_map[active])
    # away from the minimum: with s_i = c a (a its MAP value, the others held), removing it
    # changes E by c (2 - c) a^2 |phi_i|^2 / (2 sigma^2): kept for c < 2, removed for c > 2
    i = int(np.argmax(s_map))
    for c, kept in ((1.5, True), (2.5, False)):
        moved = s_map.copy()
        moved[i] *= c
        assert bool(models.zero_by_energy(moved, x, phi, 0.3, 1.0)[i] == moved[i]) is kept


def test_zero_by_energy_errors():
    phi = np.eye(3)
    with pytest.raises(ValueError, match="sigma: expected a finite float > 0, got -1"):
        models.zero_by_energy(np.zeros(3), np.zeros(3), phi, -1, 1.0)
    with pytest.raises(ValueError, match=r"s, x, phi: expected shapes \(K, M\), \(K, N\), "
                                         r"\(N, M\), got s \(4,\)"):
        models.zero_by_energy(np.zeros(4), np.zeros(3), phi, 1.0, 1.0)
