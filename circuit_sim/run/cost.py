"""What a run will cost before it starts: steps, memory and wall time (from measured rates).

The per-step cost of the circuit is close to ``a + b N M`` (the crossbar's two products and,
when learning, the plasticity equation every K steps), times a backend factor. Fitted to
``benchmarks/results/run_all_F.txt`` (Brian2 2.9, one core of the 2-core development VM):
standalone 0.7 us at (16, 32), 4.2 us at (64, 128), 37 us at (256, 512) per step; cython
about 6x, numpy about 25x slower. These are estimates for planning and guards (a run that
would take days), not promises.
"""

from __future__ import annotations

#: seconds per step on the standalone backend: a + b * N * M (synapses), plasticity extra c * N * M / K
STEP_A, STEP_B, STEP_PLASTICITY = 0.5e-6, 0.28e-9, 0.3e-9
BACKEND_FACTOR = {"standalone": 1.0, "cython": 6.0, "numpy": 25.0}


def step_seconds(design) -> float:
    """Estimated wall seconds per simulated step of ``design`` on its backend."""
    nm = design.n_features * design.n_components
    t = STEP_A + STEP_B * nm
    if design.learning is not None:
        t += STEP_PLASTICITY * nm / design.timestep.plasticity_stride
    return t * BACKEND_FACTOR[design.backend]


def recording_bytes(design, n_steps: int | None = None) -> int:
    """Bytes of the recorded samples (``v``, and ``u0`` when learned; float64) of a run of
    ``n_steps`` (default: the design's), held in memory while it runs; the result also holds
    ``u`` and ``s`` of the same size."""
    n_steps = design.timestep.n_steps if n_steps is None else n_steps
    samples = n_steps // design.timestep.record_stride + 1
    return samples * design.n_components * 8 * (2 if design.learn_u0 else 1)


def state_bytes(design) -> int:
    """Bytes of the network's state: the crossbar's conductances and their Brian2 bookkeeping
    (about 40 bytes per synapse) and the units' variables."""
    return 40 * design.n_features * design.n_components + 400 * design.n_components
