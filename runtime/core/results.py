"""A node's result as a Node Runner reports it: the action's outputs checked and mapped to
variables, and the control's choice of the next node (with the secrets it read)."""

from __future__ import annotations

import time
from typing import Any

from weboter.runtime.core.catalog import ActionContext, Catalog
from weboter.runtime.core.limits import check_value
from weboter.runtime.core.node import Writes, map_outputs, route
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.errors import ActionError
from weboter.schemas.messages import ExecuteNode, RecordNodeResult


def completed(
    task: ExecuteNode,
    catalog: Catalog,
    env: EnvSource,
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
    writes = map_outputs(task.node, outputs, Writes(dict(ctx.flow_writes), dict(ctx.global_writes)))
    secrets = dict(resolver.secrets)
    decision = route(
        task.node,
        catalog,
        env,
        globals_={**task.globals, **writes.globals} if writes.globals else task.globals,
        flow={**task.flow_vars, **writes.flow} if writes.flow else task.flow_vars,
        prev=task.prev_outputs,
        outputs=outputs,
        loop_count=task.loop_count,
        secrets=secrets,
    )
    return result_of(
        task,
        next_node=decision.next_node,
        outputs=outputs,
        flow_vars={**writes.flow, **decision.flow_writes},
        global_vars=writes.globals,
        loop_count=decision.loop_count,
        inputs=inputs,
        attempts=attempt,
        duration_ms=(time.perf_counter() - started) * 1000,
        secrets=secrets,
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
