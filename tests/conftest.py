"""Shared test configuration.

Slow statistical and end-to-end checks are marked ``slow``; they run with ``--runslow``
(as in CI and the README's test command) and are skipped otherwise, so a plain
``pytest`` stays fast.
"""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (long statistical / end-to-end checks)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
