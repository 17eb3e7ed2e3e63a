"""Brian2 code-generation backends: ``numpy`` and ``cython`` (runtime) and ``standalone``.

``numpy`` needs no compiler and is the backend of the fast test suite; ``cython``
compiles each code object once (cached by Brian2 between runs); ``standalone`` generates
a C++ project (Brian2's ``cpp_standalone`` device), compiles and runs it. Each
standalone build gets its own fresh directory, so parallel workers never collide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import brian2 as b2

BACKENDS = ("numpy", "cython", "standalone")


@contextlib.contextmanager
def backend_context(backend: str, *, build_dir: str | None = None, keep_build: bool = False):
    """Select a backend for the duration of a ``with`` block.

    Parameters
    ----------
    backend : {"numpy", "cython", "standalone"}
    build_dir : str, optional
        Directory for the standalone C++ project (a fresh temporary one by default).
    keep_build : bool
        Keep the standalone directory afterwards (default: remove a temporary one).

    Yields
    ------
    str or None
        The standalone build directory, or None for runtime backends.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    b2.start_scope()
    if backend in ("numpy", "cython"):
        b2.set_device("runtime")
        old = b2.prefs.codegen.target
        b2.prefs.codegen.target = backend
        try:
            yield None
        finally:
            b2.prefs.codegen.target = old
        return
    tmp = build_dir is None
    directory = build_dir or tempfile.mkdtemp(prefix="circuit_sim_standalone_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.device.reinit()
    b2.device.activate(directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    try:
        yield directory
    finally:
        b2.device.reinit()
        b2.set_device("runtime")
        if tmp and not keep_build:
            shutil.rmtree(directory, ignore_errors=True)
