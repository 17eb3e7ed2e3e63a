"""Helpers shared by the experiment scripts (public API only)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from circuit_sim import Config, load_config

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RESULTS = HERE / "results"


def config_dict(name: str) -> dict:
    """The raw dict of a shipped config (to modify and validate again)."""
    return copy.deepcopy(load_config(CONFIGS / name).raw)


def build(d: dict) -> Config:
    return Config.from_dict(d)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
