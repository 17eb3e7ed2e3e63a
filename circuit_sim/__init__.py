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
           "dictionary_recovery", "__version__"]
