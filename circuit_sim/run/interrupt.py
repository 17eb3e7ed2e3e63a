"""Ctrl-C during a run: stop cleanly and keep what has been recorded."""

from __future__ import annotations

import contextlib
import signal
import threading


class Interrupt:
    """Within a ``with`` block, SIGINT (Ctrl-C) sets :attr:`requested` and calls
    ``on_interrupt`` (for example ``network.stop``) instead of raising KeyboardInterrupt.

    The signal is forwarded to the supervised children (:mod:`circuit_sim.circuit.supervise`):
    a standalone program stops itself gracefully at the current step (Brian2's generated
    ``main`` handles SIGINT), a compiler stops at once; runtime networks stop after the
    current step through ``on_interrupt``. Outside the main thread, where signal handlers
    cannot be installed, the block runs unprotected.
    """

    def __init__(self, on_interrupt=None):
        self.on_interrupt = on_interrupt
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        from ..circuit.supervise import interrupt_children

        self.requested = True
        interrupt_children(signal.SIGINT)
        if self.on_interrupt is not None:
            self.on_interrupt()

    def __enter__(self) -> "Interrupt":
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None


@contextlib.contextmanager
def stopped_by(ctrl_c: Interrupt):
    """A build that fails because Ctrl-C stopped it (a compiler killed half-way, a program
    that never started) is an interruption (KeyboardInterrupt), not a build error."""
    try:
        yield
    except RuntimeError:
        if ctrl_c.requested:
            raise KeyboardInterrupt from None
        raise
