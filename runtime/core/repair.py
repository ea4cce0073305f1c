"""Recovering from errors: what a failing node's policy says (`policy_at`), and the repairs
that take a run out of ERROR (`repair`), each recorded as RepairApplied before the events it
makes.

| repair        | what it does                                                          |
|---------------|-----------------------------------------------------------------------|
| retry         | the failed node runs again                                            |
| skip          | the failed node counts as done with no outputs; its control decides   |
| patch         | a node's inputs/params/control/action change (validated first)        |
| set_variables | variables change: `$global{x}`, `$flow{x}`, or a plain name (the flow's |
|               | if the current flow has it, else global)                              |
| jump          | the run goes on at another node of the current flow                   |
| abort         | the run fails with its error                                          |

With a `mode` the run is driven on at once (RunStarted); without, it rests PAUSED and any
process may continue it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from weboter.runtime.core.advance import advance
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.containment import needs_approval
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.flows import index_for, merged
from weboter.runtime.core.node import Writes
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import IllegalTransition, WeboterError
from weboter.schemas.context import ErrorContext, NodeModifications, RepairAction
from weboter.schemas.events import (
    Event,
    JumpedTo,
    NodeCompleted,
    NodePatched,
    RepairApplied,
    RepairSuggested,
    RunFailed,
    RunPaused,
    RunStarted,
    VariableSet,
)
from weboter.schemas.messages import ApplyRepair, RecordNodeResult
from weboter.schemas.state import RunState, RunStatus
from weboter.schemas.workflow import END, EXIT, ON_ERROR, OnError

REPAIRABLE = (RunStatus.ERROR, RunStatus.PAUSED)
SCOPED = re.compile(r"\$(global|flow)\{([^}]+)\}|(global|flow)\.(.+)")
ALWAYS_FAIL = ("NodeBudgetExceeded",)  # a runaway guard: no policy keeps such a run going


def policy_of(value: OnError | str | None) -> OnError | None:
    """A node's (or run's) `on_error` as an OnError; None when it says nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return OnError(do=value)
    return value


def policy_at(state: RunState) -> OnError:
    """What the run's current (failed) node does on error: its own policy, else the run's,
    else fail (always fail when it ran out of its node budget)."""
    if state.error is not None and state.error.kind in ALWAYS_FAIL:
        return OnError(do="fail")
    node = index_for(state.workflow).node(state.frame.flow_path, state.current_node or "")
    found = policy_of(node.on_error if node is not None else None) or policy_of(state.on_error)
    return found or OnError(do="fail")


def healed_events(command: RecordNodeResult) -> list[Event]:
    """What the healer did for a node (before its NodeCompleted): its suggestion, applied, and
    the node's new locator as a patch (later runs of the node use it)."""
    healed = command.healed
    if healed is None:
        return []
    changes = NodeModifications(inputs=healed.inputs)
    action = RepairAction(
        kind="patch", node_id=command.node_id, modifications=changes, reason=healed.reason
    )
    return [
        RepairSuggested(
            node_id=command.node_id, source="healer", action=action, confidence=healed.score
        ),
        RepairApplied(node_id=command.node_id, source="healer", action=action),
        NodePatched(flow_path=list(command.flow_path), node_id=command.node_id, changes=changes),
    ]


def check_policy(value: OnError | str | None, where: str) -> str | None:
    """Why `value` is not a policy, or None."""
    found = policy_of(value)
    if found is None:
        return None
    if found.do not in ON_ERROR:
        return f"{where}: on_error {found.do!r} is not one of {', '.join(ON_ERROR)}"
    if not 1 <= found.attempts <= 100:
        return f"{where}: on_error attempts must be 1 .. 100, got {found.attempts}"
    return None


def repair(
    decision: Decision,
    state: RunState,
    command: ApplyRepair,
    catalog: Catalog,
    env: EnvSource,
    settle: Callable[[Decision], None],
) -> None:
    """Add the events of `command` to `decision`; IllegalTransition (nothing kept) if the run
    cannot be repaired that way now."""
    if state.status not in REPAIRABLE:
        raise IllegalTransition(
            f"run {state.run_id} is {state.status}: only a run in ERROR or PAUSED can be repaired",
            hint="fork it from before the failure to try a repair on a copy",
        )
    if command.expect_version is not None and state.version != command.expect_version:
        raise IllegalTransition(
            f"run {state.run_id} moved on (it is at version {state.version}, the repair was "
            f"made for version {command.expect_version})",
            hint="read its snapshot again and decide on what it is now",
        )
    action = command.action
    if command.source == "model":  # a model's change that reaches anything new: a person's
        held = needs_approval(state, action)
        if held:
            raise IllegalTransition(
                f"run {state.run_id}: the model's {action.kind} {held}",
                hint="a person applies it: approve it in `weboter ui`, or `weboter repair RUN` "
                "on a terminal (it asks); docs/security.md says what a model may change alone",
            )
    node_id = state.current_node or ""
    decision.add(RepairApplied(node_id=node_id, source=command.source, action=action))
    if action.kind == "abort":
        error = state.error or ErrorContext(kind="Aborted", message="aborted", node_id=node_id)
        decision.add(RunFailed(error=error))
        return
    if command.mode is not None:
        decision.add(RunStarted(mode=command.mode))
    _changes(decision, state, action, catalog, env)
    if command.mode is not None:
        settle(decision)
    elif decision.after.status == RunStatus.ERROR:
        decision.add(RunPaused(reason=f"repaired ({action.kind})"))


def _changes(
    decision: Decision, state: RunState, action: RepairAction, catalog: Catalog, env: EnvSource
) -> None:
    here = state.frame
    index = index_for(state.workflow)
    if action.kind == "skip":
        node = index.node(here.flow_path, here.cursor or "")
        if node is None:
            raise IllegalTransition(f"run {state.run_id} is at no node to skip")
        try:
            moved = advance(
                state,
                here,
                node,
                {},
                Writes(),
                catalog=catalog,
                env=env,
                secrets=decision.secrets,
                mapped=False,
            )
        except WeboterError as exc:
            raise IllegalTransition(
                f"node {node.id!r} cannot be skipped: its control cannot decide where to go "
                f"with no outputs ({exc.message})",
                hint="set what it needs first, or jump to the node the run should go on at",
            ) from exc
        decision.add(
            NodeCompleted(
                node_id=node.id,
                flow_path=list(here.flow_path),
                next_node=moved.next_node,
                flow_vars=moved.flow_vars,
                loop_count=moved.loop_count,
                attempts=0,
            )
        )
    elif action.kind == "patch":
        target = action.node_id or here.cursor or ""
        node = index.node(here.flow_path, target)
        if action.modifications is None or node is None:
            raise IllegalTransition(
                f"a patch needs `modifications` and a node of the flow ({target!r})"
            )
        changes = merged(node, action.modifications)  # a repair's inputs: only what changes
        decision.add(NodePatched(flow_path=list(here.flow_path), node_id=target, changes=changes))
    elif action.kind == "set_variables":
        for key, value in action.variables.items():
            scope, name = _scoped(key, state)
            decision.add(VariableSet(name=name, value=value, scope=scope))
    elif action.kind == "jump":
        target = action.target_node or ""
        if index.node(here.flow_path, target) is None and target not in (END, EXIT):
            raise IllegalTransition(f"flow {'/'.join(here.flow_path)} has no node {target!r}")
        decision.add(JumpedTo(node_id=target))


def _scoped(key: str, state: RunState) -> tuple[Literal["flow", "global"], str]:
    """`$global{x}` / `global.x`, `$flow{x}` / `flow.x`; a plain name is the flow's when the
    current flow has it, else global."""
    match = SCOPED.fullmatch(key)
    if match:
        name = str(match.group(2) or match.group(4))
        if (match.group(1) or match.group(3)) == "global":
            return "global", name
        return "flow", name
    return ("flow" if key in state.frame.vars else "global"), key
