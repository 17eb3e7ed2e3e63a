"""At T = 0 the Brian2 circuit follows the numpy reference Euler trajectory to 1e-10.

The circuit's state update is Euler with h = dt/tau_u; the reference is
``models.euler_maruyama(..., temperature=0)``. Any difference in the force (threshold,
crossbar sums, scheduling of s / r / drive within a step, units) shows up here.
"""

import numpy as np
import pytest

import models
from circuit_sim import run_inference

from ._configs import make_config

CASES = {
    "laplace": dict(prior="laplace", pi=0.3, positive=False),
    "positive": dict(prior="laplace", pi=0.3, positive=True),
    "gaussian": dict(prior="gaussian", pi=None, positive=False, prior_variance=2.0),
}


def _noiseless(case: str, backend: str, crossbar: str = "auto"):
    m = {"n_features": 3, "n_components": 4, "sigma": 0.5, **CASES[case],
         "dictionary": [[1.0, 0.6, -0.3, 0.2], [0.0, 0.8, 0.5, -0.7], [0.2, 0.0, 0.8, 0.6]]}
    return make_config(model=m, input={"x": [3.0, -2.0, 2.5]}, noise=[],
                       run={"duration": "6 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                            "backend": backend, "u_init": [1.9, -2.3, 0.4, 3.1],
                            "crossbar": crossbar})


def check_trajectory(case: str, backend: str, n_steps: int = 300, crossbar: str = "auto"):
    cfg = _noiseless(case, backend, crossbar)
    from dataclasses import replace
    cfg = replace(cfg, run=replace(cfg.run, duration=n_steps * 0.4e-9))
    res = run_inference(cfg)
    model = cfg.build_model()
    h = 0.4e-9 / cfg.circuit.tau_u
    ref = models.euler_maruyama(model, cfg.x, np.array([cfg.run.u_init]), n_steps=n_steps,
                                step=h, temperature=0.0)[:, 0, :]
    _compare(res, ref, model, h)


def _compare(res, ref, model, h: float, max_chatter: float = 0.6) -> None:
    assert res.u.shape == ref.shape
    # the dynamics must be non-trivial: units cross the threshold / move by O(1)
    assert np.max(np.abs(ref[-1] - ref[0])) > 0.5
    # the code s = h(u) is identical everywhere
    np.testing.assert_allclose(res.s, models.soft_threshold(ref, model.u0, model.positive)
                               if model.prior == "laplace" else ref, rtol=0, atol=1e-10)
    if model.prior == "laplace":
        # Inside the dead zone (|u| <= u0) only the prior pull -lam sign(u) acts, and Euler
        # makes u chatter around 0 with amplitude lam*h: there a rounding difference of
        # 1e-17 flips sign(u). That cannot leak out (h'(u) = 0 there, s = 0), so away from
        # the chatter band u must agree to 1e-10, and within it to the band's width.
        band = 2 * model.lam * h
        chatter = (np.abs(ref) < band) & (np.abs(res.u) < band)
        np.testing.assert_allclose(res.u[~chatter], ref[~chatter], rtol=0, atol=1e-10)
        assert np.all(np.abs(res.u[chatter] - ref[chatter]) <= band + 1e-10)
        assert chatter.mean() < max_chatter  # the rest compared to 1e-10
    else:
        np.testing.assert_allclose(res.u, ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.dictionary, model.dictionary, rtol=0, atol=1e-14)


@pytest.mark.parametrize("crossbar", ["summed", "dense"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_numpy_backend_matches_reference_at_T0(case, crossbar):
    check_trajectory(case, "numpy", crossbar=crossbar)


@pytest.mark.slow
@pytest.mark.parametrize("crossbar", ["summed", "dense"])
@pytest.mark.parametrize("backend", ["cython", "standalone"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_backends_match_reference_at_T0(case, backend, crossbar):
    """Every backend and both crossbar paths (the dense kernel is the standalone default)."""
    check_trajectory(case, backend, crossbar=crossbar)


@pytest.mark.slow
def test_dense_kernel_with_row_blocks_and_both_branches_matches_reference_at_T0():
    """N = 9, M = 100 on standalone: the one-pass kernel's four-row blocks and its odd row, and
    both of its branches (a product over every column from 4 active units on, over the active
    ones below), follow the reference to 1e-10; the trajectory is checked to visit both."""
    rng = np.random.default_rng(5)
    n, m, n_steps = 9, 100, 400
    phi = rng.normal(size=(n, m))
    phi *= 0.4 / np.linalg.norm(phi, axis=0)  # lambda_max about 11: h = 0.04 is stable
    u_init = np.where(rng.random(m) < 0.15, rng.normal(0.0, 3.0, m), 0.0)
    mod = {"n_features": n, "n_components": m, "sigma": 0.5, "prior": "laplace", "pi": 0.3,
           "lam": 1.0, "dictionary": phi.tolist()}
    cfg = make_config(model=mod, input={"x": rng.normal(0.0, 0.5, n).tolist()}, noise=[],
                      run={"duration": f"{n_steps * 0.4e-9!r} s", "dt": "0.4 ns",
                           "record_every": "0.4 ns", "backend": "standalone",
                           "u_init": u_init.tolist(), "crossbar": "dense"})
    model = cfg.build_model()
    h = 0.4e-9 / cfg.circuit.tau_u
    ref = models.euler_maruyama(model, cfg.x, u_init[None], n_steps=n_steps, step=h,
                                temperature=0.0)[:, 0, :]
    active = np.sum(np.abs(ref) > model.u0, axis=1)
    assert np.any(active >= 4) and np.any((active >= 1) & (active <= 3)), np.unique(active)
    assert active.sum() > 1000  # unit-steps off the chatter band, compared to 1e-10
    _compare(run_inference(cfg), ref, model, h, max_chatter=0.97)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_dense_kernel_asserts_its_connectivity_order(backend, monkeypatch):
    """The dense kernel reads g as a row-major N x M matrix; any other synapse order must
    stop the run instead of computing a wrong product. (On standalone the crossbar's own
    template makes the synapses, in that order, without index arrays: next test.)"""
    import circuit_sim.circuit.equations as equations

    # each residual's latents in reverse: the synapses of row-major order, in another order
    monkeypatch.setattr(equations, "ensemble_generator",
                        lambda n, m, *_: f"{m - 1} - k for k in range(0, {m})")
    cfg = _noiseless("laplace", backend, "dense")
    with pytest.raises(RuntimeError, match=r"dense crossbar: .*row-major order"):
        run_inference(cfg)


@pytest.mark.slow
@pytest.mark.parametrize("chains", [1, 2])
def test_standalone_dense_crossbar_is_made_without_index_arrays(tmp_path, chains):
    """On standalone the dense crossbar's synapses come from its own creation template: N M
    conductances per chip and no int32 pre-/postsynaptic index per synapse (8 B each, at
    (1024, 2048) 16.8 MB, as much as the weights), with Brian2's per-node synapse counts
    right (a chip's first chain has the synapses, the other chains' nodes none). The
    products and the dictionary read back are checked at T = 0 by the trajectory tests."""
    from dataclasses import replace

    cfg = _noiseless("laplace", "standalone", "dense")
    cfg = replace(cfg, run=replace(cfg.run, chains=chains))
    res = run_inference(cfg, build_dir=str(tmp_path / "out"))
    np.testing.assert_allclose(res.dictionary, cfg.build_model().dictionary, rtol=0, atol=1e-14)
    results = tmp_path / "out" / "results"

    def stored(name: str, dtype) -> np.ndarray:
        (path,) = results.glob(f"_dynamic_array_crossbar_{name}_*")
        return np.fromfile(path, dtype=dtype)

    n, m = 3, 4
    assert stored("_synaptic_pre", np.int32).size == 0
    assert stored("_synaptic_post", np.int32).size == 0
    assert stored("g", np.float64).size == n * m
    others = chains - 1
    np.testing.assert_array_equal(stored("N_outgoing", np.int32), [n] * m + [0] * (m * others))
    np.testing.assert_array_equal(stored("N_incoming", np.int32), [m] * n + [0] * (n * others))
