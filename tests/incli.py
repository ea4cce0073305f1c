"""The `weboter` command called in this process: `main(argv)` of runtime/cli/main.py, with
the environment, stdin, stdout and stderr a subprocess would have had, and the result as a
`subprocess.CompletedProcess` (the exit code from the return value or from SystemExit).

For tests of what a command says and how it exits: it saves the start of a Python process
(about a second on a busy machine). A test about the process boundary (signals, kill -9, a
second process at the same time, the real executable's exit code, a server) runs the command
as a subprocess: `tests.conftest.weboter`."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from weboter.runtime.cli.main import main

_ONE_AT_A_TIME = threading.Lock()  # sys.stdout, sys.stderr, os.environ are the process's


class _Text(io.StringIO):
    """A captured stream whose writes from other threads (progress lines) are kept whole."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return super().write(text)


@contextlib.contextmanager
def environment(changes: dict[str, str]) -> Iterator[None]:
    """os.environ with `changes` within the block; exactly as it was after it."""
    before = dict(os.environ)
    os.environ.update(changes)
    try:
        yield
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        os.environ.update(before)


@contextlib.contextmanager
def warnings_to(stream: io.StringIO) -> Iterator[None]:
    """Log records of WARNING and above as plain lines on `stream`: what Python's last-resort
    handler writes to a process's stderr when nothing configured logging (pytest has)."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def cli(
    *args: str, home: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`weboter ARGS` in this process, with its home (and log) in `home`; `stdin`: what it
    reads (not a terminal, as in a pipe)."""
    out, err = _Text(), _Text()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    with (
        _ONE_AT_A_TIME,
        environment({"WEBOTER_HOME": str(home), **(env or {})}),
        warnings_to(err),
    ):
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, a usage error
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                err.write(exc.code + "\n")
        finally:
            sys.stdin, sys.stdout, sys.stderr = streams
    return subprocess.CompletedProcess(["weboter", *args], code, out.getvalue(), err.getvalue())
