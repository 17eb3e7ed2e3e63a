"""Results: the data of a run (:class:`InferenceResult`), its figures of merit (pure
functions, :mod:`.metrics`, :mod:`.learning`), the one module that owns every HDF5 layout
(:mod:`.hdf5`), figures (:mod:`.figures`) and text (:mod:`.text`)."""

from .inference import InferenceResult, RunRecord
from .learning import HIST_EDGES, dictionary_recovery, slab_kl

__all__ = ["InferenceResult", "RunRecord", "HIST_EDGES", "dictionary_recovery", "slab_kl"]
