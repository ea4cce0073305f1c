"""MCP resources and prompts: the runs, a run's snapshot and events, artifacts (evidence:
screenshots, DOM, page text) by hash; a debugging playbook and a "write a workflow" prompt that
carries the workflow schema and the catalog.

A browser's stored state (cookies, local storage: the `.json` artifacts the evidence and the
page snapshots keep) is never served, in any profile: it holds the sessions of the sites the
run logged into, and a model needs the page, not the keys to it (docs/mcp.md, "Artifacts")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from weboter.runtime.actions import default_catalog
from weboter.runtime.mcp.common import clear_resource_errors
from weboter.runtime.mcp.reads import events_of, runs_of, snapshot_of
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.schemas.workflow import Workflow

ARTIFACT = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,8})?")  # content hash + extension, nothing else
TYPED = {"png": "image/png", "html": "text/html", "txt": "text/plain"}  # artifacts by extension
STORED_STATE = ".json"  # what a browser's storage state and page snapshots are kept as


def register_resources(server: MCPServer, db: Path) -> None:
    """The resources of the log at `db` and the prompts, on `server`."""
    served = Served(db)
    for uri, mime_type, read in served.resources():
        server.resource(uri, mime_type=mime_type)(read)
    for prompt in (debug_run, write_workflow):
        server.prompt()(prompt)


class Served:
    """What the resources read: the runs of the log at `db`, and the artifacts beside it."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def resources(self) -> list[tuple[str, str | None, Callable[..., Any]]]:
        """(uri template, mime type, the reader) per resource."""
        json_ = "application/json"
        return [
            ("weboter://runs", json_, self.runs),
            ("weboter://runs/{run_id}/snapshot", json_, self.snapshot),
            ("weboter://runs/{run_id}/events{?after,limit}", json_, self.events),
            *[
                (f"weboter://artifacts/{{name}}.{ext}", mime, self._typed(ext))
                for ext, mime in TYPED.items()
            ],
            ("weboter://artifacts/{name}", "application/octet-stream", self.artifact),
        ]

    def _typed(self, ext: str) -> Callable[[str], bytes]:
        """The reader of artifacts ending in `.ext` (served with their own MIME type, so a
        host shows a screenshot as an image, not as text)."""

        def read(name: str) -> bytes:
            return self.artifact(f"{name}.{ext}")

        read.__name__ = f"artifact_{ext}"
        read.__doc__ = f"An artifact beside the log that is a .{ext} file, by its hash."
        return clear_resource_errors(read)

    @clear_resource_errors
    def runs(self) -> str:
        """The 100 most recent runs, newest first."""
        return json.dumps(runs_of(self.db, 100))

    @clear_resource_errors
    def snapshot(self, run_id: str) -> str:
        """A run's latest state: status, current node, variables, the last 20 nodes."""
        return json.dumps(snapshot_of(self.db, run_id), default=str)

    @clear_resource_errors
    def events(self, run_id: str, after: int = 0, limit: int = 200) -> str:
        """A run's events with seq > `after`, at most `limit` (<= 200), oldest first."""
        return json.dumps(events_of(self.db, run_id, after, limit), default=str)

    def artifact(self, name: str) -> bytes:
        """An artifact beside the log by its name (hash.ext): a screenshot, a DOM, page text."""
        if not ARTIFACT.fullmatch(name):
            raise ResourceError(f"{name!r} is not an artifact name (a 64-hex hash and extension)")
        if name.endswith(STORED_STATE):
            raise ResourceError(
                f"{name} is a browser's stored state (cookies, local storage) or a .json file "
                "a run kept: the MCP server never serves those, they may hold the sessions of "
                "the sites a run logged into (to see a run's page: page_snapshot, and its "
                "screenshot, DOM and page text artifacts)"
            )
        try:
            return ArtifactStore.beside(self.db).get(name)
        except OSError as exc:
            raise ResourceError(f"no artifact {name} beside the log") from exc


def debug_run(run_id: str) -> str:
    """A playbook for finding out why a run failed or went somewhere unexpected."""
    return (
        f"Debug the Weboter run {run_id}.\n"
        "1. get_snapshot: its status, error (kind, message, hint, node), current node.\n"
        "2. get_events from 0, paging with next_after: what each node did, its outputs.\n"
        "3. For a browser node, the error's evidence names artifacts (screenshot, DOM):\n"
        "   read weboter://artifacts/{name}.\n"
        "4. Form a hypothesis, then test it without touching the original: fork_run at the\n"
        "   seq before the failing node with changed variables (or patch_node on the fork\n"
        "   while it is paused: fork_run start='paused'), and step it.\n"
        "5. diff_runs original fork shows where they part; verify_run checks a fixed\n"
        "   workflow against the original's recorded outputs.\n"
        "Say what failed, why, and the smallest change that fixes it."
    )


def write_workflow(task: str) -> str:
    """Write a Weboter workflow for a task, with the format and every action at hand."""
    described = default_catalog().described()
    actions, controls = described["actions"], described["controls"]
    schema: Any = msgspec.json.schema(Workflow)
    return (
        f"Write a Weboter workflow (JSON) that does this: {task}\n\n"
        "A workflow is {id, name, start_node_id, nodes: [...], sub_flows: [...]}; a node is\n"
        "{id, action, inputs, outputs: [{src, name, pos}], control, params}. References:\n"
        "$global{x}, $flow{x}, $prev{x}, $env{name} (secrets: never write them literally).\n"
        "Check it with validate_workflow, then run_workflow with breakpoints to try it.\n\n"
        f"JSON schema:\n{json.dumps(schema)}\n\n"
        f"Actions:\n{json.dumps(actions)}\n\nControls:\n{json.dumps(controls)}"
    )
