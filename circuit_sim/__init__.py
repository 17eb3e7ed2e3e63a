"""circuit-sim: an analog chip that samples sparse-code posteriors with its own noise.

Public API
----------
load_config, loads_config, Config
    Read and validate a TOML design (units parsed once; :class:`ConfigError` otherwise).
run_inference
    Simulate the Brian2 circuit of a config and return an :class:`InferenceResult`.
InferenceResult
    SI arrays, figures of merit, ``to_hdf5`` and ``plot``.
run_learning, load_learning
    Inference and plasticity on a stream of inputs, snapshots in HDF5; reading them back.
run_sweep, read_index, load_sweep
    Many design points of one config on Dask, resumable (:mod:`circuit_sim.sweep`).
export_spice
    An ngspice netlist of a small circuit (:mod:`circuit_sim.spice`).
"""

__version__ = "0.1.0"

from .errors import ConfigError  # noqa: E402
from .config import Config, load_config, loads_config  # noqa: E402
from .result import InferenceResult  # noqa: E402
from .simulate import run_inference, run_config_file  # noqa: E402
from .learn import dictionary_recovery, run_learning  # noqa: E402
from .report import load_learning  # noqa: E402
from .report import plot as plot_learning  # noqa: E402

__all__ = ["ConfigError", "Config", "load_config", "loads_config", "InferenceResult",
           "run_inference", "run_config_file", "run_learning", "load_learning", "plot_learning",
           "dictionary_recovery", "run_sweep", "read_index", "load_sweep", "export_spice",
           "__version__"]

_LAZY = {"run_sweep": "sweep", "read_index": "sweep", "load_sweep": "sweep",
         "export_spice": "spice"}


def __getattr__(name):  # sweeps and SPICE export load on first use (Dask is heavy)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'circuit_sim' has no attribute {name!r}")
