"""Tests of models.diagnostics (integrated autocorrelation time, ESS)."""

import numpy as np
import pytest

from models import effective_sample_size, expected_total_variation, integrated_autocorrelation_time


def ar1(a, n, n_series, rng):
    """AR(1) series x_t = a x_{t-1} + e_t started in its stationary law, shape (n, n_series)."""
    x = np.empty((n, n_series))
    x[0] = rng.standard_normal(n_series) / np.sqrt(1 - a * a)
    e = rng.standard_normal((n, n_series))
    for t in range(1, n):
        x[t] = a * x[t - 1] + e[t]
    return x


@pytest.mark.parametrize("a", [0.5, 0.9])
def test_tau_of_ar1(a):
    # tau = (1 + a) / (1 - a): 3 and 19. Sokal's estimator has relative sd ~ sqrt(2(2W+1)/n)
    # per series (W ~ 5 tau); 100 series of 20000 give ~2% on the mean, far inside 10%.
    rng = np.random.default_rng(7)
    x = ar1(a, 20000, 100, rng)
    tau = integrated_autocorrelation_time(x)
    assert tau.shape == (100,)
    true = (1 + a) / (1 - a)
    assert np.mean(tau) == pytest.approx(true, rel=0.10)
    ess = effective_sample_size(x)
    np.testing.assert_allclose(ess, 20000 / tau)


@pytest.mark.parametrize("a", [0.0, 0.9, 0.995])
def test_tau_equals_a_direct_sum_over_every_lag(a):
    """The estimator looks for Sokal's window within the first n / 8 lags (shorter FFTs) and
    over every lag only where it is not there (a = 0.995: tau ~ 400 > n / 40); either way it
    is the direct definition: the biased autocovariance summed up to the smallest window
    W >= 5 tau(W), computed here by np.correlate over all lags."""
    x = ar1(a, 4000, 3, np.random.default_rng(11))
    want = []
    for col in x.T:
        c = col - col.mean()
        acov = np.correlate(c, c, mode="full")[len(c) - 1:]
        taus = 2 * np.cumsum(acov / acov[0]) - 1
        w = np.flatnonzero(np.arange(len(c)) >= 5 * taus)
        want.append(max(taus[w[0] if w.size else len(c) - 1], 1.0))
    np.testing.assert_allclose(integrated_autocorrelation_time(x), want, rtol=1e-9)


def test_tau_white_noise_is_one_and_shapes():
    rng = np.random.default_rng(0)
    n = 5000
    x = rng.standard_normal((n, 3, 4))
    tau = integrated_autocorrelation_time(x)
    assert tau.shape == (3, 4)
    # Sokal: sd(tau)/tau ~ sqrt(2 (2W + 1) / n) with window W ~ c tau = 5; allow 4 sd
    np.testing.assert_allclose(tau, 1.0, atol=4 * np.sqrt(2 * 11 / n))
    assert np.ndim(integrated_autocorrelation_time(x[:, 0, 0])) == 0


def test_tau_documented_edge_cases():
    # constant column -> nan; anticorrelated (true tau = 1/3) -> clipped to 1
    rng = np.random.default_rng(1)
    x = np.stack([np.ones(1000), ar1(-0.5, 1000, 1, rng)[:, 0]], axis=1)
    tau = integrated_autocorrelation_time(x)
    assert np.isnan(tau[0])
    assert tau[1] == 1.0
    with pytest.raises(ValueError, match=r"^samples: expected an array of shape \(n, \.\.\.\) "
                                         r"with n >= 2, got shape \(1,\)$"):
        integrated_autocorrelation_time(np.ones(1))


def test_expected_total_variation_matches_simulation():
    rng = np.random.default_rng(2)
    p = np.array([0.5, 0.3, 0.2])
    n = 2000
    tv = np.array([0.5 * np.abs(rng.multinomial(n, p) / n - p).sum() for _ in range(2000)])
    # independent replicates: the mean has standard error sd / sqrt(2000); allow 4 of them
    se = tv.std() / np.sqrt(tv.size)
    assert abs(tv.mean() - expected_total_variation(p, n)) < 4 * se
