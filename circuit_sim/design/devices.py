"""One chip's fixed device variations (mismatch, weight drift), drawn from the run's seed,
and the weights' programming (quantisation). Pure numpy; the circuit wires them in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import seeds
from ..config.nonideal import MismatchConfig, WeightConfig

__all__ = ["DeviceDraw", "draw_devices", "quantise"]


def quantise(phi: np.ndarray, weights: WeightConfig | None) -> np.ndarray:
    """Program ``phi`` into the synaptic memory: the nearest of the ``2^bits - 1`` levels,
    clipped to ``[-range, range]`` (unchanged for continuous weights)."""
    phi = np.asarray(phi, dtype=float)
    if weights is None or weights.bits is None:
        return phi
    q = weights.lsb
    return np.clip(np.floor(phi / q + 0.5) * q, -weights.range, weights.range)


@dataclass(frozen=True)
class DeviceDraw:
    """One chip's fixed variations (drawn by :func:`draw_devices`).

    Attributes
    ----------
    gm_rel, c_rel : ndarray (M,)
        ``G_m,j / G_m`` and ``C_j / C``.
    threshold_offset : ndarray (M,)
        Threshold offsets in V.
    weight_gain, weight_offset : ndarray (N, M)
        Synapse gains (relative) and offsets (units of ``Phi``).
    drift_rate : ndarray (N, M)
        Drift of each weight in units of ``Phi`` per second.
    transconductor_offset : ndarray (M,)
        Input offsets of the units' transconductors in V (drawn after the others, so that
        a chip's other devices are what they were before this field existed).
    """

    gm_rel: np.ndarray
    c_rel: np.ndarray
    threshold_offset: np.ndarray
    weight_gain: np.ndarray
    weight_offset: np.ndarray
    drift_rate: np.ndarray
    transconductor_offset: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {"gm_rel": self.gm_rel, "c_rel": self.c_rel,
                "threshold_offset": self.threshold_offset, "weight_gain": self.weight_gain,
                "weight_offset": self.weight_offset, "drift_rate": self.drift_rate,
                "transconductor_offset": self.transconductor_offset}


#: Relative factors below this are clipped (a sigma so large that a device would be negative).
_MIN_FACTOR = 0.05


def draw_devices(mismatch: MismatchConfig | None, weights: WeightConfig | None, seed: int,
                 n_features: int, n_components: int, chip: int = 0) -> DeviceDraw:
    """Draw the chip's fixed variations from ``seed`` (ideal values where not configured):
    the ``devices`` and ``drift`` streams of :mod:`circuit_sim.seeds`, independent of the
    noise, so a chip is the same whatever else the run does.

    ``chip``: the chip's index in a mismatch Monte Carlo (``mismatch.chips``); chip 0 draws
    from the streams themselves, chip ``k > 0`` from their children ``k``, so chip ``k`` is the
    same chip alone (``mismatch.first_chip = k``) or in a batch of any size.

    Returns
    -------
    DeviceDraw
    """
    n, m = n_features, n_components
    mm = mismatch or MismatchConfig()
    index = (chip,) if chip > 0 else ()
    rng = seeds.rng(seed, "devices", *index)
    z_gm, z_c, z_off = rng.standard_normal((3, m))
    z_gain, z_woff = rng.standard_normal((2, n, m))
    z_tos = rng.standard_normal(m)
    drift_sigma = 0.0 if weights is None else weights.drift_sigma
    drift = drift_sigma * seeds.rng(seed, "drift", *index).standard_normal((n, m))
    return DeviceDraw(
        gm_rel=np.maximum(1.0 + mm.gm_sigma * z_gm, _MIN_FACTOR),
        c_rel=np.maximum(1.0 + mm.c_sigma * z_c, _MIN_FACTOR),
        threshold_offset=mm.threshold_offset_sigma * z_off,
        weight_gain=np.maximum(1.0 + mm.weight_gain_sigma * z_gain, _MIN_FACTOR),
        weight_offset=mm.weight_offset_sigma * z_woff,
        drift_rate=drift, transconductor_offset=mm.transconductor_offset_sigma * z_tos)
