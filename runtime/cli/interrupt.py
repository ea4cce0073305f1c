"""Ctrl-C (SIGINT) and SIGTERM while a command drives runs: each run it drives is paused at
once and recorded so (`RunPaused`, reason "interrupted"), then the command exits with one line
per run saying how to go on. `weboter continue RUN` runs the interrupted node again."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.errors import WeboterError

SIGINT_EXIT, SIGTERM_EXIT = 130, 143


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""

    exit_code = SIGTERM_EXIT


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises Interrupted in the main thread."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def pause_now(client: EngineClient, runs: set[str], exc: KeyboardInterrupt) -> int:
    """Record each run as paused ("interrupted"), say so, and return the exit code."""
    for run_id in sorted(runs):
        try:
            RunHandle(run_id, through_engine(client, 10)).pause("interrupted", now=True)
            said = f"run {run_id} interrupted: it is PAUSED; go on with `weboter continue {run_id}`"
        except WeboterError as refused:  # it had come to rest meanwhile
            said = f"run {run_id}: {refused.message}"
        print(said, file=sys.stderr, flush=True)
    return exc.exit_code if isinstance(exc, Interrupted) else SIGINT_EXIT
