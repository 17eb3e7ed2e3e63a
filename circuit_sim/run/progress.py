"""What a run says while it works: its phases as they happen, and progress with an ETA.

A :class:`Reporter` writes to one stream. On a terminal it draws tqdm progress bars
(compiling N files; simulating with an ETA, also while a compiled standalone program runs:
the program writes its step count to ``results/progress.txt`` about twice a second, which a
thread here reads); on anything else it writes plain lines, at most one every 10 seconds
(``simulating:  42.0%  elapsed ... ETA ...``, every 10 s). ``Reporter(None)`` is silent. The CLI's
default is a reporter on stderr when stderr is a terminal, silence otherwise (``--progress``
forces it, ``--quiet`` silences it).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np


class _PlainBar:
    """Throttled progress lines for a stream that is not a terminal."""

    def __init__(self, stream, total, desc, unit, min_interval=10.0):
        self.stream, self.total, self.desc, self.unit = stream, total, desc, unit
        self.n, self.t0, self.last, self.min_interval = 0, time.monotonic(), -np.inf, min_interval

    def update_to(self, n) -> None:
        self.n = n
        now = time.monotonic()
        done = self.total and n >= self.total
        if n <= 0 or (not done and now - self.last < self.min_interval) or self.last == np.inf:
            return
        self.last = np.inf if done else now
        self._line(now)

    def _line(self, now) -> None:
        el = now - self.t0
        frac = self.n / self.total if self.total else 0.0
        eta = (f"ETA {el * (1 - frac) / frac:6.1f} s" if 0.002 < frac < 1 else
               "done" if frac >= 1 else "ETA     -- ")
        self.stream.write(f"  {self.desc}: {100 * frac:5.1f}%  elapsed {el:6.1f} s  {eta}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.n > 0 and self.last != np.inf:  # the last state, once
            self.last = np.inf
            self._line(time.monotonic())


class _TqdmBar:
    def __init__(self, stream, total, desc, unit):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=f"  {desc}", unit=unit, file=stream, leave=True,
                        dynamic_ncols=True, mininterval=0.5, unit_scale=unit == "steps")

    def update_to(self, n) -> None:
        self.bar.update(max(0, n - self.bar.n))

    def close(self) -> None:
        self.bar.close()


class Reporter:
    """Phases and progress bars on ``stream`` (None: silent); ``bars`` defaults to whether the
    stream is a terminal."""

    def __init__(self, stream, bars: bool | None = None):
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.bars = bool(isatty()) if bars is None and callable(isatty) else bool(bars)
        self.t0 = time.monotonic()

    @classmethod
    def of(cls, progress) -> "Reporter":
        """A reporter from what the public API accepts: a Reporter, a stream or None."""
        return progress if isinstance(progress, Reporter) else cls(progress)

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def say(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text + "\n")
            self.stream.flush()

    def phase(self, text: str) -> None:
        """One line naming what starts now (and the time since the reporter was made)."""
        self.say(f"  [{time.monotonic() - self.t0:6.1f} s] {text}")

    def bar(self, total: int, desc: str, unit: str = "steps"):
        if self.stream is None:
            return None
        if self.bars:
            return _TqdmBar(self.stream, total, desc, unit)
        return _PlainBar(self.stream, total, desc, unit)


class BrianProgress:
    """Brian2 ``report`` callback driving a reporter's bar (runtime backends)."""

    def __init__(self, reporter: Reporter, total_steps: int):
        self.bar = reporter.bar(total_steps, "simulating")
        self.total = total_steps

    def __call__(self, elapsed, completed, start, duration):
        if self.bar is not None:
            self.bar.update_to(int(round(float(completed) * self.total)))
            if completed >= 1.0:
                self.bar.close()


class ProgramWatcher:
    """Reads a standalone program's ``results/progress.txt`` twice a second into a bar (a
    thread), from when the program starts until :meth:`stop`."""

    def __init__(self, reporter: Reporter, directory, step0: int, total: int):
        self.reporter, self.path = reporter, Path(directory) / "results" / "progress.txt"
        self.step0, self.total = step0, total
        self._stop = threading.Event()
        self._thread = None
        self.bar = None
        try:
            self.path.unlink()
        except OSError:
            pass

    def start(self) -> None:
        if self.reporter.enabled and self._thread is None:
            self.bar = self.reporter.bar(self.total, "simulating")
            self._thread = threading.Thread(target=self._work, daemon=True,
                                            name="circuit_sim-progress")
            self._thread.start()

    def _read(self) -> int | None:
        try:
            return int(float(self.path.read_text().split()[0])) - self.step0
        except (OSError, ValueError, IndexError):
            return None

    def _work(self) -> None:
        while not self._stop.wait(0.5):
            n = self._read()
            if n is not None and self.bar is not None:
                self.bar.update_to(min(n, self.total))

    def stop(self, finished: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            if finished:
                self.bar.update_to(self.total)
            self.bar.close()


def say(stream, text: str) -> None:
    """Write one line to ``stream`` (None: silence) and flush it."""
    if stream is not None:
        stream.write(text + "\n")
        stream.flush()


class BuildProgress:
    """The standalone build's phases (``circuit.backends.BUILD_REPORTER``): code generation,
    compiling N files (a bar), then the program's run (a :class:`ProgramWatcher`)."""

    def __init__(self, reporter: Reporter, watcher: ProgramWatcher | None):
        self.reporter, self.watcher = reporter, watcher
        self.compile_bar = None
        self.compiling = False

    def __enter__(self) -> "BuildProgress":
        from ..circuit import backends

        self._old = backends.BUILD_REPORTER
        backends.BUILD_REPORTER = self
        self.reporter.phase("generating C++ code")
        return self

    def __call__(self, phase: str, done=None, total=None) -> None:
        if phase == "compiling":
            if not self.compiling:
                self.compiling = True
                self.reporter.phase(f"compiling {total} file(s)" if total else
                                    "compiling: nothing changed (cached project)")
                if total:
                    self.compile_bar = self.reporter.bar(total, "compiling", "files")
            if self.compile_bar is not None:
                self.compile_bar.update_to(done)
        elif phase == "running":
            if self.compile_bar is not None:
                self.compile_bar.close()
                self.compile_bar = None
            self.reporter.phase("running the compiled program")
            if self.watcher is not None:
                self.watcher.start()

    def __exit__(self, *exc) -> None:
        from ..circuit import backends

        backends.BUILD_REPORTER = self._old
        if self.compile_bar is not None:
            self.compile_bar.close()
        if self.watcher is not None:
            self.watcher.stop(finished=exc[0] is None)
