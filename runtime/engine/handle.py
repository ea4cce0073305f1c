"""The run handle: every change a person, a program or a model makes to one run, as one method
that makes one command (its id made here) and sends it one of two ways:

- `through_log(db_path, env)`: the write path in this process (`RunStore`), no engine — what
  one-shot commands do; a process that drives the run sees the change before its next node;
- `through_engine(client)`: to the engine's State Manager — what a program that holds an
  engine (the terminal debugger) does.

    run = RunHandle(run_id, through_log(db_path, env))
    run.break_at("before", "read_price")
    run.set_variable("page", 2, scope="global")
    run.repair(RepairAction(kind="retry"))

The CLI, the terminal debugger, the MCP server and the UI call these; none builds a command.
Driving — `step`, `step_over`, `cont`, `stop`, `fork`, `wait` — needs an engine: a handle made
`through_engine` drives through it; one made `through_log` says so (WeboterError) instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.decide import COMMANDS, Command, Decider
from weboter.runtime.core.ids import new_command_id
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.runstore import RunStore
from weboter.schemas.base import Mode
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.events import Event, RunRewound
from weboter.schemas.messages import (
    AddNode,
    ApplyRepair,
    ClearBreakpoint,
    EndSession,
    JumpTo,
    OpenSession,
    PatchNode,
    PauseRun,
    RejectRepair,
    Rewind,
    RunEnded,
    SetBreakpoint,
    SetVariable,
    StartRun,
    StoredEvent,
    SuggestRepair,
)
from weboter.schemas.state import Breakpoint, RunState
from weboter.schemas.workflow import Node

When = Literal["before", "after", "condition", "error"]


class Ids(TypedDict):
    """What every command carries: its id (made here), its run, where answers go."""

    command_id: str
    run_id: str
    reply_to: str


@dataclass(frozen=True)
class Done:
    """What a command did: the run, the seqs of the events it appended, the run's status."""

    run_id: str
    seqs: list[int]
    status: str
    events: list[Event] = field(default_factory=list)  # what it appended, in order

    def undoes(self) -> list[str]:
        """The changes to the run's workflow a rewind among these events undid."""
        return [said for e in self.events if isinstance(e, RunRewound) for said in e.undone]


class Sender(Protocol):
    reply_to: str  # where answers go ("" for the write path here)

    def send(self, commands: list[Command]) -> Done:
        """Commit `commands` (all of them, or none when one is refused)."""


def breakpoint_at(
    when: When,
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


class RunHandle:
    def __init__(self, run_id: str, sender: Sender) -> None:
        self.run_id = run_id
        self.sender = sender

    # --- driving: an engine runs the run's nodes ------------------------------------------

    def _engine(self, verb: str) -> EngineClient:
        client = getattr(self.sender, "client", None)
        if not isinstance(client, EngineClient):
            raise WeboterError(
                f"to {verb} run {self.run_id} an engine must drive it; this handle writes to "
                "the log only",
                hint="weboter continue|step|stop|fork RUN start one; a program uses "
                "through_engine(client)",
            )
        return client

    def step(self, *, timeout: float = 30.0) -> RunEnded:
        """Run exactly one node (into a sub-flow: its first node); returns when it rests."""
        return self._engine("step").step(self.run_id, timeout=timeout)

    def step_over(self, *, timeout: float = 30.0) -> RunEnded:
        """One node; a SubFlow node runs whole; returns when the run rests."""
        return self._engine("step over").step(self.run_id, over=True, timeout=timeout)

    def start_step(self, *, over: bool = False) -> None:
        """Ask for one step and return at once (`wait` sees the run rest after it)."""
        self._engine("step").start_step(self.run_id, over=over)

    def cont(self) -> None:
        """Continue a LOADED, PAUSED (or ERROR: the node again) run; `wait` for it to rest."""
        self._engine("continue").cont(self.run_id)

    def stop(self) -> None:
        """Stop the run now (the action in flight is cancelled); `wait` sees it STOPPED."""
        self._engine("stop").stop(self.run_id)

    def wait(self, *, timeout: float = 30.0) -> RunEnded:
        """Until the run rests (PAUSED, ERROR or ended)."""
        return self._engine("wait for").wait(self.run_id, timeout=timeout)

    def fork(
        self,
        at_seq: int,
        *,
        variables: dict[str, Any] | None = None,
        patches: dict[str, NodeModifications] | None = None,
        start: Mode | None = "continuous",
        max_nodes: int | None = None,
        on_error: str | None = None,
        timeout: float = 30.0,
    ) -> RunHandle:
        """A new run from this one right after event `at_seq` (its variables changed, its
        nodes patched), as a handle that drives the same way; `start` None: it waits LOADED;
        `max_nodes`/`on_error` None: the parent's."""
        child = self._engine("fork").fork(
            self.run_id,
            at_seq,
            variables=variables,
            patches=patches,
            start=start,
            max_nodes=max_nodes,
            on_error=on_error,
            timeout=timeout,
        )
        return RunHandle(child, self.sender)

    @staticmethod
    def check_start(state: RunState, mode: Mode, env: EnvSource) -> None:
        """IllegalTransition, in the engine's own words, when `state`'s run cannot be started
        (continued, stepped) now: a dry run, before anything is started."""
        check = StartRun(command_id="", run_id=state.run_id, reply_to="", mode=mode)
        Decider(default_catalog(), env).decide(state, check)

    def _ids(self) -> Ids:
        return {
            "command_id": new_command_id(),
            "run_id": self.run_id,
            "reply_to": self.sender.reply_to,
        }

    def _send(self, *commands: Command) -> Done:
        return self.sender.send(list(commands))

    # --- breakpoints, variables, nodes --------------------------------------------------

    def set_breakpoint(self, breakpoint: Breakpoint) -> Done:
        return self._send(SetBreakpoint(**self._ids(), breakpoint=breakpoint))

    def break_at(
        self,
        when: When,
        node_id: str | None = None,
        condition: str | None = None,
        *,
        once: bool = False,
        id_: str | None = None,
    ) -> Done:
        return self.set_breakpoint(breakpoint_at(when, node_id, condition, once=once, id_=id_))

    def clear_breakpoint(self, breakpoint_id: str) -> Done:
        return self._send(ClearBreakpoint(**self._ids(), id=breakpoint_id))

    def set_variable(
        self, name: str, value: Any, scope: Literal["flow", "global"] = "flow"
    ) -> Done:
        return self._send(SetVariable(**self._ids(), name=name, value=value, scope=scope))

    def patch(
        self,
        node_id: str,
        changes: NodeModifications,
        flow_path: list[str] | None = None,
        *,
        replace: bool = False,
    ) -> Done:
        """`changes` merged into the node (`replace`: its inputs and params replaced whole)."""
        return self._send(
            PatchNode(
                **self._ids(),
                node_id=node_id,
                changes=changes,
                flow_path=flow_path or [],
                replace=replace,
            )
        )

    def add_node(self, node: Node, flow_path: list[str] | None = None) -> Done:
        """A node the run's flow (by default: the current one) did not have."""
        return self._send(AddNode(**self._ids(), node=node, flow_path=flow_path or []))

    def change_nodes(
        self,
        added: Iterable[Node],
        patched: dict[str, NodeModifications],
        *,
        replace: bool = False,
    ) -> Done:
        """Add `added` (in order), then patch `patched` (merged, or `replace`d): all of it or
        none of it."""
        commands: list[Command] = [AddNode(**self._ids(), node=node) for node in added]
        commands += [
            PatchNode(**self._ids(), node_id=node_id, changes=changes, replace=replace)
            for node_id, changes in patched.items()
        ]
        return self._send(*commands)

    def append(self, node: Node, after: Node | None) -> Done:
        """`node` added to the current flow and made the run's next node, linked from `after`
        (its `next_node`, its other params kept): one commit. An agent's act."""
        commands: list[Command] = [AddNode(**self._ids(), node=node)]
        if after is not None:
            params = {**after.params, "next_node": node.id}
            changes = NodeModifications(params=params)
            commands.append(PatchNode(**self._ids(), node_id=after.id, changes=changes))
        commands.append(JumpTo(**self._ids(), node_id=node.id))
        return self._send(*commands)

    def open_session(self, name: str = "") -> Done:
        """Make this LOADED run an agent's session: at the end of its nodes it pauses for the
        next act instead of completing."""
        return self._send(OpenSession(**self._ids(), name=name))

    def end_session(self) -> Done:
        """The session takes no more acts: continued, it completes at the end of its nodes."""
        return self._send(EndSession(**self._ids()))

    def jump(self, node_id: str) -> Done:
        return self._send(JumpTo(**self._ids(), node_id=node_id))

    def rewind(self, to_seq: int) -> Done:
        return self._send(Rewind(**self._ids(), to_seq=to_seq))

    def pause(self, reason: str = "requested", *, now: bool = False) -> Done:
        """A RUNNING run pauses after the node in flight, whichever process drives it (`now`:
        at once — the process driving it is going away, its node in flight will run again)."""
        return self._send(PauseRun(**self._ids(), reason=reason, now=now))

    # --- repairs --------------------------------------------------------------------------

    def repair(
        self,
        action: RepairAction,
        *,
        source: str = "person",
        mode: Mode | None = None,
        expect_version: int | None = None,
    ) -> Done:
        """Retry, skip, patch, set variables, jump or abort (a model's only when it may:
        runtime/core/containment.py)."""
        return self._send(
            ApplyRepair(
                **self._ids(),
                action=action,
                source=source,
                mode=mode,
                expect_version=expect_version,
            )
        )

    def retry(self, node_id: str | None, reason: str = "") -> Done:
        return self.repair(RepairAction(kind="retry", node_id=node_id, reason=reason))

    def skip(self, node_id: str | None, reason: str = "") -> Done:
        return self.repair(RepairAction(kind="skip", node_id=node_id, reason=reason))

    def suggest(self, action: RepairAction, confidence: float, source: str = "model") -> Done:
        return self._send(
            SuggestRepair(**self._ids(), action=action, confidence=confidence, source=source)
        )

    def reject(self, action: RepairAction, reason: str, source: str = "person") -> Done:
        return self._send(RejectRepair(**self._ids(), action=action, reason=reason, source=source))


class _ThroughLog:
    """The write path in this process: no engine needed."""

    reply_to = ""

    def __init__(self, db_path: Path, env: EnvSource) -> None:
        self.db_path = db_path
        self.env = env

    def send(self, commands: list[Command]) -> Done:
        log = EventLog(self.db_path, create=False)
        try:
            run_id = commands[0].run_id
            if len(commands) > 1:  # all or nothing: each is decided before one is kept
                dry = state_at(log, run_id)
                decider = Decider(default_catalog(), self.env)
                for command in commands:
                    dry = decider.decide(dry, command).after
            store = RunStore(log, default_catalog(), self.env)
            records: list[StoredEvent] = []
            status = ""
            for command in commands:
                assert isinstance(command, COMMANDS)
                outcome = store.execute(command)
                records += outcome.events
                status = str(outcome.state.status)
            return Done(run_id, [r.seq for r in records], status, _decoded(records))
        finally:
            log.close()


class _ThroughEngine:
    """The engine's State Manager, through a client of it."""

    def __init__(self, client: EngineClient, timeout: float) -> None:
        self.client = client
        self.reply_to = client.address
        self.timeout = timeout

    def send(self, commands: list[Command]) -> Done:
        records: list[StoredEvent] = []
        status = ""
        for command in commands:
            committed = self.client.send_command(command, timeout=self.timeout)
            records += committed.events
            status = committed.status
        return Done(commands[0].run_id, [r.seq for r in records], status, _decoded(records))


def through_log(db_path: Path, env: EnvSource | None = None) -> Sender:
    """Commands committed here. `env`: the `$env` a decision may read (a skipped node's
    control, a sub-flow's data): the calling process's own — a server's (`ui`, `mcp`) allows
    only what its --env-file/--env-allow give; default: none of the environment."""
    return _ThroughLog(db_path, env if env is not None else EnvSource(use_os=False))


def through_engine(client: EngineClient, timeout: float = 30.0) -> Sender:
    """Commands sent to the engine `client` talks to (each answered within `timeout`)."""
    return _ThroughEngine(client, timeout)


def _decoded(stored: list[StoredEvent]) -> list[Event]:
    return [to_record(s).event for s in stored]
