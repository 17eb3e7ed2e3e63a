"""Input streams for learning: where the patches come from and when each one arrives.

A stream is ``n_patches`` inputs ``x_k`` (N,) presented in turn. Patch ``k`` is replaced at
its switch time: every ``hold`` (``synchronous``) or after an exponentially distributed
hold of mean ``hold`` (``poisson``: the switches form a Poisson process of rate 1/hold, no
global clock). Natural images are :mod:`.images`. Both the patches and the switch times are deterministic functions of the
seed and the patch index, generated in blocks of :data:`BLOCK` patches, so that a long
run never holds the whole stream in memory and a resumed run sees exactly the same data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import models

from .. import seeds
from ..errors import ConfigError
from .images import ImagesSource

#: Patches are generated / read in blocks of this many.
BLOCK = 4096


class PatchSource:
    """A source of patches: ``block(b)`` returns patches ``b*BLOCK ...`` (rows, flattened)."""

    n_features: int
    true_dictionary: np.ndarray | None = None

    def block(self, b: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class BarsSource(PatchSource):
    """Bars images drawn from the spike-and-slab model (SPEC section 6)."""

    def __init__(self, size: int, *, pi: float, lam: float, sigma: float, positive: bool,
                 seed: int):
        self.size, self.pi, self.lam, self.sigma, self.positive = size, pi, lam, sigma, positive
        self.seed = seed
        self.n_features = size * size
        self.true_dictionary = models.bars_dictionary(size)

    def block(self, b: int) -> np.ndarray:
        rng = seeds.rng(self.seed, "data", b)
        x, _ = models.bars_data(BLOCK, rng, size=self.size, pi=self.pi, lam=self.lam,
                                sigma=self.sigma, positive=self.positive)
        return x


class ArraySource(PatchSource):
    """Patches from a user's file: ``.npy`` (K, N) or HDF5 (dataset ``patches``, (K, N)),
    memory-mapped / read one block at a time; presented in file order, cycling."""

    def __init__(self, path: str, n_features: int, field: str = "input.path"):
        p = Path(path)
        if not p.is_file():
            raise ConfigError(field, "an existing .npy or HDF5 file of patches", str(path))
        self.path, self.n_features = p, n_features
        if p.suffix == ".npy":
            try:
                arr = np.load(p, mmap_mode="r")
            except (ValueError, OSError) as exc:
                raise ConfigError(field, "a .npy array of patches (K, N)", f"{path} ({exc})") from None
            self._get = lambda a, b: np.asarray(arr[a:b], dtype=float)
            shape = arr.shape
        else:
            from ..results.hdf5 import open_patches

            self._get, shape = open_patches(p, field)
        if len(shape) != 2 or shape[1] != n_features or shape[0] < 1:
            raise ConfigError(field, f"an array of patches of shape (K, model.n_features = "
                              f"{n_features})", f"shape {tuple(shape)} in {path}")
        self.n_total = shape[0]

    def block(self, b: int) -> np.ndarray:
        idx = (np.arange(b * BLOCK, (b + 1) * BLOCK)) % self.n_total
        start = idx[0]
        out = np.empty((BLOCK, self.n_features))
        done = 0
        while done < BLOCK:  # contiguous runs (wrapping at the end of the file)
            stop = min(self.n_total, start + BLOCK - done)
            chunk = self._get(start, stop)
            out[done:done + len(chunk)] = chunk
            done += len(chunk)
            start = 0
        if not np.all(np.isfinite(out)):
            raise ConfigError("input.path", "finite patch values", f"non-finite values in {self.path}")
        return out


class Schedule:
    """When each patch arrives: ``switch_times(a, b)`` for patches ``a..b-1``, in s.

    Patch ``k`` is presented on ``[start_k, start_{k+1})``; ``start_0 = 0``. The circuit's
    input stage replaces patch ``k`` by ``k+1`` at the first step with ``t >= start_{k+1}``.
    """

    def __init__(self, n_patches: int, hold: float, presentation: str, seed: int):
        self.n_patches, self.hold, self.presentation, self.seed = n_patches, hold, presentation, seed
        if presentation == "synchronous":
            self._ends = None
        else:
            holds = np.concatenate([
                seeds.rng(seed, "schedule", b).exponential(hold, size=BLOCK)
                for b in range(math.ceil(n_patches / BLOCK))])[:n_patches]
            self._ends = np.cumsum(holds)  # 8 bytes per patch

    def end(self, k: np.ndarray) -> np.ndarray:
        """End of the presentation of patches ``k`` (s); ``inf`` after the last patch."""
        k = np.asarray(k)
        if self._ends is None:
            out = (k + 1.0) * self.hold
        else:
            out = self._ends[np.minimum(k, self.n_patches - 1)]
        return np.where(k >= self.n_patches - 1, np.inf, out)

    @property
    def duration(self) -> float:
        """Time to present every patch once (s)."""
        return float(self.n_patches * self.hold if self._ends is None else self._ends[-1])

    def index_at(self, t: float, dt: float) -> int:
        """Index of the patch the circuit presents at step time ``t`` (same rule as the circuit:
        the patch advances at the first step with ``t >= end``)."""
        if self._ends is None:
            k = int(math.floor(t / self.hold + 1e-9))
            # the circuit compares t >= (k+1) hold with t = n dt: mirror it exactly
            while k > 0 and not (t >= k * self.hold):
                k -= 1
            while t >= (k + 1) * self.hold:
                k += 1
            return min(k, self.n_patches - 1)
        return int(min(np.searchsorted(self._ends, t, side="right"), self.n_patches - 1))


class Stream:
    """Patches and their schedule; :meth:`window` gives what one run segment needs."""

    def __init__(self, source: PatchSource, schedule: Schedule):
        self.source, self.schedule = source, schedule
        self._cache: dict[int, np.ndarray] = {}

    def patches(self, a: int, b: int) -> np.ndarray:
        """Patches ``a..b-1`` (rows), reading at most the blocks that hold them."""
        out = np.empty((b - a, self.source.n_features))
        for blk in range(a // BLOCK, (b - 1) // BLOCK + 1):
            if blk not in self._cache:
                if len(self._cache) > 2:  # keep memory flat: at most a few blocks
                    self._cache.pop(next(iter(self._cache)))
                self._cache[blk] = self.source.block(blk)
            lo, hi = max(a, blk * BLOCK), min(b, (blk + 1) * BLOCK)
            out[lo - a:hi - a] = self._cache[blk][lo - blk * BLOCK:hi - blk * BLOCK]
        return out

    def window(self, t0: float, t1: float, dt: float) -> tuple[int, np.ndarray, np.ndarray]:
        """The patches presented during ``[t0, t1)``: first index, patches (K, N) and their end
        times (K,), ``inf`` for the last patch of the stream."""
        k0 = self.schedule.index_at(t0, dt)
        k1 = self.schedule.index_at(max(t1 - dt, t0), dt)
        ks = np.arange(k0, k1 + 1)
        return k0, self.patches(k0, k1 + 1), self.schedule.end(ks)


def check_fixed_input(design) -> None:
    """Refuse (ConfigError naming ``input.kind``) to run inference on one fixed input for a
    design whose input is a stream: the stream is presented, patch after patch, only by the
    learning runner (``circuit-sim learn``, :func:`circuit_sim.run_learning`), which also
    runs inference on a stream when there is no ``[learning]``."""
    if design.is_stream:
        inp = design.config.input
        what = "learning" if design.config.learning is not None else "inference on the stream"
        raise ConfigError("input.kind", "a fixed input (input.x) for `circuit-sim infer` / "
                          f"run_inference; this config's stream of {inp.n_patches} patches "
                          f"is run by `circuit-sim learn` / run_learning ({what}: snapshots "
                          "of the activity and reconstruction error over the stream)", inp.kind)


def make_stream(inp, model, seed: int, schedule: Schedule) -> Stream:
    """The input stream of ``[input]`` (``inp``: kind bars / file / images) for the model
    section ``model`` (its pi, lam, sigma, positive are the bars' defaults)."""
    if inp.kind == "bars":
        src = BarsSource(inp.patch_size, pi=inp.data_pi if inp.data_pi is not None else model.pi,
                         lam=inp.data_lam if inp.data_lam is not None else model.lam,
                         sigma=inp.data_sigma if inp.data_sigma is not None else model.sigma,
                         positive=model.positive, seed=seed)
    elif inp.kind == "file":
        src = ArraySource(inp.path, model.n_features)
    elif inp.kind == "images":
        src = ImagesSource(inp.patch_size, seed, inp.path)
    else:
        raise ConfigError("input.kind", "a stream kind (\"bars\", \"file\", \"images\")", inp.kind)
    return Stream(src, schedule)
