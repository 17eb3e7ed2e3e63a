"""What a run will cost before it starts: steps, memory and wall time, and the guards that
refuse a run that cannot finish (unless ``run.force``).

The per-step cost of the circuit is close to ``a + b N M`` (the crossbar's two products and,
when learning, the plasticity equation every K steps): ``a`` per backend, ``b`` times a
backend factor. Fitted to ``benchmarks/results/run_all_F.txt`` (Brian2 2.9, one core of the
2-core development VM): standalone 0.7 us at (16, 32), 4.2 us at (64, 128), 37 us at
(256, 512) per step; per-synapse work on cython about 6x, numpy about 25x slower. The runtime
backends pay a fixed Python cost per step for every code object whatever the size: measured
186 us (numpy) and 277 us (cython) per step on the 8-latent ``slab_8.toml`` and 181 us (numpy)
on the 2-latent ``gaussian_2d.toml`` (the estimate was 10-90x low before this term). These are estimates for planning and guards (a run that
would take years, or a recording larger than the machine), not promises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigError
from noise.units import format_si

#: seconds per step on the standalone backend: a + b * N * M (synapses), plasticity extra c * N * M / K
STEP_B, STEP_PLASTICITY = 0.28e-9, 0.3e-9
#: seconds per step whatever the size (the runtime backends: Python per code object per step)
STEP_A = {"standalone": 0.5e-6, "cython": 270e-6, "numpy": 180e-6}
BACKEND_FACTOR = {"standalone": 1.0, "cython": 6.0, "numpy": 25.0}
#: seconds per step per node (latent and residual) of every copy: the per-unit state update
#: and noise draw (measured 12 ns standalone on 64 copies of slab_8's 14 nodes)
STEP_NODE = {"standalone": 12e-9, "cython": 15e-9, "numpy": 40e-9}
#: bytes per synapse of the crossbar in Brian2 (conductance, indices, bookkeeping) and the
#: dictionary's copy; bytes per unit of the latent nodes' variables
SYNAPSE_BYTES, UNIT_BYTES = 48, 400
#: a standalone learning chunk records at most this many bytes (run/learning.py)
LEARNING_CHUNK_BYTES = 256_000_000


def step_seconds(design) -> float:
    """Estimated wall seconds per simulated step of ``design`` on its backend."""
    nm = design.n_features * design.n_components
    t = STEP_B * nm * design.copies  # an ensemble: every copy's products
    if design.learning is not None:  # each chip's plasticity; shared by chains: their
        k = design.timestep.plasticity_stride  # averaged r s^T, one more product per copy
        t += (STEP_PLASTICITY * nm * design.chips
              + (STEP_B * nm * design.copies if design.chains > 1 else 0.0)) / k
    nodes = 0.0 if design.copies == 1 else \
        STEP_NODE[design.backend] * design.copies * (design.n_features + design.n_components)
    return STEP_A[design.backend] + t * BACKEND_FACTOR[design.backend] + nodes


def recording_bytes(design, n_steps: int | None = None) -> int:
    """Bytes of the recorded samples (``v``, and ``u0`` when learned; float64) of a run of
    ``n_steps`` (default: the design's), held in memory while it runs."""
    n_steps = design.timestep.n_steps if n_steps is None else n_steps
    samples = n_steps // design.timestep.record_stride + 1
    return samples * design.n_components * design.copies * 8 * (2 if design.learn_u0 else 1)


def network_bytes(n_features: int, n_components: int, chips: int = 1, copies: int = 1) -> int:
    """Bytes of the network's state: the crossbar and dictionary (one per chip), the units'
    variables (one set per copy)."""
    return (SYNAPSE_BYTES * n_features * n_components * chips
            + UNIT_BYTES * (n_components + n_features) * copies)


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to cost."""

    n_steps: int
    seconds: float          #: wall time
    network_bytes: int      #: the network's state
    sample_bytes: int       #: the recorded samples held at once (a chunk for learning)
    peak_bytes: int         #: everything held at once
    backend: str = "numpy"

    def line(self) -> str:
        build = ("; a network shape's first standalone build compiles for about 10-40 s more"
                 if self.backend == "standalone" else "")
        return (f"expected: about {_duration(self.seconds)} of wall time simulating{build}, "
                f"{format_si(self.peak_bytes, 'B', digits=2)} of memory "
                f"({format_si(self.sample_bytes, 'B', digits=2)} of samples)")


def estimate(design, learning: bool = False) -> Estimate:
    """The cost of running ``design`` (inference; ``learning=True``: a learning run, whose
    samples are held one chunk at a time)."""
    n = design.timestep.n_steps
    net = network_bytes(design.n_features, design.n_components, design.chips, design.copies)
    rec = recording_bytes(design, n)
    if learning:
        held = min(rec, LEARNING_CHUNK_BYTES) if design.backend == "standalone" else \
            min(rec, recording_bytes(design, int(design.timestep.n_steps / 20) + 1))
        peak = net + 2 * held
    else:
        held = rec
        peak = net + 3 * rec  # v recorded, u and s computed from it
    return Estimate(n, n * step_seconds(design), net, held, peak, design.backend)


def check_network_size(n_features: int, n_components: int, force: bool) -> None:
    """Refuse (ConfigError) a network whose state alone exceeds the available memory."""
    need, have = network_bytes(n_features, n_components), available_memory()
    if need > have and not force:
        raise ConfigError("model.n_components", f"a network that fits in memory: {n_features} "
                          f"x {n_components} synapses need about {format_si(need, 'B', digits=2)} and "
                          f"this machine has {format_si(have, 'B', digits=2)} available (pass --force "
                          "or set run.force = true to try anyway)", n_components)


def check_run(design, est: Estimate) -> None:
    """Refuse (ConfigError) a run whose memory exceeds the machine's or whose wall time
    exceeds ``run.time_limit``, unless ``run.force``."""
    run = design.config.run
    if run.force:
        return
    have = available_memory()
    ts = design.timestep
    if est.peak_bytes > have:
        raise ConfigError("run.record_every", f"a recording that fits in memory: {est.n_steps:.3g} "
                          f"steps recorded every {ts.record_stride} need about "
                          f"{format_si(est.peak_bytes, 'B', digits=2)} and this machine has "
                          f"{format_si(have, 'B', digits=2)} available; record less often, shorten "
                          "run.duration, or pass --force (run.force = true)",
                          format_si(ts.record_stride * ts.dt, "s"))
    if est.seconds > run.time_limit:
        raise ConfigError("run.duration", f"a run within run.time_limit = "
                          f"{_duration(run.time_limit)} of wall time: {est.n_steps:.3g} steps "
                          f"at about {format_si(step_seconds(design), 's', digits=2)} each on "
                          f"'{design.backend}' take about {_duration(est.seconds)}; shorten "
                          "it, raise run.time_limit, or pass --force (run.force = true)",
                          format_si(ts.duration, "s"))


def _duration(seconds: float) -> str:
    """A wall time for people: 40 s, 12 min, 3.1 h, 2.5 days, 4400 years."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.2g} s"
