"""What the dev UI's buttons do: each is one command through the write path (`commit`, an
event in the log) or one request to the UI process's engine (start, continue, step, stop,
fork). None waits for a run to rest: the page follows the run through the live stream.

Every function takes the request's JSON body (a dict) and returns a small JSON answer;
WeboterError (a bad value, a run in the wrong state) becomes a 4xx with its message and hint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import msgspec

from weboter.runtime.actions import default_catalog
from weboter.runtime.ai.gateway import failure_of
from weboter.runtime.ai.models import configured
from weboter.runtime.core.loader import load_workflow, parse_text, to_workflow
from weboter.runtime.core.validate import validate
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.commands import suggest_repair
from weboter.runtime.engine.handle import (
    Done,
    RunHandle,
    breakpoint_at,
    through_engine,
    through_log,
)
from weboter.runtime.engine.shared import Engines
from weboter.runtime.errors import IllegalTransition, UsageError, WorkflowInvalid
from weboter.runtime.store.reading import Reader
from weboter.runtime.ui.reads import DRIVABLE
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.workflow import Workflow

Body = dict[str, Any]
VERB_SAID = {"over": "step over", "continue": "go on"}


class Commands:
    """The UI's commands on the log at `db_path`, driving runs with `engines`."""

    def __init__(self, db_path: Path, engines: Engines) -> None:
        self.db_path = db_path
        self.engines = engines

    # --- starting and driving (the engine in this process) ----------------------------------

    def start(self, body: Body) -> Body:
        """A new run of the workflow in `path` (a file on this machine) or `text`; it waits
        before its first node when `paused` (set breakpoints, then continue)."""
        workflow = _workflow(body)
        paused = bool(body.get("paused", True))
        variables = _mapping(body.get("variables"), "variables")
        source = str(body.get("path") or "the UI")

        def go(client: EngineClient) -> str:
            return client.submit(
                workflow,
                variables=variables,
                source=source,
                start=None if paused else "continuous",
            )

        return {"run_id": self._with_client(go)}

    def drive(self, run_id: str, verb: str) -> Body:
        """continue | step | over | stop | pause a run. Refused at once (IllegalTransition)
        when its status does not allow it: the engine would refuse it too, later."""
        run = self._resolve(run_id)
        status = self._status(run)
        if status not in DRIVABLE.get(verb, ()):
            raise IllegalTransition(
                f"run {run} is {status}: it cannot {VERB_SAID.get(verb, verb)} now",
                hint="fork it from any point of its timeline to go on from there"
                if status in ("COMPLETED", "FAILED", "STOPPED")
                else "wait until it rests (PAUSED or ERROR), or pause it",
            )
        if verb == "pause":  # recorded in the log: the process driving it (this one, `serve`
            self._run(run).pause()  # and its workers, …) pauses it there, and keeps it
            return {"run_id": run, "done": verb}

        def go(client: EngineClient) -> str:
            handle = RunHandle(run, through_engine(client))
            if verb == "continue":
                handle.cont()
            elif verb in ("step", "over"):
                handle.start_step(over=verb == "over")
            elif verb == "stop":
                handle.stop()
            else:
                raise UsageError(f"unknown command {verb!r}")
            return run

        self._with_client(go)
        return {"run_id": run, "done": verb}

    def fork(self, run_id: str, body: Body) -> Body:
        """A new run from the state right after the event at `seq` of `run_id`, with `variables`
        changed ({"name": value} or {"global": {...}, "flow": {...}}); it runs on."""
        run = self._resolve(run_id)
        seq = self._seq(run, body.get("seq"))
        variables = _mapping(body.get("variables"), "variables")
        start: Any = None if body.get("paused") else "continuous"

        def go(client: EngineClient) -> str:
            handle = RunHandle(run, through_engine(client))
            return handle.fork(seq, variables=variables, start=start).run_id

        return {"run_id": self._with_client(go), "parent_run": run, "at_seq": seq}

    # --- changes through the write path (no engine needed) -----------------------------------

    def breakpoint(self, run_id: str, body: Body) -> Body:
        """Set (`on`: true) or clear the breakpoint before node `node_id`."""
        point = breakpoint_at("before", _text(body, "node_id"))
        run = self._run(run_id)
        if body.get("on", True):
            return _said(run.set_breakpoint(point))
        return _said(run.clear_breakpoint(point.id))

    def set_variable(self, run_id: str, body: Body) -> Body:
        name, given = _text(body, "name"), str(body.get("scope") or "global")
        if given not in ("global", "flow"):
            raise UsageError(f"scope must be global or flow (got {given!r})")
        scope: Literal["global", "flow"] = "flow" if given == "flow" else "global"
        return _said(self._run(run_id).set_variable(name, body.get("value"), scope))

    def rewind(self, run_id: str, body: Body) -> Body:
        run = self._run(run_id)
        return _said(run.rewind(self._seq(run.run_id, body.get("seq"))))

    def patch(self, run_id: str, body: Body) -> Body:
        """Give node `node_id` (of the flow at `path`; default: the current flow) these
        `inputs` for the rest of the run (the form sends all of them)."""
        node_id = _text(body, "node_id")
        changes = NodeModifications(inputs=_mapping(body.get("inputs"), "inputs"))
        given = body.get("path") or []
        if not isinstance(given, list):
            raise UsageError("`path` is the node's flow: a list of flow ids (as the graph has it)")
        path = [str(p) for p in given]
        return _said(self._run(run_id).patch(node_id, changes, path))

    def repair(self, run_id: str, body: Body) -> Body:
        """retry | skip the failed node, or approve a suggestion (`action` as suggested)."""
        return _said(self._run(run_id).repair(_action(body)))

    def reject(self, run_id: str, body: Body) -> Body:
        reason = str(body.get("reason") or "rejected in the UI")
        return _said(self._run(run_id).reject(_action(body), reason))

    def suggest(self, run_id: str, _body: Body) -> Body:
        """Ask the configured model for a repair of a run in ERROR (or PAUSED), showing it the
        run's page when it has one; recorded as RepairSuggested (approve or reject it next)."""
        model = configured()
        run, state, _ = failure_of(self.db_path, run_id)
        aria = ""
        if state.browser is not None:
            browser = state.browser

            def look(client: EngineClient) -> str:
                found = client.look(run, browser)
                return found.aria if found.error is None else ""

            aria = self._with_client(look)
        found = suggest_repair(model, self.db_path, run, aria=aria, env=self.engines.env)
        return {
            "run_id": run,
            "action": msgspec.to_builtins(found.action),
            "confidence": found.confidence,
            "needs_approval": found.held,
        }

    # --- helpers ----------------------------------------------------------------------------

    def _run(self, run_id: str) -> RunHandle:
        """The run (by id or prefix), its changes committed here with the UI's `$env`."""
        return RunHandle(self._resolve(run_id), through_log(self.db_path, self.engines.env))

    def _with_client(self, go: Callable[[EngineClient], str]) -> str:
        with self.engines.get().client(follow=False) as client:
            return go(client)

    def _resolve(self, run_id: str) -> str:
        with Reader(self.db_path) as log:
            return log.run_id(run_id)

    def _status(self, run: str) -> str:
        with Reader(self.db_path) as log:
            return str(log.state(run).status)

    def _seq(self, run: str, seq: Any) -> int:
        """The seq of the run's event at `seq` (or its last before it); UsageError when the
        run has no event there."""
        with Reader(self.db_path) as log:
            return log.event_at(run, seq).seq


def _workflow(body: Body) -> Workflow:
    if body.get("path"):
        path = Path(str(body["path"])).expanduser()
        if not path.is_absolute():  # a page has no directory of its own: the server's
            path = Path.cwd() / path
        if not path.is_file():
            raise UsageError(
                f"{path}: no such file on the machine running `weboter ui`",
                hint=f"give a full path, or one relative to {Path.cwd()} (where it was started)",
            )
        workflow = load_workflow(path)
        where = str(path)
    elif isinstance(body.get("text"), str):
        where = "the workflow"
        workflow = to_workflow(parse_text(body["text"], where), where)
    else:
        raise UsageError("give `path` (a workflow file) or `text` (YAML or JSON)")
    findings = validate(workflow, default_catalog())
    if any(f.severity == "error" for f in findings):
        raise WorkflowInvalid(where, findings)
    return workflow


def _text(body: Body, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"give `{key}` (text)")
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"`{what}` must be an object of names and values")
    return value


def _action(body: Body) -> RepairAction:
    raw = body.get("action")
    if isinstance(raw, str):
        raw = {"kind": raw, "reason": "from the UI"}
    try:
        return msgspec.convert(raw, RepairAction)
    except msgspec.ValidationError as exc:
        raise UsageError(
            f"action: {exc}", hint="give retry, skip, or a suggested action as it was shown"
        ) from exc


def _said(done: Done) -> Body:
    return {"run_id": done.run_id, "seqs": done.seqs, "status": done.status}
