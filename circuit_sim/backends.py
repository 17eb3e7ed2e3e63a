"""Brian2 code-generation backends: ``numpy`` and ``cython`` (runtime) and ``standalone``.

``numpy`` needs no compiler and is the backend of the fast test suite; ``cython``
compiles each code object once (cached by Brian2 between runs); ``standalone`` generates
a C++ project (Brian2's ``cpp_standalone`` device), compiles and runs it.

Standalone projects are kept in a cache directory (``$CIRCUIT_SIM_CACHE``, default
``~/.cache/circuit_sim``) under a key describing the network's structure: Brian2 rewrites
only the source files whose text changed, so ``make`` recompiles only those, and a
repeated run of the same design costs seconds less. Each project directory is held with an
exclusive lock for the whole build and run; a second process (a parallel sweep worker)
that finds it locked builds in a fresh temporary directory instead, so workers never
collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import brian2 as b2

BACKENDS = ("numpy", "cython", "standalone")


def cache_root() -> Path:
    """Root of the standalone build cache."""
    return Path(os.environ.get("CIRCUIT_SIM_CACHE", Path.home() / ".cache" / "circuit_sim"))


@contextlib.contextmanager
def _cached_project(key: str):
    """A locked project directory for ``key`` (or a temporary one if it is in use)."""
    root = cache_root() / "standalone"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    lock_file = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock_file = open(root / f"{digest}.lock", "w")
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # locked by another process, or no writable cache: build elsewhere
        if lock_file is not None:
            lock_file.close()
        tmp = tempfile.mkdtemp(prefix="circuit_sim_standalone_")
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        yield str(root / digest)
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


@contextlib.contextmanager
def backend_context(backend: str, *, build_dir: str | None = None, keep_build: bool = False,
                    cache_key: str | None = None):
    """Select a backend for the duration of a ``with`` block.

    Parameters
    ----------
    backend : {"numpy", "cython", "standalone"}
    build_dir : str, optional
        Directory for the standalone C++ project.
    keep_build : bool
        Keep a temporary standalone directory afterwards.
    cache_key : str, optional
        Without ``build_dir``: use the cached project of this key (see the module
        docstring); without either, a fresh temporary directory.

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
    if build_dir is None and cache_key is not None:
        with _cached_project(cache_key) as directory:
            with backend_context(backend, build_dir=directory) as d:
                yield d
        return
    tmp = build_dir is None
    directory = build_dir or tempfile.mkdtemp(prefix="circuit_sim_standalone_")
    # Brian2 numbers code objects after the living objects of the same name ("..._1", "_2");
    # a previous run's objects still waiting for the garbage collector would change those
    # names, hence objects.h, hence recompile every file of a cached project.
    gc.collect()
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
