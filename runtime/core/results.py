"""A node's result as a Node Runner reports it: what the action produced — its outputs
(checked against the limits), the variables it wrote itself, the secrets it read. Where that
takes the run (outputs mapped, the control's choice) is decided in core/advance.py."""

from __future__ import annotations

import time
from typing import Any

from weboter.runtime.core.catalog import ActionContext
from weboter.runtime.core.limits import check_value
from weboter.runtime.core.references import Resolver
from weboter.runtime.errors import ActionError
from weboter.schemas.messages import ExecuteNode, RecordNodeResult


def completed(
    task: ExecuteNode,
    ctx: ActionContext,
    resolver: Resolver,
    done: tuple[dict[str, Any], Any],
    started: float,
    attempt: int,
) -> RecordNodeResult:
    """The result of `task` whose action took `done` = (inputs, outputs); ActionError (or
    ValueRefused) when the outputs are not plain data within the limits."""
    inputs, outputs = done
    if not isinstance(outputs, dict):
        raise ActionError(f"{task.node.action} returned {type(outputs).__name__}, not a dict")
    check_value(outputs, f"node {task.node.id!r} outputs")
    return result_of(
        task,
        outputs=outputs,
        flow_vars=dict(ctx.flow_writes),
        global_vars=dict(ctx.global_writes),
        inputs=inputs,
        attempts=attempt,
        duration_ms=(time.perf_counter() - started) * 1000,
        secrets=dict(resolver.secrets),
        elements=ctx.elements,
    )


def result_of(task: ExecuteNode, **fields: Any) -> RecordNodeResult:
    """A result about `task` (its run, version, node and who asked) with `fields`."""
    return RecordNodeResult(
        command_id=task.command_id,
        run_id=task.run_id,
        version=task.version,
        node_id=task.node.id,
        flow_path=task.flow_path,
        reply_to=task.reply_to,
        **fields,
    )
