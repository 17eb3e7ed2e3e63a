"""Every HDF5 layout of the project, read and written here and nowhere else.

* an inference run (``circuit-sim infer``): sample datasets ``t``, ``v``, ``u``, ``s`` (and
  ``u0_trace``), ``x``, ``dictionary``, ``u0``, groups ``noise_budget``, ``devices``,
  ``metrics``, ``design``, and the run's attributes (:func:`write_inference`,
  :class:`InferenceWriter`);
* a learning run (``circuit-sim learn``): groups ``snapshots`` and ``stats`` appended at
  every snapshot (atomically), the resume ``state``, ``dictionary`` and ``true_dictionary``,
  every dataset checksummed: :mod:`.learning_file` (its own module for its size; re-exported
  here: :class:`LearningFile`, :func:`load_learning`);
* a sweep: ``index.h5`` (one dataset per column) and the ``sweep_*`` attributes of a
  point's file (:func:`write_index`, :func:`read_index_file`, :func:`tag_point`,
  :func:`point_tags`);
* an input file of patches (dataset ``patches``, (K, N)): :func:`open_patches`.

Arrays are SI with a ``units`` attribute; every run file carries the resolved config, the
seed and its derivation scheme (``seed_scheme``), the package version and git revision.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import subprocess
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError
from ..seeds import SCHEME_VERSION

#: The recorded-sample datasets of a run's file and their units (``u0_trace`` only when the
#: thresholds are learned).
SAMPLE_UNITS = {"t": "s", "u": "1", "s": "1", "v": "V", "u0_trace": "1"}
DEVICE_UNITS = {"gm_rel": "1", "c_rel": "1", "threshold_offset": "V", "transconductor_offset": "V",
                "weight_gain": "1",
                "weight_offset": "1 (units of Phi)",
                "drift_rate": "1/s (units of Phi per second)"}


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The git revision of the package's checkout, or ``"unknown"``."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def check_output_path(path, field: str, *, directory: bool = False) -> Path:
    """ConfigError naming ``field`` unless ``path`` can be written (checked before a run, so
    that a bad ``--out`` is not found after the work): not an existing directory (or, with
    ``directory=True``, not an existing file), under folders that exist or can be made, in
    a writable place."""
    path = Path(path)
    kind = "a folder" if directory else "a file"
    if path.exists():
        if directory and not path.is_dir():
            raise ConfigError(field, "a folder (or a path where one can be made)",
                              f"{path} (an existing file)")
        if not directory and path.is_dir():
            raise ConfigError(field, "a file path", f"{path} (an existing directory)")
        if not os.access(path, os.W_OK):
            raise ConfigError(field, f"{kind} this user can write", f"{path} (read-only)")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(field, f"{kind} path whose folders can be made",
                          f"{path} ({parent} is a file)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(field, f"{kind} in a folder this user can write",
                          f"{path} ({parent} is not writable)")
    return path


def _new_file(path):
    """A new HDF5 file at ``path`` (parent folders created), open for writing."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return h5py.File(path, "w")


def _dataset(g, name: str, data, units: str):
    d = g.create_dataset(name, data=data)
    d.attrs["units"] = units
    return d


# --------------------------------------------------------------------------- the design
def write_design(f, design) -> None:
    """What a run used, from its design: provenance attributes and a ``design`` group
    (step, strides, integrator, crossbar, the noise amplitudes the nodes were driven with)."""
    cfg = design.config
    a = f.attrs
    a["config"] = design.to_toml()
    if cfg.source is not None:
        a["config_original"] = cfg.source
    a["seed"], a["seed_scheme"] = design.seed, SCHEME_VERSION
    a["version"], a["git_revision"] = __version__, git_revision()
    a["backend"], a["integrator"] = design.backend, design.integrator
    a["integrator_description"] = design.integrator_description
    a["T_eff"], a["tau_u"], a["dt"] = design.T_eff, design.tau_u, design.dt
    if design.learning is not None:
        a["plasticity_dt"] = design.timestep.plasticity_stride * design.dt
        a["plasticity_stride"] = design.timestep.plasticity_stride
    g = f.require_group("design")
    ts = design.timestep
    for key, value in (("dt", ts.dt), ("h", ts.h), ("lambda_max", ts.lambda_max),
                       ("h_limit", ts.h_limit), ("n_steps", ts.n_steps),
                       ("record_stride", ts.record_stride),
                       ("plasticity_stride", ts.plasticity_stride), ("crossbar", design.crossbar),
                       ("dt_automatic", ts.auto), ("dynamics", design.dynamics),
                       ("noise_active", design.noise.active)):
        g.attrs[key] = value
    if design.noise.white_amplitude is not None:
        _dataset(g, "white_noise_amplitude", design.noise.white_amplitude, "A s^0.5")
    for k, (taus, sds) in enumerate(design.noise.flicker):
        _dataset(g, f"flicker_{k}_tau", taus, "s")
        _dataset(g, f"flicker_{k}_sd", sds, "A")


def _write_budget(f, budget) -> None:
    g = f.create_group("noise_budget")
    entries = budget.entries
    _dataset(g, "source", np.array([e.name for e in entries], dtype="S"), "")
    _dataset(g, "kind", np.array([e.kind for e in entries], dtype="S"), "")
    for name, vals, units in (("psd", [e.psd for e in entries], "A^2/Hz"),
                              ("T_eff", [e.T_eff for e in entries], "1"),
                              ("share", [e.share for e in entries], "1")):
        _dataset(g, name, np.array(vals, dtype=float), units)
    g.attrs["total_psd"] = budget.total_psd
    g.attrs["T_eff"] = budget.T_eff


def _write_devices(f, devices: dict) -> None:
    dg = f.create_group("devices")
    dg.attrs["description"] = ("this chip's fixed variations, drawn from run.seed "
                               "(circuit_sim.design.devices)")
    for name, arr in devices.items():
        _dataset(dg, name, arr, DEVICE_UNITS.get(name, ""))


def write_metadata(f, res) -> None:
    """Everything of an inference file but the sample datasets, into the open file ``f``."""
    _dataset(f, "x", res.x, "1")
    _dataset(f, "dictionary", res.dictionary, "1")
    if res.u0_final is not None:
        _dataset(f, "u0", res.u0_final, "1")
    _write_budget(f, res.budget)
    if res.devices is not None:
        _write_devices(f, res.devices)
    mg = f.create_group("metrics")
    for k, v in res.metrics.items():
        mg.attrs[k] = v
    if res.chip_metrics:
        cg = f.create_group("chips")
        cg.attrs["description"] = ("each chip's figures of merit (its chains pooled); the "
                                   "metrics group holds their median and 10th/90th percentiles")
        for k, v in res.chip_metrics.items():
            _dataset(cg, k, v, {"energy_per_sample": "J", "autocorrelation_time": "s"}.get(k, "1"))
    write_design(f, res.design)
    a = f.attrs
    a["burn_in"], a["interrupted"] = res.burn_in, res.interrupted
    a["wall_time"], a["run_time"] = res.wall_time, res.run_time
    d = res.design
    if d.copies > 1:  # sample datasets are (samples, copies, M); copy q = chain q % chains
        a["chains"], a["chips"], a["sample_axes"] = d.chains, d.chips, "samples, copy, unit"


def write_inference(res, path) -> Path:
    """Write an inference result to one HDF5 file (the public layout in the README)."""
    path = Path(path)
    f = _new_file(path)
    try:
        for name, units in SAMPLE_UNITS.items():
            if getattr(res, name) is not None:
                _dataset(f, name, getattr(res, name), units)
        write_metadata(f, res)
    finally:
        f.close()
    return path


class BackgroundWriter:
    """An open HDF5 file whose bulk datasets are filled on a background thread.

    :meth:`dataset` creates each dataset at once (contiguous, its space allocated in the
    file, no fill value written) and queues its bytes; one thread writes them at the
    dataset's offset with ``os.pwrite``, which releases the GIL (h5py's own writes hold
    it), so the caller's numpy work runs on another core meanwhile. The file is an ordinary
    HDF5 file: the raw bytes of a contiguous dataset of the array's own dtype are the
    array's bytes. h5py is used from the calling thread only.
    """

    CHUNK_BYTES = 1 << 26  # bytes per pwrite call

    def __init__(self, path):
        self.f = _new_file(path)
        self.error = None
        self._fd = os.open(self.f.filename, os.O_WRONLY)
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="circuit_sim-hdf5", daemon=True)
        self._thread.start()

    def dataset(self, name: str, data: np.ndarray) -> None:
        """Create sample dataset ``name`` (units from :data:`SAMPLE_UNITS`) and queue its bytes."""
        import h5py

        if data is None:
            return
        data = np.ascontiguousarray(data)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.CONTIGUOUS)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        d = self.f.create_dataset(name, shape=data.shape, dtype=data.dtype, dcpl=dcpl)
        d.attrs["units"] = SAMPLE_UNITS[name]
        offset = d.id.get_offset()
        if data.nbytes and offset is None:  # not allocated after all: write it here
            d[...] = data
        elif data.nbytes:
            self._queue.put((offset, data))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue
            offset, data = item
            try:
                view = memoryview(data.reshape(-1).view(np.uint8))
                done = 0
                while done < len(view):
                    done += os.pwrite(self._fd, view[done:done + self.CHUNK_BYTES],
                                      offset + done)
            except BaseException as exc:  # noqa: BLE001 -- raised by finish()
                self.error = exc

    def finish(self, res=None) -> None:
        """Wait for the queued bytes, write ``res``'s metadata (if a result was made) and
        close the file. If a write failed (a full disk), the file, whose samples would read
        as zeros, is removed and the error raised."""
        self._queue.put(None)
        self._thread.join()
        os.close(self._fd)
        if self.error is not None:
            path = self.f.filename
            self.f.close()
            with contextlib.suppress(OSError):
                os.remove(path)
            raise self.error
        try:
            if res is not None:
                write_metadata(self.f, res)
        finally:
            self.f.close()


# --------------------------------------------------------------------------- sweeps
def plain(v):
    """numpy scalars / bytes from h5py attributes -> plain Python values."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def write_index(path, columns, rows, units: dict, attrs: dict, cell=str) -> None:
    """A sweep's ``index.h5``: one dataset per column (int64, float or string), with units;
    ``cell`` writes a value that is neither a number nor a string (a list: its JSON)."""
    import h5py

    with h5py.File(path, "w") as f:
        for c in columns:
            values = [r.get(c) for r in rows]
            if all(_is_number(v) or v is None for v in values):
                if values and all(isinstance(v, (int, np.integer)) for v in values):
                    data = np.array(values, dtype=np.int64)
                else:
                    data = np.array([np.nan if v is None else float(v) for v in values])
            else:
                data = np.array(["" if v is None else v if isinstance(v, str) else cell(v)
                                 for v in values], dtype=h5py.string_dtype())
            _dataset(f, c, data, units.get(c, ""))
        f.attrs["columns"] = np.array(columns, dtype=h5py.string_dtype())
        for k, v in attrs.items():
            f.attrs[k] = v


def read_index_file(path) -> tuple[list, list, dict, bool]:
    """``(columns, rows, units, interrupted)`` of a sweep's ``index.h5``."""
    import h5py

    with h5py.File(path, "r") as f:
        columns = [plain(c) for c in f.attrs["columns"]]
        data = {c: [plain(v) for v in f[c][()]] for c in columns}
        units = {c: plain(f[c].attrs.get("units", "")) for c in columns}
        interrupted = bool(f.attrs.get("interrupted", False))
    n = len(data[columns[0]]) if columns else 0
    return columns, [{c: data[c][i] for c in columns} for i in range(n)], units, interrupted


def tag_point(path, tags: dict) -> None:
    """Add a sweep point's attributes (its swept values and ``sweep_*``) to its file."""
    import h5py

    with h5py.File(path, "a") as f:
        for k, v in tags.items():
            f.attrs[k] = v


def point_tags(path) -> dict:
    """What a finished point's file says: its attributes, whether it is a learning file and
    its metrics (an inference file's ``metrics`` group; empty for a learning file)."""
    import h5py

    with h5py.File(path, "r") as f:
        learned = "metrics" not in f and "stats" in f
        return {"attrs": {k: plain(v) for k, v in f.attrs.items()}, "learned": learned,
                "has_metrics": "metrics" in f,
                "metrics": ({k: plain(v) for k, v in f["metrics"].attrs.items()}
                            if "metrics" in f else {})}


# --------------------------------------------------------------------------- input files
def open_patches(path: Path, field: str = "input.path"):
    """An HDF5 file of patches: ``(read(a, b) -> rows a..b-1, shape)`` of dataset ``patches``."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ConfigError(field, "a .npy or HDF5 file", str(path)) from None
    if "patches" not in f:
        raise ConfigError(field, "an HDF5 file with a dataset 'patches' (K, N)",
                          f"{path} (datasets: {', '.join(f.keys())})")
    ds = f["patches"]
    return (lambda a, b: np.asarray(ds[a:b], dtype=float)), ds.shape


from .learning_file import (STAT_DATASETS, LearningFile, learning_progress,  # noqa: E402,F401
                            load_learning, verify_learning_file)
