"""One state-changing command committed through the write path from this process, without
starting an engine: what `weboter break|set|patch|jump|rewind|pause|repair` and the MCP
server's debugger tools do. A process that drives the run sees the change before its next
node. Also the AI gateway's recorded operations: `suggest_repair`, `modify_runtime`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from weboter.runtime.actions import default_catalog
from weboter.runtime.ai.gateway import failure_of, propose_repair
from weboter.runtime.ai.models import Model
from weboter.runtime.core.containment import held_back
from weboter.runtime.core.decide import COMMANDS, Command
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import IllegalTransition
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.runstore import Outcome, RunStore
from weboter.schemas.context import RepairAction
from weboter.schemas.messages import ApplyRepair, SuggestRepair
from weboter.schemas.state import Breakpoint


def commit(
    db_path: Path,
    run_id: str,
    make: Callable[[str, str, str], Command],
    env: EnvSource | None = None,
) -> Outcome:
    """Commit `make(command_id, reply_to, run_id)`; IllegalTransition (nothing appended) when
    the run's state does not allow it. `env`: the `$env` a decision may read (a skipped node's
    control, a sub-flow's data): the calling process's own — a server's (`ui`, `mcp`) allows
    only what its --env-file/--env-allow give; default: none of the environment."""
    log = EventLog(db_path, create=False)
    try:
        command = make(uuid.uuid4().hex, "", run_id)
        assert isinstance(command, COMMANDS)
        source = env if env is not None else EnvSource(use_os=False, holder="this command")
        return RunStore(log, default_catalog(), source).execute(command)
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


@dataclass(frozen=True)
class Suggestion:
    run_id: str
    action: RepairAction
    confidence: float
    seq: int  # the run's last seq when suggested: `modify_runtime` applies it there only
    held: str = ""  # why it needs a person's approval ("" : a model may apply it alone)


def suggest_repair(
    model: Model, db_path: Path, run_id: str, *, env: EnvSource, aria: str = ""
) -> Suggestion:
    """The model's repair for a run in ERROR (or PAUSED), recorded as RepairSuggested (with
    why it needs a person's approval, when it does: runtime/core/containment.py). `env`
    resolves the `$env` values the model must not be told."""
    run_id, state, steps = failure_of(db_path, run_id)
    action, confidence = propose_repair(model, state, steps, aria=aria, env=env)
    held = held_back(state, action, confidence)  # the write path records the same reason
    outcome = commit(
        db_path,
        run_id,
        lambda c, r, x: SuggestRepair(
            command_id=c, run_id=x, reply_to=r, action=action, confidence=confidence
        ),
        env,
    )
    return Suggestion(run_id, action, confidence, outcome.events[-1].seq, held)


def modify_runtime(
    db_path: Path,
    run_id: str,
    at_seq: int,
    action: RepairAction,
    *,
    source: str = "model",
    env: EnvSource | None = None,
) -> tuple[bool, str]:
    """Apply `action` only if the run is still where it was right after `at_seq`: (True, "")
    once applied, else (False, why). `source`: `person` when a person approved it; a
    `model`'s repair that needs approval is refused (runtime/core/containment.py)."""
    log = EventLog(db_path, create=False)
    try:
        run_id = log.resolve_run_id(run_id)
        seen = state_at(log, run_id, at_seq)
    finally:
        log.close()
    try:
        commit(
            db_path,
            run_id,
            lambda c, r, x: ApplyRepair(
                command_id=c,
                run_id=x,
                reply_to=r,
                action=action,
                source=source,
                expect_version=seen.version,
            ),
            env,
        )
    except IllegalTransition as exc:
        return False, exc.message
    return True, ""
