"""Ensembles: many copies of one circuit simulated together in one network.

A design with ``run.chains = K_c`` and ``mismatch.chips = K_p`` is ``Q = K_p K_c`` copies
of its circuit. Copy ``q`` belongs to chip ``c = q // K_c`` (its own device draw, its own
programmed conductances) and is that chip's chain ``q % K_c`` (its own noise). The chains of
one chip share the chip's crossbar: its two products for all chains are one matrix-matrix
product (SPEC section 7); the chips' products are a batch of those.

Chip ``k`` (``k = first_chip, ..., first_chip + chips - 1``) draws its devices from the
children ``k`` of the ``devices`` and ``drift`` streams (chip 0 from the streams
themselves, :func:`~circuit_sim.design.devices.draw_devices`), so a chip is the same alone
(``mismatch.first_chip = k``, ``chips = 1``) or in a batch. The noise of all copies comes from
the network's one generator: a chip's noise differs between a batch and a run alone.

``run.seeds = [s_0, ...]`` makes a batch of seeds instead: chip ``q`` draws its devices as
chip ``first_chip`` of seed ``s_q`` (the same draw as a run alone with ``run.seed = s_q``),
and the noise again comes from the network's generator (``run.seed``). Without a given
``model.dictionary`` every seed has its own dictionary (its posterior; the starting one,
when learning), and on a stream its own stream (its patches, drawn from ``s_q``): chip
``q`` is then the run alone with ``run.seed = s_q`` in everything but its noise.

A learning ensemble whose chains keep their own plasticity (``learning.share = "none"``) is,
in the network, one block of weights per chain: each chain is then a *learner* of its own,
simulated as a chip of its own with its chip's device draw (:attr:`Ensemble.learners_per_chip`
of them per device draw), and sees the same patches as its chip's other chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .devices import DeviceDraw
from .noise import NoiseDesign


@dataclass(frozen=True)
class Ensemble:
    """The copies of a design (see the module docstring).

    Attributes
    ----------
    chains : int
        Chains per chip (``run.chains``).
    chip_index : tuple of int
        The chips' indices (``first_chip`` onwards).
    devices : tuple of DeviceDraw
        Each chip's draw (the design's own ``devices`` is the first).
    noise : tuple of NoiseDesign
        Each chip's noise design (the per-unit amplitudes follow the chip's ``G_m``).
    learners_per_chip : int
        Weight blocks per device draw: 1, or ``run.chains`` with ``learning.share = "none"``
        (each chain its own dictionary; then ``chains`` is 1 and every entry above is
        repeated for each of the draw's learners).
    chip_seed : tuple of int
        With ``run.seeds``: each chip's seed (its devices are chip ``chip_index`` of that
        seed's draws); empty: every chip's seed is ``run.seed``.
    """

    chains: int
    chip_index: tuple
    devices: tuple
    noise: tuple
    learners_per_chip: int = 1
    chip_seed: tuple = ()

    @property
    def chips(self) -> int:
        return len(self.devices)

    @property
    def copies(self) -> int:
        """``Q = chips x chains``."""
        return self.chips * self.chains

    def per_copy(self, values) -> np.ndarray:
        """Stack one (M,) or (N, M) array per chip into one per copy, (Q, ...)."""
        return np.repeat(np.stack([np.asarray(v, dtype=float) for v in values]),
                         self.chains, axis=0)

    def chip_of(self, copy: int) -> int:
        return copy // self.chains


def own_learners(ens: Ensemble) -> Ensemble:
    """``ens`` with every chain its own learner (``learning.share = "none"``): one weight
    block per chain, each with its chip's device draw and noise design, one chain each."""
    k = ens.chains

    def rep(values) -> tuple:
        return tuple(v for v in values for _ in range(k))

    return Ensemble(1, rep(ens.chip_index), rep(ens.devices), rep(ens.noise), k,
                    rep(ens.chip_seed))


def single(devices: DeviceDraw, noise_design: NoiseDesign) -> Ensemble:
    """The ensemble of one copy."""
    return Ensemble(1, (0,), (devices,), (noise_design,))


def seeds_share_a_schedule(cfg) -> bool:
    """Whether runs of ``cfg`` that differ only in ``run.seed`` present their inputs at one
    schedule (a fixed input, or a synchronous stream; a Poisson schedule is the seed's): the
    condition for a batch of seeds (:func:`check_ensemble`, and the sweeps' batches)."""
    return cfg.input.kind == "fixed" or cfg.input.presentation == "synchronous"


def _check_seeds(cfg, chips: int) -> None:
    """``run.seeds`` (a batch of seeds, one chip each): only where every chip can be its
    seed's run alone. On a stream each seed presents its own patches at the batch's one
    schedule, so the presentation must be synchronous (a Poisson schedule is drawn from the
    seed)."""
    seeds = list(cfg.run.seeds)
    if chips != 1:
        raise ConfigError("mismatch.chips", "1 with run.seeds (each seed is one chip: "
                          f"mismatch.first_chip of that seed's draws; run.seeds = {seeds})",
                          chips)
    if not seeds_share_a_schedule(cfg):
        raise ConfigError("run.seeds", "input.presentation = \"synchronous\" on a stream "
                          "(a Poisson schedule is drawn from each seed, and the batch "
                          f"presents all its seeds' patches at one schedule; presentation = "
                          f"\"{cfg.input.presentation}\")", seeds)


def check_ensemble(cfg) -> None:
    """Refuse what an ensemble cannot simulate: the summed crossbar (the batched products are
    the dense kernel's).

    On a stream input the chains of a chip see consecutive patches (a batch of ``K_c`` per
    presentation: chain ``k`` sees patch ``p K_c + k`` of the stream at presentation ``p``)
    and every chip sees the same patches; with ``[learning]`` the chains of a chip share its
    plasticity (``learning.share = "chains"``: the chip's conductances follow the average of
    its chains' ``r s^T``; learned thresholds follow their chains' mean gradient) and each
    chip learns its own dictionary; with ``learning.share = "none"`` every chain learns its
    own dictionary and thresholds (:func:`own_learners`), and the chains of a chip all see
    the chip's patches (independent learners on one stream, as chips are).
    """
    chains = cfg.run.chains
    chips = cfg.mismatch.chips if cfg.mismatch is not None else 1
    if cfg.run.seeds is not None:
        _check_seeds(cfg, chips)
        chips = len(cfg.run.seeds)
    if chains * chips == 1:
        return
    key, value = (("run.chains", chains) if chains > 1 else ("run.seeds", list(cfg.run.seeds))
                  if cfg.run.seeds is not None else ("mismatch.chips", chips))
    if cfg.run.crossbar == "summed":
        raise ConfigError("run.crossbar", "\"dense\" or \"auto\" for an ensemble "
                          f"({key} = {value}: the copies' products are the dense kernel's)",
                          "summed")
