"""The MCP tools that only read: the catalog and the workflow format, validating a workflow,
and everything the log knows about runs (snapshots at any seq, events, diff, verify).

Every answer is read from the log at the time of the call (the server keeps no state between
calls), with secrets shown as their `$env{...}` reference.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import msgspec
from typing_extensions import TypedDict

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.analysis import analyse
from weboter.runtime.core.explain import next_step
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import EnvSource, display
from weboter.runtime.core.validate import validate
from weboter.runtime.core.workflow_text import as_text
from weboter.runtime.errors import UsageError, WorkflowInvalid
from weboter.runtime.mcp.common import clear_errors, workflow_from
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.views import comparison, event_line, run_rows, shortened
from weboter.schemas.workflow import Workflow

MAX_EVENTS = 200  # per get_events call: a big run never floods the context window
MAX_HISTORY = 100  # history entries per get_snapshot call


class Catalog(TypedDict):
    actions: list[dict[str, Any]]
    controls: list[dict[str, Any]]


class Validation(TypedDict):
    valid: bool
    nodes: int
    findings: list[dict[str, Any]]  # severity, message, path (where in the workflow)


class RunRow(TypedDict):
    run_id: str
    status: str
    workflow: str
    events: int  # how many
    last_seq: int  # the seq of its newest event
    created_at: float
    parent_run: str | None


class Snapshot(TypedDict):
    run_id: str
    status: str
    seq: int
    timestamp: float
    current_node: str | None
    pause_reason: str | None
    waiting_for: str | None  # why it waits for a person ("needs approval: ..."), if it does
    error: dict[str, Any] | None
    breakpoints: list[dict[str, Any]]
    variables: dict[str, Any]
    history: list[dict[str, Any]]  # newest first, one per node run: seq, node_id, outputs, ...
    history_total: int
    next_step: dict[str, Any] | None  # the next node, its action and its inputs resolved now


class Events(TypedDict):
    run_id: str
    events: list[dict[str, Any]]
    next_after: int  # pass as `after` for the next page; equal to `after` when none came


class Reads:
    """The tools that only read: over the log at `db`, `verify_run` resolving `$env` from
    `env` (the server's)."""

    def __init__(self, db: Path, env: EnvSource) -> None:
        self.db, self.env = db, env

    def tools(self) -> list[Callable[..., Any]]:
        return [
            self.catalog,
            self.workflow_schema,
            self.validate_workflow,
            self.list_runs,
            self.get_snapshot,
            self.get_events,
            self.diff_runs,
            self.verify_run,
            self.export_workflow,
        ]

    @staticmethod
    @clear_errors
    def catalog() -> Catalog:
        """Every action and control a workflow can use, with the inputs/params each reads
        (required and optional) and what it outputs."""
        described = default_catalog().described()
        return {"actions": described["actions"], "controls": described["controls"]}

    @staticmethod
    @clear_errors
    def workflow_schema() -> dict[str, Any]:
        """The JSON schema of a workflow (flows of nodes: action, inputs, control, params)."""
        schema: dict[str, Any] = msgspec.json.schema(Workflow)
        return schema

    @staticmethod
    @clear_errors
    def validate_workflow(workflow: dict[str, Any] | str) -> Validation:
        """Check a workflow (an object, or YAML/JSON text) without running it: every finding
        with its severity and where in the workflow it is — errors, and warnings of what is
        likely to go wrong (globals nobody writes, loops without a bound, brittle locators)."""
        try:
            parsed = workflow_from(workflow)
        except WorkflowInvalid as exc:
            return {"valid": False, "nodes": 0, "findings": [_finding(f) for f in exc.findings]}
        findings = validate(parsed, default_catalog()) + analyse(parsed)
        nodes = sum(len(f.nodes) for f in index_for(parsed).flows.values())
        valid = not any(f.severity == "error" for f in findings)
        return {"valid": valid, "nodes": nodes, "findings": [_finding(f) for f in findings]}

    @clear_errors
    def list_runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs in the log (newest first), with their status."""
        return runs_of(self.db, limit)

    @clear_errors
    def get_snapshot(
        self,
        run_id: str,
        at_seq: int | None = None,
        variables: list[str] | None = None,
        history_offset: int = 0,
        history_limit: int = 20,
    ) -> Snapshot:
        """A run at one point of its log (its latest state, or right after event `at_seq`):
        status, current node, variables (global, flow, the flow stack, the last outputs; with
        `variables`, only the global and flow variables of those names),
        breakpoints, error, the next node with its inputs resolved as they are now
        (`next_step`), and a page of its node history, newest first (`history_offset`
        counts back from the newest, `history_limit` <= 100; `history_total` says how many
        there are). Long texts and lists are cut, each cut said in place."""
        return snapshot_of(self.db, run_id, at_seq, variables, history_offset, history_limit)

    @clear_errors
    def export_workflow(
        self,
        run_id: str,
        format: Literal["yaml", "json"] = "yaml",
    ) -> dict[str, Any]:
        """A run's workflow as it stands now — patches, applied repairs and added nodes (an
        agent session's acts) included — as a workflow file's text `weboter run` reads."""
        with Reader(self.db) as log:
            run = log.run_id(run_id)
            workflow = log.state(run).workflow
        return {
            "run_id": run,
            "format": format,
            "workflow": as_text(workflow, default_catalog(), format),
        }

    @clear_errors
    def get_events(self, run_id: str, after: int = 0, limit: int = 50) -> Events:
        """A run's committed events with seq > `after`, oldest first, at most `limit` (<= 200);
        page on with `next_after`. Workflows in RunCreated are left out (get the workflow
        from get_snapshot's run, or the file)."""
        return events_of(self.db, run_id, after, limit)

    @clear_errors
    def diff_runs(self, run_a: str, run_b: str) -> dict[str, Any]:
        """Two runs side by side, step by step (a fork's steps begin with its parent's): the
        first step where they part, and per step the outputs and variables that differ."""
        with Reader(self.db) as log:
            a, b = log.run_id(run_a), log.run_id(run_b)
            return comparison(a, b, log.diff(a, b))

    @clear_errors
    def verify_run(
        self, run_id: str, workflow: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """Replay every control decision of a run against its recorded outputs, with the
        workflow it ran or `workflow` (another version): the first node that would now go
        elsewhere, or none."""
        other = workflow_from(workflow) if workflow is not None else None
        with Reader(self.db) as log:
            run = log.run_id(run_id)
            checked, found = log.verify(run, default_catalog(), self.env, other)
        return {
            "run_id": run,
            "decisions_checked": checked,
            "divergence": None if found is None else display(found.__dict__),
        }


def runs_of(db: Path, limit: int) -> list[RunRow]:
    """The most recent runs (newest first)."""
    with Reader(db) as log:
        return cast(list[RunRow], run_rows(log.runs(max(1, min(limit, 500)))))


def events_of(db: Path, run_id: str, after: int = 0, limit: int = MAX_EVENTS) -> Events:
    """A page of a run's events (secrets as references; no workflows: they are long)."""
    if limit < 1 or after < 0:
        raise UsageError(
            f"after must be >= 0 and limit >= 1 (got after={after}, limit={limit})",
            hint=f"page with after=next_after and a limit up to {MAX_EVENTS}",
        )
    with Reader(db) as log:
        run = log.run_id(run_id)
        rows = log.events(run, after=after, limit=max(1, min(limit, MAX_EVENTS)))
        docs = [event_line(row) for row in rows]
    return {"run_id": run, "events": docs, "next_after": rows[-1].seq if rows else after}


def snapshot_of(
    db: Path,
    run_id: str,
    at_seq: int | None = None,
    variables: list[str] | None = None,
    history_offset: int = 0,
    history_limit: int = 20,
) -> Snapshot:
    """A run at one point of its log, for people and models (secrets as references)."""
    with Reader(db) as log:
        run = log.run_id(run_id)
        snap = log.snapshot(run, at_seq)
        state = log.state(run, at_seq)
    values = display(snap.variables)
    if variables:  # only the named ones, in the scopes that hold them
        wanted = set(variables)
        values = {
            scope: {k: v for k, v in (values.get(scope) or {}).items() if k in wanted}
            for scope in ("global", "flow")
        }
    if history_offset < 0 or history_limit < 0:
        raise UsageError("history_offset and history_limit cannot be negative")
    limit = min(history_limit, MAX_HISTORY)
    newest_first = snap.history[::-1]
    page = newest_first[history_offset : history_offset + limit]
    return {
        "run_id": run,
        "status": snap.status,
        "seq": snap.seq,
        "timestamp": snap.timestamp,
        "current_node": snap.current_node,
        "pause_reason": state.pause_reason if state.status == "PAUSED" else None,
        "waiting_for": state.waiting_for or None,
        "error": display(msgspec.to_builtins(state.error)) if state.error else None,
        "breakpoints": msgspec.to_builtins(state.breakpoints),
        "variables": shortened(values),
        "history": shortened(display(msgspec.to_builtins(page))),
        "history_total": len(snap.history),
        "next_step": shortened(next_step(state, default_catalog())),
    }


def _finding(finding: Any) -> dict[str, Any]:
    return {"severity": finding.severity, "path": finding.path, "message": finding.message}
