"""circuit-sim: an analog chip that samples sparse-code posteriors with its own noise.

The flow: config (:mod:`.config`, TOML in and out) -> design (:mod:`.design`, everything
derived, once) -> circuit (:mod:`.circuit`, the only Brian2 code) -> run (:mod:`.run`) ->
results (:mod:`.results`: data, metrics, HDF5, figures, text). Sweeps: :mod:`.sweep`;
ngspice export: :mod:`.spice`; command line: :mod:`.cli`.

Public API
----------
load_config, loads_config, Config
    Read and validate a TOML design (units parsed once; :class:`ConfigError` otherwise).
resolve, Design
    The resolved design of a config (``cfg.design``).
run_inference
    Simulate the Brian2 circuit of a config and return an :class:`InferenceResult`.
InferenceResult
    SI arrays, figures of merit, ``to_hdf5`` and ``plot``.
run_learning, load_learning, plot_learning, dictionary_recovery
    Inference and plasticity on a stream of inputs, snapshots in HDF5; reading them back.
run_sweep, read_index, load_sweep
    Many design points of one config on Dask, resumable (:mod:`circuit_sim.sweep`).
export_spice
    An ngspice netlist of a small circuit (:mod:`circuit_sim.spice`).
atom_shapes, tiles_from_figure, draw_tiles
    Whether dictionary atoms are localised, oriented, band-pass edges; drawing them.
load_natural_images, default_photographs, whiten_images, radial_power, patch_radial_power,
random_patches
    The natural-image data: photographs or the user's files, whitening, spectra, patches.

Importing the package imports neither Brian2 nor Dask: each name loads its module on first
use (Brian2 when a circuit is built).
"""

__version__ = "0.1.0"

__all__ = ["ConfigError", "Config", "load_config", "loads_config", "resolve", "Design",
           "InferenceResult", "run_inference", "run_config_file", "run_learning",
           "load_learning", "plot_learning", "dictionary_recovery", "run_sweep", "read_index",
           "load_sweep", "export_spice", "atom_shapes", "tiles_from_figure", "draw_tiles",
           "load_natural_images", "default_photographs", "whiten_images", "radial_power",
           "patch_radial_power", "random_patches", "characterize", "effective_conductances",
           "cell_netlist", "run_cell_chip", "cell_mismatch", "characterize_synapse",
           "synapse_mismatch", "__version__"]

_LAZY = {"ConfigError": ("errors", "ConfigError"), "Config": ("config", "Config"),
         "load_config": ("config", "load_config"), "loads_config": ("config", "loads_config"),
         "resolve": ("design", "resolve"), "Design": ("design", "Design"),
         "InferenceResult": ("results", "InferenceResult"),
         "run_inference": ("run.inference", "run_inference"),
         "run_config_file": ("run.inference", "run_config_file"),
         "run_learning": ("run.learning", "run_learning"),
         "load_learning": ("results.hdf5", "load_learning"),
         "plot_learning": ("results.figures", "plot_learning"),
         "dictionary_recovery": ("results.learning", "dictionary_recovery"),
         "run_sweep": ("sweep", "run_sweep"), "read_index": ("sweep", "read_index"),
         "load_sweep": ("sweep", "load_sweep"), "export_spice": ("spice", "export_spice"),
         "atom_shapes": ("results.atoms", "atom_shapes"),
         "tiles_from_figure": ("results.atoms", "tiles_from_figure"),
         "draw_tiles": ("results.figures", "tiles"),
         "load_natural_images": ("design.images", "load_images"),
         "default_photographs": ("design.images", "default_photos"),
         "whiten_images": ("design.images", "whiten"),
         "radial_power": ("design.images", "radial_power"),
         "patch_radial_power": ("design.images", "patch_radial_power"),
         "random_patches": ("design.images", "random_patches"),
         "characterize": ("characterization", "characterize"),
         "effective_conductances": ("design.ir_drop", "effective_conductances"),
         "cell_netlist": ("spice_cells", "cell_netlist"),
         "run_cell_chip": ("spice_cells", "run_cell_chip"),
         "cell_mismatch": ("cell_mismatch", "cell_mismatch"),
         "characterize_synapse": ("synapse_cell", "characterize_synapse"),
         "synapse_mismatch": ("synapse_cell", "synapse_mismatch")}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'circuit_sim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
