"""The engine's own steps after a command: what happens between two nodes for a runner.

After a node completes (or a run starts), `Settler.settle` walks the steps the engine takes
by itself, in the same command: entering a SubFlow, returning from one (its control decides
where the caller goes on), ending the run at `__end__`/`__exit__` (an agent's session pauses
there instead, for its next act), pausing at a breakpoint, on request, or after a step. It
stops where a node for a Node Runner is next, or the run rests.
"""

from __future__ import annotations

from dataclasses import dataclass

from weboter.runtime.core.advance import advance
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.expressions import evaluate
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.node import Writes, pick, picker_target
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.errors import ExpressionError, IllegalTransition
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import (
    Event,
    NodeCompleted,
    NodeFailed,
    RunCompleted,
    RunPaused,
    SubFlowEntered,
    SubFlowReturned,
)
from weboter.schemas.state import RunState, RunStatus
from weboter.schemas.workflow import END, EXIT

MAX_SETTLE = 1000  # engine steps after one node; more means SubFlows call each other forever


@dataclass
class Settler:
    catalog: Catalog
    env: EnvSource

    def settle(self, decision: Decision) -> None:
        """Add the engine's own steps to `decision` until a runner's node is next.

        When stepping, one step is one node run, or one sub-flow entered ("step into"): after
        either, returns from finished sub-flows still happen, then the run pauses.
        """
        base, current = decision.base, decision.after
        stepping = current.status == RunStatus.STEPPING
        over = current.step_depth  # stepping over: only a step back at this depth counts
        completed = None  # the node the command completed last (or the sub-flow it left)
        ran = False  # a node completed
        for event in decision.events:
            if isinstance(event, NodeCompleted):
                completed, ran = event.node_id, True
            elif isinstance(event, SubFlowReturned):
                completed = event.node_id
        stepped = ran and (over is None or len(current.frames) <= over)
        # a node was just reached: by completing one, or by starting a run that never ran
        arrived = stepped or (base is not None and base.status == RunStatus.LOADED)
        for _ in range(MAX_SETTLE):
            if current.status.terminal or current.status == RunStatus.ERROR:
                return
            if current.status == RunStatus.RUNNING:
                hit = breakpoint_hit(current, completed, arrived)
                if hit is not None:
                    decision.add(RunPaused(reason="breakpoint", breakpoint=hit))
                    return
                completed = None  # an "after" breakpoint is checked once, right after its node
            step = self._engine_step(current, decision.secrets)
            if step is None and current.status == RunStatus.RUNNING and current.pause_requested:
                decision.add(RunPaused(reason="requested"))  # before the runner's next node
                return
            if step is None or (stepping and stepped and isinstance(step, SubFlowEntered)):
                break
            current = decision.add(step)
            if isinstance(step, RunPaused):  # a session at its end: it waits for the next act
                return
            if over is None:
                stepped = stepped or isinstance(step, SubFlowEntered)
            elif isinstance(step, SubFlowReturned) and len(current.frames) <= over:
                stepped = True
        else:
            error = ErrorContext(
                kind="RecursionError",
                message="SubFlows call each other forever",
                node_id=current.current_node,
            )
            decision.add(NodeFailed(node_id=current.current_node or "", error=error))
            return
        if stepping and stepped and current.status == RunStatus.STEPPING:
            decision.add(RunPaused(reason="step"))

    def _engine_step(self, state: RunState, secrets: dict[str, str]) -> Event | None:
        """The step the engine takes itself at the cursor; None when a runner's node is next."""
        frame = state.frame
        cursor = frame.cursor
        if cursor == EXIT:
            return RunCompleted(end=EXIT)
        if cursor == END or cursor is None:
            if len(state.frames) == 1:
                return RunPaused(reason="session") if state.session else RunCompleted(end=END)
            return self._return(state, secrets)
        node = index_for(state.workflow).node(frame.flow_path, cursor)
        if node is None:
            return NodeFailed(
                node_id=cursor,
                error=ErrorContext(
                    kind="UnknownNode",
                    message=f"flow {'/'.join(frame.flow_path)} has no node {cursor!r}",
                    node_id=cursor,
                    flow_path=frame.flow_path,
                    hint="fix the control's params that name it",
                ),
            )
        if state.max_nodes and state.nodes_completed >= state.max_nodes:
            return _over_budget(state, node.id)
        spec = self.catalog.find_action(node.action)
        if spec is None or not spec.engine:
            return None
        try:
            return self._enter(state, node.id, node.inputs, secrets)
        except Exception as exc:  # a control's fault fails its node, never the command
            return NodeFailed(node_id=node.id, error=error_context(exc, node.id, frame.flow_path))

    def _enter(self, state: RunState, node_id: str, inputs: dict, secrets: dict[str, str]) -> Event:
        frame = state.frame
        index = index_for(state.workflow)
        flow_id = str(inputs.get("flow_id"))
        path = index.callable_from(frame.flow_path, flow_id)
        if path is None:
            raise IllegalTransition(
                f"node {node_id!r}: no sub-flow {flow_id!r} is visible from flow "
                f"{'/'.join(frame.flow_path)}",
                hint="a flow can call its own sub_flows and its ancestors' sub_flows",
            )
        resolver = Resolver(
            self.env.for_run(state.run_id),
            globals_=state.globals,
            flow=frame.vars,
            prev=state.prev_outputs,
        )
        variables: dict = {}
        global_vars: dict = {}
        for dst, value in pick(inputs.get("data_in") or [], resolver, f"node {node_id!r} data_in"):
            scope, name = picker_target(dst)
            (global_vars if scope == "global" else variables)[name] = value
        secrets.update(resolver.secrets)
        return SubFlowEntered(
            node_id=node_id,
            flow_path=list(path),
            start_node=index.flow(path).start or END,
            variables=variables,
            global_vars=global_vars,
        )

    def _return(self, state: RunState, secrets: dict[str, str]) -> Event:
        sub, caller_frame = state.frames[-1], state.frames[-2]
        node_id = sub.caller or ""
        node = index_for(state.workflow).node(caller_frame.flow_path, node_id)
        try:
            if node is None:
                raise IllegalTransition(
                    f"the caller {node_id!r} of sub-flow {sub.flow_path[-1]} is gone"
                )
            inner = Resolver(
                self.env.for_run(state.run_id),
                globals_=state.globals,
                flow=sub.vars,
                prev=state.prev_outputs,
            )
            outputs = dict(
                pick(node.inputs.get("data_out") or [], inner, f"node {node_id!r} data_out")
            )
            secrets.update(inner.secrets)
            moved = advance(
                state,
                caller_frame,
                node,
                outputs,
                Writes(),
                catalog=self.catalog,
                env=self.env.for_run(state.run_id),
                secrets=secrets,
            )
        except Exception as exc:  # a control's fault fails its node, never the command
            return NodeFailed(
                node_id=node_id, error=error_context(exc, node_id, caller_frame.flow_path)
            )
        return SubFlowReturned(
            node_id=node_id,
            flow_path=caller_frame.flow_path,
            next_node=moved.next_node,
            outputs=outputs,
            flow_vars=moved.flow_vars,
            global_vars=moved.global_vars,
            loop_count=moved.loop_count,
        )


def _over_budget(state: RunState, node_id: str) -> NodeFailed:
    """The run has done as many nodes as its budget allows: it stops before the next one."""
    return NodeFailed(
        node_id=node_id,
        error=ErrorContext(
            kind="NodeBudgetExceeded",
            message=f"run {state.run_id} has run {state.nodes_completed} nodes, its budget; "
            f"{node_id!r} would be the next (a loop that never ends?)",
            node_id=node_id,
            flow_path=state.frame.flow_path,
            hint="check the loop's exit condition; to allow more, fork with a bigger budget: "
            "weboter fork RUN --at SEQ --max-nodes N (or run with --max-nodes N)",
        ),
    )


def breakpoint_hit(state: RunState, completed: str | None, arrived: bool) -> str | None:
    """The id of the breakpoint that stops the run here, if any."""
    cursor = state.current_node
    for bp in state.breakpoints:
        if bp.when == "after" and completed is not None and bp.node_id == completed:
            return bp.id
        if bp.when == "before" and arrived and bp.node_id == cursor:
            return bp.id
        if bp.when == "condition" and bp.condition and (completed is not None or arrived):
            names = {**state.globals, **state.frame.vars}
            try:
                if evaluate(bp.condition, names):
                    return bp.id
            except ExpressionError:
                continue  # a condition over variables that do not exist yet: not hit
    return None
