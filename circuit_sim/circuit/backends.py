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

Two edits to the C++ that Brian2 2.9 generates, both checked against the exact text they
replace (any other text is left as Brian2 wrote it, with a warning; ``brian2`` is pinned):
``Network::run`` reads the CPU clock once after the loop instead of after every step (a
system call per step), and a recorded 2D array is written to its result file in 4 MiB
blocks instead of one ``write`` per sample. Neither changes a number the program computes
(``tests/test_standalone_io.py``). The recorded samples are then mapped from the result
files (:func:`standalone_monitor_array`) rather than read into fresh memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import types
import sys
import warnings
from pathlib import Path

import numpy as np

import brian2 as b2

from models.constraints import choice

from ..cache import cache_root
from ..config.sections import BACKENDS
from . import supervise

# Brian2 replaces sys.excepthook when imported: every uncaught error, ours included, would be
# printed as "Brian 2 encountered an unexpected error ... report this issue" to Brian2's
# tracker. Our errors are ours: restore Python's hook (the CLI has its own handler).
if getattr(sys.excepthook, "__name__", "") == "brian_excepthook":
    sys.excepthook = sys.__excepthook__

# Brian2's standalone ``Network::run`` reads the process CPU clock (``std::clock()``, a
# system call: CLOCK_PROCESS_CPUTIME_ID has no vDSO fast path) after every time step, only
# to know the elapsed time once the loop ends: about 0.4 us of system time per step on this
# VM, against a 4.9 us step at (64, 128). We read it once, after the loop; the report
# callback, which needs it inside the loop, is never used in standalone here.
_CLOCK_IN_LOOP = re.compile(r"\n[ \t]{5,}current = std::clock\(\);\s*\n\s*"
                            r"elapsed_realtime = \(double\)\(current - start\)/"
                            r"\(1 \* CLOCKS_PER_SEC\);\s*\n")
_LOOP_END = "    Network::_globally_running = false;\n"


def network_source_without_step_clock(cpp: str) -> str:
    """Brian2's generated ``network.cpp`` with the per-step clock read moved after the loop.

    Raises
    ------
    ValueError
        If the text is not the one Brian2 2.9 generates (the pattern occurs other than once).
    """
    if len(_CLOCK_IN_LOOP.findall(cpp)) != 1 or cpp.count(_LOOP_END) != 1:
        raise ValueError("network.cpp: expected Brian2 2.9's Network::run with one per-step "
                         "std::clock() read; the generated text differs")
    cpp = _CLOCK_IN_LOOP.sub("\n", cpp)
    return cpp.replace(_LOOP_END, "    current = std::clock();\n    elapsed_realtime = "
                       "(double)(current - start)/(1 * CLOCKS_PER_SEC);\n" + _LOOP_END)


# Brian2 writes a 2D dynamic array (a StateMonitor's samples) to its result file one row at
# a time; a row of M = 128 doubles is 1 KiB, which libstdc++ passes straight to write(2):
# 100 000 system calls for a 1M-step run recorded every 10 steps (0.2 s of a 5 s run). We
# gather rows into 4 MiB blocks: the file's bytes are unchanged.
_ROW_WRITE_LOOP = re.compile(
    r"for \(int n=0; n<(?P<a>\w+)\.n; n\+\+\)\s*\{\s*"
    r"if \(! (?P=a)\(n\)\.empty\(\)\)\s*\{\s*"
    r"(?P<f>outfile_\w+)\.write\(reinterpret_cast<char\*>\(&(?P=a)\(n, 0\)\), "
    r"(?P=a)\.m\*sizeof\((?P=a)\(0, 0\)\)\);\s*\}\s*\}")
STANDALONE_WRITE_BLOCK_BYTES = 1 << 22  # bytes per write(2) of a recorded array's result file
_BLOCK_WRITE_LOOP = (
    "std::vector<char> _block;\n"
    "        const size_t _block_bytes = size_t({block_bytes});\n"
    "        _block.reserve(_block_bytes);\n"
    "        for (int n=0; n<\\g<a>.n; n++)\n"
    "        {\n"
    "            if (! \\g<a>(n).empty())\n"
    "            {\n"
    "                const char* _row = reinterpret_cast<char*>(&\\g<a>(n, 0));\n"
    "                _block.insert(_block.end(), _row, _row + \\g<a>.m*sizeof(\\g<a>(0, 0)));\n"
    "                if (_block.size() >= _block_bytes)\n"
    "                {\n"
    "                    \\g<f>.write(_block.data(), _block.size());\n"
    "                    _block.clear();\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "        if (! _block.empty()) \\g<f>.write(_block.data(), _block.size());")


def objects_source_with_block_writes(cpp: str) -> str:
    """Brian2's generated ``objects.cpp`` with each 2D dynamic array written in blocks of
    :data:`STANDALONE_WRITE_BLOCK_BYTES` (4 MiB) instead of one ``write`` per row (same bytes
    in the file).

    Raises
    ------
    ValueError
        If a 2D dynamic array's row loop is not the one Brian2 2.9 generates.
    """
    block = _BLOCK_WRITE_LOOP.replace("{block_bytes}", str(int(STANDALONE_WRITE_BLOCK_BYTES)))
    out, n = _ROW_WRITE_LOOP.subn(block, cpp)
    if n != len(re.findall(r"^DynamicArray2D<", cpp, flags=re.MULTILINE)):
        raise ValueError("objects.cpp: expected Brian2 2.9's row-by-row writes of 2D dynamic "
                         "arrays; the generated text differs")
    return out


_SOURCE_PATCHES = {"network.*": (network_source_without_step_clock, "generate_network_source"),
                   "objects.*": (objects_source_with_block_writes, "generate_objects_source")}


def _install_source_patches(device) -> None:
    """Make ``device`` write the patched ``network.cpp`` and ``objects.cpp`` (instance
    attributes, removed by :func:`_remove_source_patches`). A text that is not Brian2
    2.9's is written unpatched, with a warning."""
    for name, (patch, method) in _SOURCE_PATCHES.items():
        original = getattr(type(device), method)

        def generate(*args, _original=original, _name=name, _patch=patch):
            writer = args[0]
            real_write = writer.write

            def write(filename, contents):
                if filename == _name:
                    try:
                        cpp = _patch(contents.cpp_file)
                    except ValueError as err:
                        warnings.warn(f"{err}: kept Brian2's code", stacklevel=2)
                    else:
                        contents = types.SimpleNamespace(cpp_file=cpp, h_file=contents.h_file)
                real_write(filename, contents)

            writer.write = write
            try:
                _original(device, *args)
            finally:
                del writer.write

        setattr(device, method, generate)


def _remove_source_patches(device) -> None:
    for _, method in _SOURCE_PATCHES.values():
        device.__dict__.pop(method, None)


def _remove_run_values(directory) -> None:
    """Delete the files of the last run's ``run_args`` arrays (the crossbar's starting
    values, written by Brian2 under ``static_arrays`` and named by their hash): a cached
    project would otherwise keep one such file per distinct set of weights it ever ran."""
    for name in getattr(b2.get_device(), "run_args_arrays", ()):
        for path in (os.path.join(directory, "static_arrays", name),
                     os.path.join(directory, "static_arrays", name + ".lock")):
            with contextlib.suppress(OSError):
                os.remove(path)


#: Called with (phase, done, total) while a standalone project builds and runs (or None).
BUILD_REPORTER = None


def _report(phase: str, done=None, total=None) -> None:
    if BUILD_REPORTER is not None:
        BUILD_REPORTER(phase, done, total)


def _files_to_compile(make: str, directory) -> int:
    """How many sources ``make`` would compile (a dry run: about 50 ms)."""
    try:
        out = subprocess.run([make, "-n"], cwd=directory, capture_output=True, text=True,
                             timeout=60, close_fds=True).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for ln in out.splitlines() if " -c " in ln)


BUILD_UNFINISHED = ".circuit_sim_build_unfinished"


def compile_source(directory, compiler, debug, clean) -> None:
    """Brian2's ``compile_source`` for Unix, run as a supervised child (:mod:`.supervise`):
    interruptible within a fraction of a second, killed with its compilers if this process
    dies, no inherited file descriptors, progress reported per compiled file; the compiler's
    output goes to ``make.log`` in the project."""
    from brian2 import prefs

    make = prefs.devices.cpp_standalone.make_cmd_unix
    args = list(prefs.devices.cpp_standalone.extra_make_args_unix)
    # A build killed mid-way (SIGKILL of the run, which make cannot clean up after) can
    # leave a truncated object file newer than its source, which make would then link:
    # the marker says the last build did not finish, and the next one starts clean.
    unfinished = Path(directory) / BUILD_UNFINISHED
    clean = clean or unfinished.exists()
    unfinished.touch()
    if clean:
        supervise.wait(supervise.spawn([make, "clean"], cwd=directory,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    total = _files_to_compile(make, directory)
    _report("compiling", 0, total)
    log_path = Path(directory) / "make.log"
    with open(log_path, "w") as log:
        proc = supervise.spawn([make, *args], cwd=directory, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        done = 0
        try:
            for line in proc.stdout:  # returns when make (and the pipe) ends
                log.write(line)
                if " -c " in line:
                    done += 1
                    _report("compiling", done, total)
        finally:
            code = supervise.wait(proc)
    if code == 0:
        unfinished.unlink()
    else:
        raise RuntimeError(f"Project compilation failed (error code: {code}); the compiler's "
                           f"output is in {log_path}")


class _ReportingShim(supervise.SubprocessShim):
    """The program's run through :mod:`.supervise`, announced to :data:`BUILD_REPORTER`."""

    def __getattr__(self, name):
        if name == "call":
            def call(cmd, **kwargs):
                _report("running")
                return supervise.call(cmd, **kwargs)
            return call
        return super().__getattr__(name)


def _install_build_hooks(device) -> None:
    """Compile and run standalone projects through :mod:`.supervise` (instance attribute and a
    module shim, removed by :func:`_remove_build_hooks`)."""
    import brian2.devices.cpp_standalone.device as device_module

    device.compile_source = compile_source
    device_module.subprocess = _ReportingShim()


def _remove_build_hooks(device) -> None:
    import brian2.devices.cpp_standalone.device as device_module

    device.__dict__.pop("compile_source", None)
    device_module.subprocess = subprocess


def standalone_monitor_array(monitor, name: str) -> np.ndarray:
    """A standalone StateMonitor's recorded variable, time-major ``(samples, n)``, without a
    copy: the program's result file is mapped (copy on write) and then unlinked, so a later
    run of the same cached project writes a new file and never touches these samples.

    Parameters
    ----------
    monitor : brian2.StateMonitor
        A monitor of the standalone network that has just run.
    name : str
        Recorded variable (``"v"``, ``"u0"``) or ``"t"`` (then shape ``(samples,)``).

    Returns
    -------
    ndarray
        A plain ndarray view of the mapping (pickles as an ordinary array).
    """
    dev = b2.get_device()
    var = monitor.variables["t" if name == "t" else name]
    fname = os.path.join(dev.results_dir, dev.get_array_filename(var))
    size = os.path.getsize(fname)
    itemsize = np.dtype(var.dtype).itemsize
    count = size // itemsize
    width = 1 if name == "t" else len(monitor.record)
    if size % itemsize or (width and count % width):
        raise OSError(f"{fname}: {size} bytes is not a whole number of samples of {width} "
                      f"x {var.dtype}")
    shape = (count,) if name == "t" else (count // width if width else 0, width)
    if count == 0:
        arr = np.zeros(shape, dtype=var.dtype)
    else:
        arr = np.memmap(fname, dtype=var.dtype, mode="c", shape=shape).view(np.ndarray)
    os.remove(fname)
    return arr


def import_brian() -> None:
    """Import Brian2 now (in the calling thread: Brian2 installs a SIGINT handler when it is
    imported, which works only in the main thread)."""
    import brian2  # noqa: F401


def set_cython_cache(path) -> None:
    """Brian2's cython cache directory for this process."""
    b2.prefs.codegen.runtime.cython.cache_dir = str(path)


def program_errors(directory) -> list[str]:
    """The ``circuit-sim ...`` lines a failed standalone program wrote (its stdout file)."""
    path = Path(directory) / "results" / "stdout.txt"
    try:
        return [ln.strip() for ln in path.read_text(errors="replace").splitlines()
                if ln.startswith("circuit-sim")]
    except OSError:
        return []


@contextlib.contextmanager
def reporting_program_errors(directory):
    """Within the block, Brian2's "Project run failed" becomes a RuntimeError that says what
    the program reported (the kernel's own check, for example)."""
    try:
        yield
    except RuntimeError as exc:
        lines = program_errors(directory) if directory is not None else []
        if not lines or "Project run failed" not in str(exc):
            raise
        raise RuntimeError(f"the standalone program stopped: {'; '.join(lines)} "
                           f"(project {directory})") from exc


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


_GC_FROZEN = False


def _collect_brian_objects() -> None:
    """Collect garbage until no unreachable Brian2 object is left (cheapest pass first).

    The first call in a process also moves every object alive at that moment (mostly the
    imported modules: about 200 000 objects with brian2, sympy and scipy) to the
    collector's permanent generation (``gc.freeze``), so a later full collection visits
    only what was made since: about 1 ms instead of 0.1 s here. Those objects are still
    freed by reference counting; only a reference cycle among them that becomes
    unreachable later is not collected.
    """
    global _GC_FROZEN
    from brian2.core.names import Nameable

    gc.collect(1)
    if any(ref() is not None for ref in Nameable.__instances__()):
        gc.collect()
    if not _GC_FROZEN:
        gc.freeze()
        _GC_FROZEN = True


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
    choice("backend", backend, BACKENDS)
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
    # names, hence objects.h, hence recompile every file of a cached project. A young-
    # generation collection frees them in about a millisecond; the full one runs only if
    # some Brian2 object is still alive, and visits only what was made since the first
    # run (gc.freeze: 1 ms instead of 0.1 s).
    _collect_brian_objects()
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.device.reinit()
    b2.device.activate(directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    _install_source_patches(b2.get_device())
    _install_build_hooks(b2.get_device())
    try:
        yield directory
    finally:
        _remove_build_hooks(b2.get_device())
        _remove_source_patches(b2.get_device())
        _remove_run_values(directory)
        b2.device.reinit()
        b2.set_device("runtime")
        if tmp and not keep_build:
            shutil.rmtree(directory, ignore_errors=True)
