"""`recover`: what a failed node's `on_error` policy does, decided where the node failed.

When a command leaves a driven run (RUNNING or STEPPING) in ERROR, the decider calls this
in the same command, so the policy is decided from the run's events alone (its attempts are
events too: RepairApplied by the `policy`, RepairRequested) and a resumed, verified or forked
run counts on where it was:

| policy (node's, else run's) | what happens                                                 |
|-----------------------------|--------------------------------------------------------------|
| an `error` breakpoint, or a | the run waits in ERROR (the debugger stops there)             |
| page restored unlike it was |                                                              |
| fail (the default)          | RunFailed                                                     |
| retry, attempts left        | RepairApplied(retry) and the node runs again, in the same mode |
| retry, attempts used up     | RunFailed                                                     |
| skip                        | RepairApplied(skip): the node counts as done, its control goes on |
| retry or skip not possible  | RunFailed, saying why                                         |
| ai, attempts left           | RepairRequested: the executor asks the model (AI gateway)     |
| ai, attempts used up        | RunWaiting: the run waits for a person, saying so             |
| pause, heal                 | the run waits in ERROR                                        |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from msgspec.structs import replace

from weboter.runtime.core.decision import Decision
from weboter.runtime.core.repair import policy_at
from weboter.runtime.errors import IllegalTransition
from weboter.schemas.context import RepairAction
from weboter.schemas.events import RepairRequested, RunFailed, RunWaiting
from weboter.schemas.live import ApplyRepair
from weboter.schemas.state import RunState, RunStatus

# applies a repair to the decision (core.repair.repair with the decider's catalog and env)
Repairer = Callable[[Decision, RunState, ApplyRepair], None]
# a browser that came back on a page unlike the recorded one: the run always waits
WAIT = ("RestoreMismatch",)
MAX_RECOVERIES = 101  # policies allow at most 100 attempts; one more ends any loop


def recover(decision: Decision, repairer: Repairer) -> None:
    """Add what the failed node's policy does to `decision`, if it failed while driven."""
    for _ in range(MAX_RECOVERIES):
        state = decision.after
        mode = decision.failed_while
        if mode is None or state.status != RunStatus.ERROR or state.error is None:
            return
        decision.failed_while = None
        if any(b.when == "error" for b in state.breakpoints) or state.error.kind in WAIT:
            return  # a person looks at it
        policy = policy_at(state)
        node_id = state.current_node or ""
        left = state.recoveries < policy.attempts
        if policy.do == "fail" or (policy.do == "retry" and not left):
            decision.add(RunFailed(error=state.error))
        elif policy.do == "ai" and left:
            attempt = state.recoveries + 1
            decision.add(
                RepairRequested(node_id=node_id, attempt=attempt, attempts=policy.attempts)
            )
        elif policy.do == "ai":
            reason = f"the model's {policy.attempts} attempt(s) at this node are used up"
            decision.add(RunWaiting(node_id=node_id, reason=reason))
        elif policy.do in ("retry", "skip"):
            kind: Literal["retry", "skip"] = "retry" if policy.do == "retry" else "skip"
            action = RepairAction(kind=kind, node_id=node_id, reason="on_error")
            command = ApplyRepair(
                command_id="",  # never sent: decided here, recorded as RepairApplied
                run_id=state.run_id,
                reply_to="",
                action=action,
                source="policy",
                mode="step" if mode == RunStatus.STEPPING else "continuous",
            )
            mark = decision.mark()
            try:
                repairer(decision, state, command)  # may fail again: the loop decides again
            except IllegalTransition as exc:  # e.g. a control that cannot decide with no outputs
                decision.undo(mark)
                decision.failed_while = None
                hint = f"on_error {policy.do}: {exc.message}"
                decision.add(RunFailed(error=replace(state.error, hint=hint)))
