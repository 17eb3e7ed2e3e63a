"""Config builders shared by the tests (plain dicts -> validated Config)."""

import copy

from circuit_sim import Config

DICT_2D = [[1.0, 0.6], [0.0, 0.8]]
X_2D = [0.9, 0.4]


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
