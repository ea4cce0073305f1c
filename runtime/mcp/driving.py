"""The MCP tools that drive runs: run a workflow, step, continue, fork, stop. They share one
engine in the server process, started on first use; each call waits until the run rests
(paused at a breakpoint or after a step, completed, failed, in ERROR) or `wait_seconds` pass,
and answers with where the run is. A run still going when the call returns goes on in this
server process; any server process can pause it (`pause_run`) or read it.

Progress: one notification per node run while the call waits, when the client asked for
progress. Only the `operator` profile has these tools.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anyio.from_thread
import anyio.to_thread
import msgspec
from mcp.server.mcpserver import Context
from typing_extensions import TypedDict

from weboter.runtime.core.references import display
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.handle import RunHandle, breakpoint_at, through_engine
from weboter.runtime.engine.shared import Engines
from weboter.runtime.errors import IllegalTransition, UsageError, WeboterError
from weboter.runtime.mcp.common import clear_errors, workflow_from
from weboter.runtime.store.reading import Reader
from weboter.schemas.messages import REJECTED, RunEnded

OnErrorName = Literal["fail", "pause", "retry", "skip", "heal", "ai"]


class Rested(TypedDict):
    run_id: str
    status: str  # where the run is now (RUNNING when it did not rest within wait_seconds)
    current_node: str | None
    error: dict[str, Any] | None
    nodes_run: int  # nodes completed during this call


class Driving:
    """The tools that drive runs, on the one engine of `engines` (started on first use),
    reading where a run is from the log at `db`."""

    def __init__(self, db: Path, engines: Engines) -> None:
        self.db, self.engines = db, engines

    def tools(self) -> list[Callable[..., Any]]:
        return [self.run_workflow, self.step, self.continue_run, self.fork_run, self.stop_run]

    async def _drive(
        self,
        ctx: Context | None,
        start: Callable[[EngineClient], str],
        wait_seconds: float,
        total: float | None = None,
    ) -> Rested:
        """`start(client)` in a worker thread, then wait there for the run to rest. Progress:
        a notification per node as its event streams in, naming the node (`total`: how many
        nodes the call runs, when that is known: a step runs one); the count comes from the
        log (an event can stream in after the run's end is known), and what the stream had
        not told yet is notified before the answer."""
        counted = [0]
        with Reader(self.db) as log:
            since = log.last_seq()

        def on_event(header: dict[str, Any], payload: bytes) -> None:
            if header.get("type") == "NodeCompleted":
                counted[0] += 1
                if ctx is not None:  # a notification only when the client asked for progress
                    said = f"node {_node_of(payload)} completed"
                    anyio.from_thread.run(ctx.report_progress, counted[0], total, said)

        def work() -> tuple[str, RunEnded | None]:
            with self.engines.get().client() as client:
                run_id = start(client)
                try:
                    ended = client.wait(run_id, timeout=max(wait_seconds, 0.1), on_event=on_event)
                except WeboterError:  # still going: say where it is
                    return run_id, None
                return run_id, ended

        run_id, ended = await anyio.to_thread.run_sync(work)
        if ended is not None and ended.status == REJECTED:  # it could not be driven at all
            error = ended.error
            raise IllegalTransition(
                error.message if error else f"run {run_id} cannot be driven now",
                hint=(error.hint if error else "") or "get_snapshot shows where it is",
            )
        with Reader(self.db) as log:
            rows = log.decoded(log.of_types(run_id, ("NodeCompleted",), after=since))
            nodes = [str(getattr(r.event, "node_id", "?")) for r in rows]
        ran = len(nodes)
        if ctx is not None:  # what the stream had not told yet
            for done in range(counted[0] + 1, ran + 1):
                await ctx.report_progress(done, total, f"node {nodes[done - 1]} completed")
        return _where(self.db, run_id, ran)

    @clear_errors
    async def run_workflow(
        self,
        workflow: dict[str, Any] | str,
        variables: dict[str, Any] | None = None,
        breakpoints: list[str] | None = None,
        paused: bool = False,
        max_nodes: int | None = None,
        on_error: OnErrorName | None = None,
        wait_seconds: float = 60.0,
        ctx: Context | None = None,
    ) -> Rested:
        """Run a workflow (an object, or YAML/JSON text). `breakpoints`: node ids to pause
        before; `paused`: create the run and pause before its first node (then use step or
        continue_run); `max_nodes`: the run fails after that many nodes (default: the
        server's budget); `on_error`: what a failing node does unless it says (default:
        pause in ERROR, then repair_run). Waits until the run rests or `wait_seconds` pass."""
        parsed = workflow_from(workflow)
        points = [breakpoint_at("before", n) for n in breakpoints or []]
        budget = _budget(max_nodes)

        def start(client: EngineClient) -> str:
            run_id = client.submit(
                parsed,
                variables=variables or {},
                start=None,
                max_nodes=budget,
                on_error=on_error,
            )
            handle = RunHandle(run_id, through_engine(client))
            for bp in points:
                handle.set_breakpoint(bp)
            if not paused:
                handle.cont()
            return run_id

        if paused:
            return _where(self.db, await _once(self.engines, start), 0)
        return await self._drive(ctx, start, wait_seconds)

    @clear_errors
    async def step(
        self,
        run_id: str,
        over: bool = False,
        wait_seconds: float = 60.0,
        ctx: Context | None = None,
    ) -> Rested:
        """Run exactly one node of a paused run (`over`: a SubFlow node runs whole), then
        pause again."""
        run = _resolve(self.db, run_id)

        def start(client: EngineClient) -> str:
            RunHandle(run, through_engine(client)).start_step(over=over)
            return run

        return await self._drive(ctx, start, wait_seconds, total=None if over else 1)

    @clear_errors
    async def continue_run(
        self, run_id: str, wait_seconds: float = 60.0, ctx: Context | None = None
    ) -> Rested:
        """Go on with a paused run (or retry the failed node of a run in ERROR) until it
        ends or meets a breakpoint."""
        run = _resolve(self.db, run_id)

        def start(client: EngineClient) -> str:
            RunHandle(run, through_engine(client)).cont()
            return run

        return await self._drive(ctx, start, wait_seconds)

    @clear_errors
    async def fork_run(
        self,
        run_id: str,
        at_seq: int,
        variables: dict[str, Any] | None = None,
        start: Literal["continuous", "step", "paused"] = "continuous",
        max_nodes: int | None = None,
        wait_seconds: float = 60.0,
        ctx: Context | None = None,
    ) -> Rested:
        """A new run from the state of `run_id` right after event `at_seq`, with `variables`
        set; it runs on (`continuous`), runs one node (`step`), or waits (`paused`);
        `max_nodes`: its node budget from the fork point (default: the parent's). Its
        browser, if it had one, comes back as it was and is checked."""
        run = _resolve(self.db, run_id)
        mode: Any = None if start == "paused" else start
        budget = _budget(max_nodes)

        def begin(client: EngineClient) -> str:
            parent = RunHandle(run, through_engine(client))
            return parent.fork(at_seq, variables=variables, start=mode, max_nodes=budget).run_id

        if mode is None:
            return _where(self.db, await _once(self.engines, begin), 0)
        return await self._drive(ctx, begin, wait_seconds)

    @clear_errors
    async def stop_run(self, run_id: str, wait_seconds: float = 10.0) -> Rested:
        """Stop a run this server drives, now (an action in flight is cancelled)."""
        run = _resolve(self.db, run_id)

        def start(client: EngineClient) -> str:
            RunHandle(run, through_engine(client)).stop()
            return run

        return await self._drive(None, start, wait_seconds)


async def _once(engines: Engines, start: Callable[[EngineClient], str]) -> str:
    """`start(client)` in a worker thread with a client of its own (clients are per thread)."""

    def work() -> str:
        with engines.get().client(follow=False) as client:
            return start(client)

    return await anyio.to_thread.run_sync(work)


def _budget(max_nodes: int | None) -> int | None:
    if max_nodes is not None and max_nodes < 0:
        raise UsageError(f"max_nodes cannot be negative (got {max_nodes}); 0 means no limit")
    return max_nodes


def _node_of(payload: bytes) -> str:
    """The node a NodeCompleted event's payload names ("?" if it does not decode)."""
    try:
        return str(msgspec.msgpack.decode(payload).get("node_id", "?"))
    except (msgspec.DecodeError, AttributeError):
        return "?"


def _resolve(db: Path, run_id: str) -> str:
    with Reader(db) as log:
        return log.run_id(run_id)


def _where(db: Path, run_id: str, nodes: int) -> Rested:
    with Reader(db) as log:
        state = log.state(run_id)
    error = None
    if state.error is not None:
        said = {"kind": state.error.kind, "message": state.error.message}
        error = display({**said, "hint": state.error.hint} if state.error.hint else said)
    return {
        "run_id": run_id,
        "status": str(state.status),
        "current_node": state.current_node,
        "error": error,
        "nodes_run": nodes,
    }
