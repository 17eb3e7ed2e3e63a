"""The HDF5 file of a learning run (its layout; part of :mod:`.hdf5`, the one owner of the
project's file layouts): groups ``snapshots`` and ``stats`` appended at every snapshot, the
resume ``state``, ``dictionary`` and ``true_dictionary``; atomic updates, fletcher32
checksums verified on every read."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .hdf5 import plain, write_design

STAT_DATASETS = (("t", (), "s"), ("activity", (), "1"), ("reconstruction_error", (), "1"),
                 ("energy", (), "1"), ("kl_prior", (), "nat"), ("hist_nonzero", None, "count"),
                 ("recovery_mean", (), "1"), ("recovery_min", (), "1"))


class LearningFile:
    """The HDF5 file of a learning run, updated atomically at every snapshot.

    The file is closed between snapshots. Each update (:meth:`update`) copies it to a
    temporary file next to it, appends there, flushes and fsyncs, and renames the copy over
    the original (``os.replace``): a crash or ``kill -9`` at any moment, an HDF5 write
    included, leaves either the file before the update or the one after it, never a
    half-written one, and no process holds it open (or locked) while the circuit runs.
    Every dataset is stored with HDF5's fletcher32 checksum, verified on every read
    (:func:`load_learning`, ``--resume``).
    """

    def __init__(self, path: Path, design, true_dict, resume: bool, hist_edges: np.ndarray):
        self.path = Path(path)
        self.f = None
        _remove_stale_copies(self.path)
        if resume:
            verify_learning_file(self.path, "--resume")
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            import h5py

            f = h5py.File(self.path, "w")
        except OSError as exc:  # locked by another process, open here, not writable, ...
            raise ConfigError("--out", "a writable HDF5 file that nothing else has open",
                              f"{self.path} ({exc})") from exc
        try:
            _create_learning(f, design, true_dict, hist_edges)
        finally:
            f.close()

    @contextlib.contextmanager
    def update(self):
        """Open the file for one atomic update (nested calls share it)."""
        import h5py

        if self.f is not None:  # inside an update already
            yield self.f
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.path, tmp)
        try:
            self.f = h5py.File(tmp, "r+")
            try:
                yield self.f
                _fault_point("hdf5-write")
            finally:
                self.f.close()
                self.f = None
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise

    def _read(self, fn):
        import h5py

        if self.f is not None:
            return fn(self.f)
        with h5py.File(self.path, "r") as f:
            return fn(f)

    # ---- resume
    def config_text(self) -> str:
        return self._read(lambda f: f.attrs["config"])

    def state(self) -> tuple[int, dict] | None:
        """``(next segment, saved circuit state)``, or None before the first snapshot."""
        def read(f):
            if "state" not in f:
                return None
            g = f["state"]
            return int(g.attrs["next_segment"]), {k: np.asarray(v[()]) for k, v in g.items()}
        return self._read(read)

    # ---- appending (inside update())
    def append(self, group: str, **values) -> None:
        with self.update() as f:
            g = f[group]
            for name, value in values.items():
                d = g[name]
                d.resize(d.shape[0] + 1, axis=0)
                d[-1] = value

    def write_state(self, state: dict, dictionary: np.ndarray, segment: int) -> None:
        with self.update() as f:
            if "state" in f:
                del f["state"]
            g = f.create_group("state")
            for k, v in state.items():
                _checked_dataset(g, k, np.asarray(v))
            g.attrs["next_segment"] = segment
            if "dictionary" in f:
                del f["dictionary"]
            _checked_dataset(f, "dictionary", dictionary).attrs["units"] = "1"

    def n_snapshots(self) -> int:
        return self._read(lambda f: int(f["snapshots/t"].shape[0]))

    def abandon(self) -> None:
        """Leave the file as it is (nothing is open between updates)."""

    def close(self, complete: bool, interrupted: bool, wall_time: float) -> None:
        with self.update() as f:
            a = f.attrs
            a["interrupted"] = interrupted
            a["wall_time"] = wall_time + float(a.get("wall_time", 0.0))
            a["complete"] = complete


def _create_learning(f, design, true_dict, hist_edges) -> None:
    write_design(f, design)
    a = f.attrs
    a["dynamics"] = design.dynamics
    a["learning"] = design.learning is not None
    a["complete"] = False
    n, m = design.n_features, design.n_components
    # an ensemble: chains sharing a chip's plasticity pooled; several learners (chips, or
    # with learning.share = "none" every chain), one entry per learner (its own dictionary)
    k = 1 if design.ensemble is None else design.ensemble.learners_per_chip
    a["chains"], a["chips"] = design.chains * k, design.chips // k
    a["learners"] = design.chips
    a["share"] = "chains" if k == 1 else "none"
    if design.config.run.seeds is not None:  # a batch of seeds: chip c is seed c's run
        a["seeds"] = np.asarray(design.config.run.seeds, dtype=np.int64)
    per = (design.chips,) if design.chips > 1 else ()
    g = f.create_group("snapshots")
    for name, shape, units in (("t", (), "s"), ("dictionary", (*per, n, m), "1"),
                               ("u0", (*per, m), "1"), ("patches_seen", (), "1")):
        d = g.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=float,
                             chunks=(1, *shape) if shape else (256,), fletcher32=True)
        d.attrs["units"] = units
    s = f.create_group("stats")
    for name, shape, units in STAT_DATASETS:
        shape = (len(hist_edges) - 1,) if shape is None else shape
        shape = shape if name == "t" else (*per, *shape)
        d = s.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=float,
                             chunks=(1, *shape) if shape else (256,), fletcher32=True)
        d.attrs["units"] = units
    s["hist_nonzero"].attrs["edges_times_lambda"] = hist_edges
    if true_dict is not None:
        _checked_dataset(f, "true_dictionary", true_dict).attrs["units"] = "1"


def _checked_dataset(g, name: str, data: np.ndarray):
    """A dataset with a fletcher32 checksum (chunked; scalars and empty arrays cannot be)."""
    data = np.asarray(data)
    if data.ndim and data.size:
        return g.create_dataset(name, data=data, fletcher32=True)
    return g.create_dataset(name, data=data)


def _remove_stale_copies(path: Path) -> None:
    """Delete the temporary copies a killed update left next to ``path``."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(stale.name.rsplit(".", 2)[-2])
            if pid == os.getpid() or not _alive(pid):
                stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fault_point(name: str) -> None:
    """Testing hook (tests/test_faults.py): with ``CIRCUIT_SIM_FAULT=name:k`` in the
    environment, the process kills itself (SIGKILL) at the k-th time it passes ``name``."""
    spec = os.environ.get("CIRCUIT_SIM_FAULT", "")
    if not spec.startswith(name + ":"):
        return
    _FAULT_COUNT[name] = _FAULT_COUNT.get(name, 0) + 1
    if _FAULT_COUNT[name] == int(spec.split(":")[1]):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


_FAULT_COUNT: dict = {}


def verify_learning_file(path, option: str) -> None:
    """ConfigError naming ``option`` unless ``path`` is a learning file whose every dataset
    reads back and passes its checksum."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise ConfigError(option, "an existing learning HDF5 file", f"{path} (not found)")
    if not path.is_file():
        raise ConfigError(option, "a learning HDF5 file", f"{path} (a directory)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ConfigError(option, "an HDF5 file written by circuit-sim learn",
                          f"{path} (not readable as HDF5: {_short(exc)})") from None
    with f:
        if "snapshots" not in f or "stats" not in f or "config" not in f.attrs:
            raise ConfigError(option, "a file written by circuit-sim learn (snapshots/, stats/)",
                              f"{path} (an HDF5 file with {', '.join(f.keys()) or 'nothing'})")
        _read_all(f, path, option)


def _short(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:160]


def _read_all(f, path, option: str) -> dict:
    """Every dataset of ``f`` read (checksums verified): ``{name: array}``."""
    import h5py

    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            try:
                out[name] = obj[()]
            except OSError as exc:
                raise ConfigError(option, "an intact learning file (every dataset passes its "
                                  "checksum)", f"{path} (dataset {name} is damaged: "
                                  f"{_short(exc)})") from None

    try:
        f.visititems(visit)
    except ConfigError:
        raise
    except (OSError, RuntimeError, KeyError) as exc:
        raise ConfigError(option, "an intact learning file", f"{path} ({_short(exc)})") from None
    return out


def learning_progress(path) -> tuple[bool, int]:
    """``(finished, snapshots)`` of a learning file: finished when complete or interrupted."""
    import h5py

    with h5py.File(path, "r") as f:
        finished = bool(f.attrs["complete"]) or bool(f.attrs.get("interrupted", False))
        return finished, int(f["snapshots/t"].shape[0])


def load_learning(path) -> dict:
    """The arrays and attributes of a learning file (SI, as stored; every checksum verified).
    A file with no snapshot yet (a run stopped before its first) has zero-row arrays."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ConfigError("FILE.h5", "an existing learning HDF5 file", str(path))
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ConfigError("FILE.h5", "an HDF5 file written by circuit-sim learn", str(path)) from None
    with f:
        if "snapshots" not in f or "stats" not in f:
            raise ConfigError("FILE.h5", "a file written by circuit-sim learn (snapshots/, stats/)",
                              str(path))
        data = _read_all(f, path, "FILE.h5")
        attrs = {k: plain(v) for k, v in f.attrs.items()}
        edges = f["stats"]["hist_nonzero"].attrs.get("edges_times_lambda") \
            if "hist_nonzero" in f["stats"] else None
    group = {g: {k.split("/", 1)[1]: v for k, v in data.items() if k.startswith(g + "/")}
             for g in ("snapshots", "stats")}
    for name in ("t", "dictionary", "u0", "patches_seen"):
        group["snapshots"].setdefault(name, np.zeros(0))
    for name, _, _ in STAT_DATASETS:
        group["stats"].setdefault(name, np.zeros(0))
    return {"attrs": attrs, "snapshots": group["snapshots"], "stats": group["stats"],
            "hist_edges": edges,
            "dictionary": data.get("dictionary"), "true_dictionary": data.get("true_dictionary")}


def write_chip_learning(data: dict, c: int, design, path, batch: int) -> Path:
    """Chip ``c`` of a learning ensemble of several chips as the file of that chip run alone.

    Parameters
    ----------
    data : dict
        :func:`load_learning` of the ensemble's file (one learner per chip; with
        ``learning.share = "none"``, one per chain: chip ``c``'s are ``c K_c .. (c+1) K_c - 1``).
    c : int
        The chip's position in the ensemble.
    design : Design
        The chip alone (:meth:`circuit_sim.design.Design.chip_alone`).
    path : path-like
        The file to write: the layout of ``circuit-sim learn`` for one chip (its snapshots,
        statistics and final dictionary), tagged ``sweep_batch`` (chips in the network); no
        resume state (a sweep's point is run to its end).
    batch : int
        Chips in the ensemble.
    """
    import h5py

    path = Path(path)
    per = learners(data["attrs"]) // batch  # a chip's learners
    own = slice(c * per, (c + 1) * per) if per > 1 else c
    with h5py.File(path, "w") as f:
        _create_learning(f, design, data["true_dictionary"], data["hist_edges"])
        for group in ("snapshots", "stats"):
            for name, values in data[group].items():
                v = np.asarray(values)
                if name not in ("t", "patches_seen"):
                    v = v[:, own]
                d = f[group][name]
                d.resize(len(v), axis=0)
                d[...] = v
        if data["dictionary"] is not None:
            final = np.asarray(data["dictionary"])[own]
            _checked_dataset(f, "dictionary", final).attrs["units"] = "1"
        a, src = f.attrs, data["attrs"]
        a["complete"], a["interrupted"] = bool(src["complete"]), bool(src["interrupted"])
        a["wall_time"] = float(src.get("wall_time", float("nan"))) / batch
        a["sweep_batch"] = batch
    return path


def learners(attrs) -> int:
    """Learners of a learning file (``attrs``: its attributes): the length of the per-learner
    axis of its snapshots and statistics where it is more than 1 (chips; with
    ``learning.share = "none"`` chips x chains; files before the attribute: chips)."""
    return int(attrs.get("learners", attrs.get("chips", 1)))
