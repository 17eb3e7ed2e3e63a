"""Progress lines of a running simulation (percent done and an ETA)."""

from __future__ import annotations

import time

import numpy as np


class BrianProgress:
    """Brian2 ``report`` callback printing percent done and an ETA to a stream."""

    def __init__(self, stream, min_interval: float = 2.0):
        self.stream = stream
        self.min_interval = min_interval
        self.last = -np.inf

    def __call__(self, elapsed, completed, start, duration):
        now = time.monotonic()
        if completed < 1.0 and now - self.last < self.min_interval:
            return
        self.last = now
        el = float(elapsed)
        eta = el * (1 - completed) / completed if completed > 0 else float("nan")
        self.stream.write(f"\r  simulating: {100 * completed:5.1f}%  elapsed {el:6.1f} s  "
                          f"ETA {eta:6.1f} s")
        if completed >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def say(stream, text: str) -> None:
    """Write one line to ``stream`` (None: silence) and flush it."""
    if stream is not None:
        stream.write(text + "\n")
        stream.flush()
