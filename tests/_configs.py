"""Config builders shared by the tests (plain dicts -> validated Config)."""

import copy

from circuit_sim import Config

DICT_2D = [[1.0, 0.6], [0.0, 0.8]]
X_2D = [0.9, 0.4]

# A 4-latent spike-and-slab posterior (N = 3, overlapping unit-norm atoms, pi = 0.3):
# the nonlinear check of tests/test_spice.py and the kink check of tests/test_kink.py.
_PHI_4 = [[1.0, 0.6, -0.3, 0.2], [0.0, 0.8, 0.5, -0.7], [0.2, 0.0, 0.8, 0.6]]
_NORMS = [sum(row[j] ** 2 for row in _PHI_4) ** 0.5 for j in range(4)]
DICT_4 = [[row[j] / _NORMS[j] for j in range(4)] for row in _PHI_4]
X_4 = [0.8, -0.4, 0.6]


def base_dict(**sections) -> dict:
    """A small valid config dict (2x2 spike-and-slab, 10 fF / 1 uS, injected fill to T = 1);
    each keyword replaces keys of one section (``noise`` replaces the whole list)."""
    d = {
        "model": {"n_features": 2, "n_components": 2, "prior": "laplace", "lam": 1.0, "pi": 0.3,
                  "sigma": 0.5, "dictionary": copy.deepcopy(DICT_2D)},
        "input": {"x": list(X_2D)},
        "circuit": {"capacitance": "10 fF", "transconductance": "1 uS",
                    "volts_per_unit": "10 mV", "temperature": "300 K"},
        "noise": [{"kind": "thermal"}, {"kind": "injected", "fill_to": 1.0}],
        "run": {"duration": "2 us", "dt": "0.2 ns", "record_every": "0.2 ns", "seed": 1,
                "backend": "numpy"},
    }
    for name, value in sections.items():
        if name == "noise":
            d["noise"] = value
        else:
            d[name] = {**d.get(name, {}), **value}
            for k in [k for k, v in d[name].items() if v is None]:
                del d[name][k]
    return d


def make_config(**sections) -> Config:
    return Config.from_dict(base_dict(**sections))
