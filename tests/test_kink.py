"""The u-histogram at the Laplace kink (issue: the default integrator bent it).

The Laplace prior's force -lam sign(u) jumps at u = 0; in the dead zone it is the only force,
and the exact density there has a cusp at 0 that a discrete step smooths. Moment checks cannot
see it (activity and E[s] agree at every step tried); histograms can. Here the circuit's
histograms of u (40 bins per unit on [-4, 4]) are compared with an exact reference (a Gibbs
sampler of s, completed to u: ``models.gibbs_spike_and_slab``, ``models.u_from_s``) and with
each other under dt halving, by chi^2 with every bin's standard error from its effective sample
size; the limit is the chi^2 quantile of a one-sided 4-sigma tail (p = 3.2e-5) for the number
of bins compared. Each check is shown to fail where it must: at the old automatic step
(Leimkuhler-Matthews h = 0.1) and with the noise off by sqrt(2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2

import models
from circuit_sim import Config, run_inference

from ._configs import DICT_2D, DICT_4, X_2D, X_4, base_dict
from ._physics import break_noise, mean_and_se

EDGES = np.linspace(-4.0, 4.0, 41)
CHI2_TAIL = 3.2e-5   # one-sided 4-sigma
MIN_P = 1e-3         # bins compared: exact probability at least this


#: Every run is an ensemble of this many chains sharing its n_tau (issue 16: the same
#: effective samples for a fraction of the CPU time of one long chain on these small networks)
CHAINS = 16


def _slab(phi, x, *, h=None, n_tau=60000.0, seed=1) -> Config:
    tau = 1e-8
    run = {"duration": f"{n_tau / CHAINS * tau!r} s", "seed": seed, "backend": "standalone",
           "integrator": "leimkuhler_matthews", "chains": CHAINS}
    if h is not None:
        run.update(dt=f"{h * tau!r} s", record_every=f"{h * tau * max(1, round(0.5 / h))!r} s")
    else:
        run.update(dt=None, record_every="5 ns")
    n, m = len(phi), len(phi[0])
    return Config.from_dict(base_dict(
        model={"n_features": n, "n_components": m, "prior": "laplace", "lam": 1.0, "pi": 0.3,
               "sigma": 0.5, "dictionary": phi}, input={"x": x}, run=run))


def histogram(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin probabilities of u (K, M) and their standard errors from the effective sample
    size of each bin's indicator series: two arrays (M, B)."""
    p, se = np.empty((u.shape[1], len(EDGES) - 1)), np.empty((u.shape[1], len(EDGES) - 1))
    for i in range(u.shape[1]):
        for b in range(len(EDGES) - 1):
            p[i, b], se[i, b] = mean_and_se(((u[:, i] >= EDGES[b]) & (u[:, i] < EDGES[b + 1]))
                                            .astype(float))
    return p, np.maximum(se, 1e-12)


def exact_histogram(cfg: Config, chains=4000, sweeps=600) -> tuple[np.ndarray, np.ndarray]:
    """The exact reference: Gibbs draws of s (nearly independent sweeps), completed to u."""
    model = cfg.build_model()
    s = models.gibbs_spike_and_slab(model, cfg.x, np.zeros((chains, model.n_components)),
                                    n_sweeps=sweeps, rng=np.random.default_rng(3))[50:]
    u = models.u_from_s(model, s, np.random.default_rng(4)).reshape(-1, model.n_components)
    p = np.array([np.histogram(u[:, i], EDGES)[0] / len(u) for i in range(u.shape[1])])
    return p, np.sqrt(p * (1 - p) * 1.2 / len(u))  # sweeps' autocorrelation time <= 1.2


def bin_z(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin z of two histograms (probabilities, standard errors), (M, B), and the bins
    compared (either has probability >= MIN_P), (M, B) booleans."""
    (pa, sa), (pb, sb) = a, b
    return (pa - pb) / np.hypot(sa, sb), np.maximum(pa, pb) >= MIN_P


def chi2_check(a: tuple, b: tuple, what: str) -> dict:
    """chi^2 of two histograms (probabilities, standard errors) over the bins where either
    has probability >= MIN_P; AssertionError naming the worst bins above the limit."""
    z, use = bin_z(a, b)
    stat, dof = float(np.sum(z[use] ** 2)), int(np.sum(use))
    limit = float(chi2.isf(CHI2_TAIL, dof))
    unit, b = np.unravel_index(np.argmax(np.where(use, np.abs(z), 0)), z.shape)
    out = {"chi2": stat, "dof": dof, "limit": limit, "worst_z": float(z[unit, b]),
           "worst_at": (int(unit), float(0.5 * (EDGES[b] + EDGES[b + 1])))}
    assert stat < limit, (f"{what}: u histograms differ, chi^2 = {stat:.0f} on {dof} bins "
                          f"(limit {limit:.0f}); worst bin: unit {unit}, u = "
                          f"{out['worst_at'][1]:.1f}, z = {out['worst_z']:.1f}")
    return out


def _circuit_histogram(cfg: Config) -> tuple:
    res = run_inference(cfg)
    return histogram(res.pooled(res.u))  # the chains one after the other


@pytest.mark.slow
def test_u_histogram_at_the_default_step_matches_the_exact_reference():
    """4 latents, the automatic step (Leimkuhler-Matthews, h = 0.025 / lam^2 here), 120000
    tau_u: every unit's u histogram within the chi^2 limit of the exact one."""
    cfg = _slab(DICT_4, X_4, n_tau=120000.0)
    assert cfg.resolved_dt()[0] / cfg.circuit.tau_u == pytest.approx(0.025)
    print(chi2_check(_circuit_histogram(cfg), exact_histogram(cfg), "circuit vs exact"))


@pytest.mark.slow
def test_the_histogram_check_fails_at_the_old_step_and_with_wrong_noise():
    """The old automatic step, h = 0.1, fails the check (chi^2 887 on 104 bins against 172)
    and smooths the cusp: in every unit both bins next to u = 0 hold too little (z -5.1 to
    -7.5; the worst bin overall is elsewhere, u = -1.1, z = -8.3); the noise off by sqrt(2)
    (T = 2) fails by far."""
    ref = exact_histogram(_slab(DICT_4, X_4))
    old = _circuit_histogram(_slab(DICT_4, X_4, h=0.1, n_tau=120000.0))
    with pytest.raises(AssertionError, match="u histograms differ"):
        chi2_check(old, ref, "old step")
    z, _ = bin_z(old, ref)
    at_kink = np.abs(0.5 * (EDGES[1:] + EDGES[:-1])) < 0.2   # the bins [-0.2, 0), [0, 0.2)
    assert np.all(z[:, at_kink] < -4), f"old step, z next to u = 0: {z[:, at_kink]}"
    with break_noise(math.sqrt(2)), pytest.raises(AssertionError, match="u histograms differ"):
        chi2_check(_circuit_histogram(_slab(DICT_4, X_4, n_tau=20000.0)), ref, "noise x sqrt(2)")


@pytest.mark.slow
def test_dt_halving_keeps_the_u_histograms():
    """2-D posterior: the automatic step and half of it give the same u histograms; the old
    step (0.1) against half of it (0.05) does not (the check has power)."""
    def run(h, seed):
        return _circuit_histogram(_slab(DICT_2D, X_2D, h=h, n_tau=160000.0, seed=seed))

    h = _slab(DICT_2D, X_2D).resolved_dt()[0] / 1e-8
    print(chi2_check(run(h, 3), run(h / 2, 4), f"h = {h} vs h/2"))
    with pytest.raises(AssertionError, match="u histograms differ"):
        chi2_check(run(0.1, 3), run(0.05, 4), "h = 0.1 vs 0.05")
