"""The AI gateway's operations (the seed's `AIOperationService`), each validated by the engine
before anything is used:

- `generate_workflow(model, prompt)` -> Workflow: the model's reply must parse and pass the
  engine's own validation; the findings go back to the model until it does (bounded tries).
- `propose_repair(model, state, steps)` -> (RepairAction, confidence): a repair for a run in
  ERROR (or PAUSED), checked by a dry run against the run's state. Recording and applying it
  (`suggest_repair`, `modify_runtime`) is the write path's: runtime/engine/commands.py, and
  the AI Gateway actor for `on_error: ai`.

Every request carries a context read from the log (secrets as `$env{name}`), never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from weboter.runtime.actions import default_catalog
from weboter.runtime.ai.models import Model
from weboter.runtime.ai.prompts import REPAIRING, repair_context, writing
from weboter.runtime.core.decide import Decider
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.untrusted import scrub, secrets_of
from weboter.runtime.core.validate import validate
from weboter.runtime.errors import IllegalTransition, ModelError, WeboterError, WorkflowInvalid
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.messages import ApplyRepair
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Workflow

T = TypeVar("T")
TRIES = 3  # replies asked for before giving up (each after the last one's faults are told)
FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


class RepairReply(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the model is asked to reply with for a repair."""

    kind: Literal["retry", "skip", "patch", "set_variables", "jump", "abort"]
    reason: str
    confidence: float = 0.5
    node_id: str | None = None
    changes: NodeModifications | None = None
    variables: dict[str, Any] = {}
    target_node: str | None = None


def converse(
    model: Model,
    system: str,
    user: str,
    reply: type[T],
    check: Callable[[T], None],
    what: str,
    tries: int = TRIES,
) -> T:
    """Ask until a reply decodes as `reply` and passes `check`; each fault is told to the
    model. ModelError after `tries` replies."""
    schema = msgspec.json.schema(reply)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    fault = ""
    for _ in range(tries):
        text = model.chat(messages, schema, what)
        try:
            value = msgspec.json.decode(FENCE.sub("", text).encode(), type=reply)
            check(value)
            return value
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            fault = f"the reply is not valid JSON for the schema: {exc}"
        except WeboterError as exc:
            fault = exc.message
        messages += [
            {"role": "assistant", "content": text[:20_000]},
            {"role": "user", "content": f"That is not usable: {fault}\nReply again, JSON only."},
        ]
    raise ModelError(
        f"the model gave no usable {what} in {tries} replies; the last fault: {fault}",
        hint="try again, rephrase the request, or use a stronger model",
    )


def generate_workflow(model: Model, prompt: str, tries: int = TRIES) -> Workflow:
    """A workflow for `prompt` that the engine's validation accepts."""
    catalog = default_catalog()

    def valid(workflow: Workflow) -> None:
        checked = to_workflow(msgspec.to_builtins(workflow), "the generated workflow")
        errors = [f for f in validate(checked, catalog) if f.severity == "error"]
        if errors:
            raise WorkflowInvalid("the generated workflow", errors)

    return converse(model, writing(catalog), prompt, Workflow, valid, "workflow", tries)


def failure_of(db_path: Path, run_id: str) -> tuple[str, RunState, list[Any]]:
    """(run id, its state, its node history) read from the log, for `propose_repair`."""
    with Reader(db_path) as log:
        run_id = log.run_id(run_id)
        state = log.state(run_id)
        steps = msgspec.to_builtins(log.snapshot(run_id).history)
    if state.status not in ("ERROR", "PAUSED"):
        raise IllegalTransition(
            f"run {run_id} is {state.status}: a repair is suggested for a run in ERROR or PAUSED"
        )
    return run_id, state, steps


def propose_repair(
    model: Model,
    state: RunState,
    steps: list[Any],
    *,
    env: EnvSource,
    aria: str = "",
    tries: int = TRIES,
) -> tuple[RepairAction, float]:
    """(a repair, the model's confidence in it) for the run where it stands; checked by a dry
    run of the repair against its state (a refusal is told to the model, which tries again).
    What the model is told holds no value of the `$env` references the run uses, as `env`
    resolves them, whatever their length (runtime/core/untrusted.py)."""
    decider = Decider(default_catalog(), EnvSource({}, use_os=False))

    def applicable(reply: RepairReply) -> None:
        decider.decide(state, repairing(state.run_id, _action(reply), None, source="person"))

    secrets = secrets_of([msgspec.to_builtins(state), steps], env)
    context = scrub(repair_context(state, steps, aria, default_catalog()), secrets)
    reply = converse(model, REPAIRING, context, RepairReply, applicable, "repair", tries)
    return _action(reply), min(max(reply.confidence, 0.0), 1.0)


def _action(reply: RepairReply) -> RepairAction:
    return RepairAction(
        kind=reply.kind,
        node_id=reply.node_id,
        modifications=reply.changes,
        variables=reply.variables,
        target_node=reply.target_node,
        reason=reply.reason,
    )


def repairing(
    run_id: str,
    action: RepairAction,
    version: int | None,
    command_id: str = "",
    reply_to: str = "",
    source: str = "model",
) -> ApplyRepair:
    return ApplyRepair(
        command_id=command_id,
        run_id=run_id,
        reply_to=reply_to,
        action=action,
        source=source,
        expect_version=version,
    )
