"""Running a node inline: in the calling thread, with no timeout, no retries, no browser.
(The actions layer runs actions; the core only decides.)

A node qualifies when its action is a bounded synchronous builtin (it ends on its own, soon:
the limits on values, expressions and regexes see to it) and the node asks for neither a
`timeout` nor retries. The Node Runner runs such a node in its own thread instead of on its
asyncio loop; the State Manager runs a stretch of them right after committing the node before,
so a loop of data nodes crosses no thread at all (docs/performance.md).

    if runs_inline(task.node, spec):
        result = run_inline(task, spec, Inline(catalog, env, artifacts, workspace))
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from weboter.runtime.core.catalog import ActionContext, ActionSpec, Catalog
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.limits import flat
from weboter.runtime.core.node import resolve_inputs
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.results import completed, result_of
from weboter.runtime.errors import ActionError
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.workspace import Workspace
from weboter.schemas.messages import ExecuteNode, RecordNodeResult
from weboter.schemas.workflow import Node

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(RecordNodeResult)


@dataclass(frozen=True)
class Inline:
    """What running a node needs besides the node: actions, $env, where files may go."""

    catalog: Catalog
    env: EnvSource
    artifacts: ArtifactStore | None = None
    workspace: Workspace | None = None


def runs_inline(node: Node, spec: ActionSpec | None) -> bool:
    """True when `node` may run in the calling thread: see the module's docstring."""
    if spec is None or not spec.bounded or spec.is_async or node.timeout is not None:
        return False
    return node.retry is None or node.retry.attempts <= 1


def context_for(task: ExecuteNode, how: Inline) -> tuple[ActionContext, Resolver]:
    """The action's context and the resolver of the node's references, for one attempt."""
    ctx = ActionContext(
        run_id=task.run_id,
        node_id=task.node.id,
        flow_vars=task.flow_vars,
        globals=task.globals,
        artifacts=how.artifacts,
        workspace=how.workspace,
    )
    resolver = Resolver(
        how.env.for_run(task.run_id),
        globals_=task.globals,
        flow=task.flow_vars,
        prev=task.prev_outputs,
    )
    return ctx, resolver


def run_inline(task: ExecuteNode, spec: ActionSpec, how: Inline) -> RecordNodeResult:
    """Run `task` once, here; its result (a failure is a result too), as it would arrive by
    message."""
    started = time.perf_counter()
    ctx, resolver = context_for(task, how)
    try:
        inputs = resolve_inputs(task.node, spec, resolver)
        outputs = spec.fn(ctx, inputs)
        if isinstance(outputs, dict):
            outputs = dict(outputs)  # the run's own, as after a message (an action may keep it)
        elif inspect.isawaitable(outputs):
            raise ActionError(f"{spec.name} is async but declared sync")
        result = completed(task, ctx, resolver, (inputs, outputs), started, 1)
    except Exception as exc:
        return failed(task, resolver, exc, started, 1)
    # as a result sent by message arrives, so a node's outputs do not depend on which thread
    # ran it: a tuple becomes a list
    return recordable(task, result, how.env)[0]


def failed(
    task: ExecuteNode, resolver: Resolver, exc: BaseException, started: float, attempt: int
) -> RecordNodeResult:
    """`task` failed with `exc` at its `attempt`."""
    return result_of(
        task,
        attempts=attempt,
        error=error_context(exc, task.node.id, task.flow_path, attempt),
        duration_ms=(time.perf_counter() - started) * 1000,
        secrets=dict(resolver.secrets),
    )


def recordable(
    task: ExecuteNode, result: RecordNodeResult, env: EnvSource
) -> tuple[RecordNodeResult, bytes]:
    """`result` as its reader gets it from a message (through msgpack: a tuple becomes a
    list), and its encoding. A result that cannot be encoded (live objects, a whole number
    beyond 64 bits) or read back (a key that is not text, a loop count that is not whole)
    becomes the node's failure, so no node is ever dropped."""
    try:
        encoded = _encoder.encode(result)
        if _as_sent(result):  # the usual: msgpack would give it back as it is
            return result, encoded
        return _decoder.decode(encoded), encoded
    except Exception as exc:
        error = ActionError(
            f"node {task.node.id!r}: its outputs cannot be recorded ({_why(exc)})",
            hint="actions and controls must give plain data: text, numbers (whole numbers "
            "within 64 bits), lists, dicts with text keys",
        )
        resolver = Resolver(env.for_run(task.run_id))
        refused = failed(task, resolver, error, time.perf_counter(), result.attempts)
        return refused, _encoder.encode(refused)


def _as_sent(result: RecordNodeResult) -> bool:
    """True when a message would carry `result` unchanged: flat values (limits.flat), no
    elements."""
    if result.elements:
        return False
    return all(map(flat, (result.outputs, result.inputs, result.flow_vars, result.global_vars)))


def _why(exc: Exception) -> str:
    if isinstance(exc, OverflowError):
        return "a whole number does not fit in 64 bits; make it text, or a float"
    return f"{type(exc).__name__}: {exc}"


# A stretch of inline nodes looks at the inbox (a pause, a stop, another run) between two
# nodes, at most every LOOK_EVERY seconds: what waits, waits at most that long (plus a node).
LOOK_EVERY = 0.001


class Stretch:
    """The State Manager's stretch of inline nodes: which planned node it runs itself, and
    the `$env` values those nodes read, handed to the Node Runner with the run's next node
    (so it can redact them too)."""

    def __init__(self, how: Inline) -> None:
        self.how = how
        self._next_look = 0.0  # when the stretch next looks at the inbox
        self._learned: dict[str, dict[str, str]] = {}  # run -> secrets its inline nodes read

    def run(self, task: ExecuteNode, inbox_waiting: Callable[[], bool]) -> RecordNodeResult | None:
        """The result of `task` run here, or None when it goes to a Node Runner: it is not
        inline-able, or another message waits (checked at most every LOOK_EVERY)."""
        spec = self.how.catalog.find_action(task.node.action)
        if spec is None or not runs_inline(task.node, spec):
            return None
        now = time.monotonic()
        if now >= self._next_look:  # a look at the inbox costs a node's tenth: once a ms
            self._next_look = now + LOOK_EVERY
            if inbox_waiting():
                return None
        result = run_inline(task, spec, self.how)
        if result.secrets:
            self._learned.setdefault(result.run_id, {}).update(result.secrets)
        return result

    def hand_over(self, run_id: str, task: ExecuteNode | None, ended: bool) -> ExecuteNode | None:
        """`task` (the run's next node for a runner) with the secrets the run's inline nodes
        read since its last node went to a runner; a run that `ended` forgets them."""
        if task is None:
            if ended:
                self._learned.pop(run_id, None)
            return None
        learned = self._learned.pop(run_id, None)
        return msgspec.structs.replace(task, secrets=learned) if learned else task
