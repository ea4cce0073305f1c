"""The MCP tools that change a run without driving it: breakpoints, variables, node patches,
jumps, rewinds and pause requests. Each is one command through the write path (an event in
the log), from any server process; a process driving the run sees it before its next node.
Only the `operator` profile has them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import msgspec
from typing_extensions import TypedDict

from weboter.runtime.core.limits import check_value
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.handle import Done, RunHandle, breakpoint_at, through_log
from weboter.runtime.errors import UsageError
from weboter.runtime.mcp.common import clear_errors
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import NodeModifications, RepairAction


class Committed(TypedDict):
    run_id: str
    done: str
    seqs: list[int]  # the events the command appended
    status: str  # the run's status after it


class Debugging:
    """The tools that change a run: each one command through the run's handle, committed to
    the log at `db` with the server's `env`."""

    def __init__(self, db: Path, env: EnvSource) -> None:
        self.db, self.env = db, env

    def tools(self) -> list[Callable[..., Any]]:
        return [
            self.set_breakpoint,
            self.clear_breakpoint,
            self.set_variable,
            self.patch_node,
            self.jump_to,
            self.rewind,
            self.repair_run,
            self.pause_run,
        ]

    def _run(self, run_id: str) -> RunHandle:
        """The run (by id or prefix), its changes committed here with the server's `$env`."""
        with Reader(self.db) as log:
            return RunHandle(log.run_id(run_id), through_log(self.db, self.env))

    @clear_errors
    def set_breakpoint(
        self,
        run_id: str,
        node_id: str | None = None,
        when: Literal["before", "after", "condition", "error"] = "before",
        condition: str | None = None,
        once: bool = False,
        breakpoint_id: str | None = None,
    ) -> Committed:
        """Pause the run before or after `node_id`, when `condition` (a safe expression over
        its variables) holds, or on any error (`when`="error"). Works on a running run too."""
        if when in ("before", "after") and not node_id:
            raise UsageError("a before/after breakpoint needs node_id")
        if when == "condition" and not condition:
            raise UsageError('a condition breakpoint needs condition, e.g. "page > 2"')
        bp = breakpoint_at(when, node_id, condition, once=once, id_=breakpoint_id)
        return _said(self._run(run_id).set_breakpoint(bp), f"breakpoint {bp.id} set")

    @clear_errors
    def clear_breakpoint(self, run_id: str, breakpoint_id: str) -> Committed:
        """Remove a breakpoint by its id (get_snapshot lists them)."""
        done = self._run(run_id).clear_breakpoint(breakpoint_id)
        return _said(done, f"breakpoint {breakpoint_id} cleared")

    @clear_errors
    def set_variable(
        self, run_id: str, name: str, value: Any, scope: Literal["flow", "global"] = "flow"
    ) -> Committed:
        """Set a variable of a paused (or running) run; it counts from the next node on."""
        check_value(value, f"variable {name!r}")
        done = self._run(run_id).set_variable(name, value, scope)
        return _said(done, f"{scope} variable {name} set")

    @clear_errors
    def patch_node(
        self, run_id: str, node_id: str, changes: dict[str, Any], replace: bool = False
    ) -> Committed:
        """Change one node of a paused run's workflow: any of `inputs`, `params`, `control`,
        `action` (only those given change). `inputs` and `params` are merged into the node's
        own: `{"inputs": {"value": 3}}` keeps its other inputs, a key set to null is removed
        (a new action or control takes only the given ones). `replace`: the given maps
        replace the node's whole."""
        done = self._run(run_id).patch(node_id, _modifications(changes), replace=replace)
        return _said(done, f"node {node_id} patched" + (" (replaced)" if replace else ""))

    @clear_errors
    def jump_to(self, run_id: str, node_id: str) -> Committed:
        """Make `node_id` the next node of a paused run."""
        return _said(self._run(run_id).jump(node_id), f"next node is {node_id}")

    @clear_errors
    def rewind(self, run_id: str, to_seq: int) -> Committed:
        """Take a paused run back to its state right after event `to_seq` (nothing is
        deleted: the rewind is an event). Its browser comes back at the next step. Patches
        and added nodes since are undone too: the answer says which."""
        done = self._run(run_id).rewind(to_seq)
        undid = done.undoes()
        return _said(
            done,
            f"rewound to seq {to_seq}"
            + (f"; this undoes: {', '.join(undid)} (patch again to keep them)" if undid else ""),
        )

    @clear_errors
    def repair_run(
        self,
        run_id: str,
        kind: Literal["retry", "skip", "patch", "set_variables", "jump", "abort"],
        reason: str = "",
        node_id: str | None = None,
        changes: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        target_node: str | None = None,
        expect_version: int | None = None,
    ) -> Committed:
        """Take a run out of ERROR (or change it at a pause), recorded as RepairApplied:
        `retry` the failed node, `skip` it (its control decides with no outputs), `patch` a
        node (`node_id`, `changes` as patch_node's), `set_variables`, `jump` to
        `target_node`, or `abort` (the run fails). The run then rests PAUSED: continue_run
        drives it on. `expect_version`: only if the run is still at that version."""
        action = RepairAction(
            kind=kind,
            node_id=node_id,
            modifications=_modifications(changes) if changes is not None else None,
            variables=variables or {},
            target_node=target_node,
            reason=reason,
        )
        done = self._run(run_id).repair(action, expect_version=expect_version)
        return _said(done, f"{kind} applied")

    @clear_errors
    def pause_run(self, run_id: str) -> Committed:
        """Ask a running run to pause at its next node boundary (whichever process drives
        it); get_snapshot shows it PAUSED once it has."""
        return _said(self._run(run_id).pause(), "pause requested")


def _said(done: Done, what: str) -> Committed:
    return {"run_id": done.run_id, "done": what, "seqs": done.seqs, "status": done.status}


def _modifications(changes: dict[str, Any]) -> NodeModifications:
    try:
        return msgspec.convert(changes, NodeModifications)
    except msgspec.ValidationError as exc:
        raise UsageError(
            f"changes: {exc}", hint="give any of inputs, params, control, action"
        ) from exc
