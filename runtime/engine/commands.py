"""One state-changing command committed through the write path from this process, without
starting an engine: what `weboter break|set|patch|jump|rewind|pause` and the MCP server's
debugger tools do. A process that drives the run sees the change before its next node."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.decide import COMMANDS, Command
from weboter.runtime.core.references import EnvSource
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.runstore import Outcome, RunStore
from weboter.schemas.state import Breakpoint


def commit(db_path: Path, run_id: str, make: Callable[[str, str, str], Command]) -> Outcome:
    """Commit `make(command_id, reply_to, run_id)`; IllegalTransition (nothing appended) when
    the run's state does not allow it."""
    log = EventLog(db_path, create=False)
    try:
        command = make(uuid.uuid4().hex, "", run_id)
        assert isinstance(command, COMMANDS)
        return RunStore(log, default_catalog(), EnvSource()).execute(command)
    finally:
        log.close()


def breakpoint_at(
    when: Literal["before", "after", "condition", "error"],
    node_id: str | None = None,
    condition: str | None = None,
    *,
    once: bool = False,
    id_: str | None = None,
) -> Breakpoint:
    """A breakpoint, named `when:node` (or `when:condition`) unless given an id."""
    return Breakpoint(
        id=id_ or f"{when}:{node_id or condition or ''}",
        when=when,
        node_id=node_id,
        condition=condition,
        once=once,
    )
