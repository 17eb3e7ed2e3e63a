"""Every random stream of a run, derived from its one seed by name.

A run's ``run.seed`` is the entropy of one :class:`numpy.random.SeedSequence` tree; each
consumer draws from a named child, ``SeedSequence(seed, spawn_key=(stream, *index))``, so
the streams are independent of each other and of the order in which they are used, and a
new stream never changes the numbers of an existing one.

=============  =========  ===============================================================
stream         spawn key  what it draws
=============  =========  ===============================================================
``noise``      1, k       Brian2's generator for noise segment ``k`` (inference: ``k = 0``;
                          learning: one per snapshot segment, so a resumed run continues
                          exactly)
``initial``    2          Brian2's generator while a learning network is built (the first
                          Leimkuhler-Matthews draw)
``devices``    3          mismatch of G_m, C, thresholds, synapse gains and offsets
``drift``      4          each synapse's drift rate
``dictionary`` 5          a random start dictionary (when the config gives none)
``data``       6, b       block ``b`` of a stream's patches (bars draws, image patch places)
``schedule``   7, b       block ``b`` of the Poisson presentation times
``start``      8          the MAP baseline's initial state (a draw of the prior)
``mala``       9          the MALA reference chains of the quality metrics
``spice``      10         ngspice's seed and the exported noise records
``sweep``      11         reserved for sweep-level draws
=============  =========  ===============================================================

:data:`SCHEME_VERSION` is written into every output file. Version 2 (this table) replaced
the ad-hoc derivations of version 1 (``default_rng(seed)``, ``[seed, 0x6D69]``, ``[seed,
101/202/303, b]``, ``SeedSequence([seed, k])``, ``[seed, 404]``, ``seed + 1``, a fixed MALA
seed): the same seed gives other numbers than under version 1.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

#: Version of the derivation table above (written to every file as ``seed_scheme``).
SCHEME_VERSION = 2

STREAMS = {"noise": 1, "initial": 2, "devices": 3, "drift": 4, "dictionary": 5, "data": 6,
           "schedule": 7, "start": 8, "mala": 9, "spice": 10, "sweep": 11}


def sequence(seed: int, stream: str, *index: int) -> np.random.SeedSequence:
    """The named child ``stream`` (with optional integer ``index``) of ``seed``'s tree."""
    if stream not in STREAMS:
        raise ConfigError("stream", "one of " + ", ".join(map(repr, STREAMS)), stream)
    return np.random.SeedSequence(int(seed), spawn_key=(STREAMS[stream], *map(int, index)))


def rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    """A numpy generator on the named stream."""
    return np.random.default_rng(sequence(seed, stream, *index))


def integer(seed: int, stream: str, *index: int) -> int:
    """A positive 31-bit integer from the named stream (for Brian2's ``seed()`` and ngspice,
    which take one integer)."""
    return int(sequence(seed, stream, *index).generate_state(1)[0] & 0x7FFFFFFF) or 1


class Seeds:
    """The streams of one run's seed (a small immutable handle)."""

    __slots__ = ("seed",)

    def __init__(self, seed: int):
        self.seed = int(seed)

    def sequence(self, stream: str, *index: int) -> np.random.SeedSequence:
        return sequence(self.seed, stream, *index)

    def rng(self, stream: str, *index: int) -> np.random.Generator:
        return rng(self.seed, stream, *index)

    def integer(self, stream: str, *index: int) -> int:
        return integer(self.seed, stream, *index)

    def __repr__(self) -> str:
        return f"Seeds({self.seed}, scheme {SCHEME_VERSION})"
