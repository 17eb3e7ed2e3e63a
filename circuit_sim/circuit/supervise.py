"""Child processes that die with the run: the C++ compiler and the compiled program.

Brian2 runs ``make`` through ``os.system`` (which ignores Ctrl-C in the caller while make
runs, and lets make inherit every open file, the HDF5 file's lock included) and the program
through ``subprocess.call``. During a circuit-sim build both go through :func:`spawn`
instead:

* each child starts in a session (process group) of its own, with no inherited file
  descriptors (``close_fds``), so no orphan can hold the output file's lock;
* a watchdog process kills the child's whole group as soon as the parent is gone, also when
  the parent was killed with SIGKILL (which no handler sees);
* :func:`interrupt_children` forwards Ctrl-C to every live child group (the compiled program
  stops at the current step and writes what it has; make stops at once), and
  :func:`wait` polls, so the parent's own signal handlers run within a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: Child process groups alive now (pgid -> Popen).
_CHILDREN: dict[int, subprocess.Popen] = {}

_WATCHDOG = """
import os, signal, sys, time
parent, group = int(sys.argv[1]), int(sys.argv[2])
while True:
    time.sleep(0.2)
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        sys.exit(0)          # the child's group is gone: nothing to watch
    if os.getppid() != parent:
        break                # re-parented: the parent is gone
try:
    os.killpg(group, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


def spawn(cmd, **popen_kwargs) -> subprocess.Popen:
    """Start ``cmd`` in its own session with a watchdog that kills its group if this process
    dies; the child is registered for :func:`interrupt_children` until :func:`wait` returns."""
    proc = subprocess.Popen(cmd, start_new_session=True, close_fds=True, **popen_kwargs)
    _CHILDREN[proc.pid] = proc
    subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(proc.pid)],
                     start_new_session=True, close_fds=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


def wait(proc: subprocess.Popen, poll: float = 0.05) -> int:
    """Wait for ``proc`` while letting signal handlers run; if an exception (Ctrl-C as
    KeyboardInterrupt) interrupts the wait, the child's group is killed first."""
    try:
        while proc.poll() is None:
            time.sleep(poll)
        return proc.returncode
    except BaseException:
        kill(proc)
        raise
    finally:
        _CHILDREN.pop(proc.pid, None)


def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Signal the child's whole group (quietly if it is already gone) and reap it."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    if sig == signal.SIGKILL:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def interrupt_children(sig=signal.SIGINT) -> None:
    """Forward ``sig`` (Ctrl-C) to every live child group."""
    for pgid in list(_CHILDREN):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            _CHILDREN.pop(pgid, None)


def call(cmd, stdout=None, **kwargs) -> int:
    """``subprocess.call`` through :func:`spawn` and :func:`wait` (the compiled program)."""
    return wait(spawn(cmd, stdout=stdout, **kwargs))


class SubprocessShim:
    """Stands in for the ``subprocess`` module inside Brian2's standalone device module while a
    circuit-sim build runs: ``call`` is :func:`call`, everything else is the real module."""

    def __getattr__(self, name):
        return call if name == "call" else getattr(subprocess, name)
