"""`weboter demo --serve` in a process of its own, for the tests that run the examples on it:
started, read until it said where it serves (within a bound), stopped with a signal."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

SAID_WITHIN = 30.0  # seconds the site has to say where it serves


class DemoSite:
    def __init__(self, proc: subprocess.Popen[str], said: str, reader: threading.Thread) -> None:
        self.proc, self.said, self._reader = proc, said, reader
        self._errors = ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig`; the exit code (within 20 s). Its pipes are closed afterwards."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._reader.join(10)  # it read stdout to its end
            assert self.proc.stdout is not None and self.proc.stderr is not None
            self._errors = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()

    def errors(self) -> str:
        """What it wrote on stderr (once stopped)."""
        return self._errors


def _lines(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Every line of the process's stdout, then "" at its end."""
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put("")


def serve_demo(*args: str, until: Callable[[str], bool] | None = None) -> DemoSite:
    """Start `weboter demo --serve ARGS` and read its stdout until a line for which `until`
    is true (default: the end of a JSON document); AssertionError if it exits or says nothing
    like it within SAID_WITHIN seconds (what it printed on stderr included)."""
    done = until or (lambda line: line.rstrip() == "}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", "demo", "--serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc, lines), daemon=True)
    reader.start()
    said, deadline = "", time.monotonic() + SAID_WITHIN
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        said += line
        if not line or done(line):
            break
    if said.strip() and done(said.splitlines()[-1]):
        return DemoSite(proc, said, reader)
    site = DemoSite(proc, said, reader)
    code = site.stop()
    raise AssertionError(
        f"weboter demo --serve said no URL within {SAID_WITHIN} s (exit {code}): "
        f"{said!r} {site.errors()[-2000:]}"
    )
