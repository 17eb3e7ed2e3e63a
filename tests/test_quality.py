"""Quality metrics of a run (issue: hardware studies): the posterior error against a MALA
reference where no exact posterior is computable, and the activity bias."""

import h5py
import numpy as np

import models
from circuit_sim import Config, run_inference

from ._configs import base_dict

PHI = models.random_dictionary(6, 8, np.random.default_rng(2))


def _slab_8(fill_to: float):
    d = base_dict(model={"n_features": 6, "n_components": 8, "dictionary": PHI.tolist(), "pi": 0.3},
                  input={"x": [0.5, -0.3, 0.8, 0.1, -0.6, 0.2]},
                  noise=[{"kind": "thermal"}, {"kind": "injected", "fill_to": fill_to}],
                  run={"duration": "20 us", "dt": None, "record_every": "2 ns",
                       "integrator": "leimkuhler_matthews"})
    return Config.from_dict(d)


def test_posterior_error_against_mala_grows_with_the_temperature_error(tmp_path):
    """8 units (no grid, no closed form): the circuit at T_eff = 1 agrees with MALA to the
    noise floor of a TV estimate from its ESS; at T_eff = 1.5 the error is several times
    larger (measured 0.029 vs 0.106)."""
    good = run_inference(_slab_8(1.0))
    hot = run_inference(_slab_8(1.5))
    g, h = good.metrics, hot.metrics
    assert g["mala_acceptance"] > 0.5 and g["mala_samples"] > 10000
    # noise floor: E[TV] of the atom + 20 slab bins (equal mass) at the circuit's ESS
    a = g["activity"]
    p = np.concatenate([[1 - a], np.full(20, a / 20)])
    floor = models.expected_total_variation(p, g["ess"])
    assert g["posterior_error"] < 2 * floor < h["posterior_error"], (g["posterior_error"], floor,
                                                                      h["posterior_error"])
    assert h["posterior_error"] > 2.5 * g["posterior_error"], (h["posterior_error"], g["posterior_error"])
    assert h["activity"] > g["activity"]  # hotter: more units leave the dead zone
    assert g["activity_bias"] == g["activity"] / 0.3 - 1
    with h5py.File(good.to_hdf5(tmp_path / "q.h5")) as f:
        for key in ("posterior_error", "activity_bias", "ess_per_second", "T_eff"):
            assert key in f["metrics"].attrs
