"""Parameter sweeps: many design points of one config, run in parallel on Dask, resumable.

The flow: a sweep file (:mod:`.spec`: base config, ``[grid]``, ``[[points]]``, dotted keys)
-> validated points -> the runner (:mod:`.runner`: Dask client, signals, locks) -> each
point in a worker (:mod:`.worker`) -> its file and a row of the index (:mod:`.index`:
``index.csv``, ``index.h5``). ``circuit-sim sweep`` is :mod:`.cli`.

This package is also the Dask preload of the sweep workers (``dask worker ADDRESS --nthreads
1 --preload circuit_sim.sweep``): :func:`dask_setup`.
"""

from .cli import add_sweep_arguments, cmd_sweep, main
from .index import SweepIndex, read_index
from .runner import run_sweep
from .spec import Sweep, SweepError, SweepPoint, expand_sweep, load_sweep
from .worker import dask_setup, run_point

__all__ = ["SweepError", "SweepPoint", "Sweep", "SweepIndex", "load_sweep", "expand_sweep",
           "run_sweep", "read_index", "run_point", "dask_setup", "cmd_sweep",
           "add_sweep_arguments", "main"]
