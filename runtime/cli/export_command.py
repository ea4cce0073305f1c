"""`weboter export RUN [-o FILE]`: a run's workflow as it stands now — patches, applied
repairs and an agent session's acts included — as a workflow file `weboter run` reads. A run
started from a YAML file is written as that file with the changes made in place: its
comments and layout kept."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from weboter.runtime.actions import default_catalog
from weboter.runtime.cli.common import open_log, out
from weboter.runtime.core.loader import parse_text, to_workflow
from weboter.runtime.core.workflow_text import Format, as_text, reachable, rewritten
from weboter.runtime.errors import UsageError, WeboterError
from weboter.schemas.events import RunCreated
from weboter.schemas.workflow import Workflow


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="write a run's current workflow (patches, repairs, an agent's acts) as a file",
        description="The workflow of RUN as it stands now: every patch, applied repair and "
        "added node (an agent session's acts, recorded over MCP) included; nodes no path "
        "reaches any more are left out. `weboter run FILE` repeats it. A run started from a "
        "YAML file that is unchanged since is written as that file with the changes made in "
        "place: its comments and layout kept. Without -o, the text goes to stdout (--json: a "
        "document with it).",
    )
    p.add_argument("run", help="the run's id (a unique prefix will do)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write it to FILE")
    p.add_argument(
        "--format",
        choices=("yaml", "json"),
        default=None,
        help="yaml or json (default: FILE's suffix, else yaml)",
    )
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    fmt: Format = "yaml"
    if args.format == "json" or (
        args.format is None and args.output and args.output.suffix == ".json"
    ):
        fmt = "json"
    with open_log(args) as log:
        run_id = log.run_id(args.run)
        workflow = log.state(run_id).workflow
        created = log.decoded(log.of_types(run_id, ("RunCreated",)))[0].event
    assert isinstance(created, RunCreated)
    kept = _as_its_file(created, workflow) if fmt == "yaml" else None
    text = kept or as_text(workflow, default_catalog(), fmt)
    if args.output is None:
        out(args, {"run_id": run_id, "format": fmt, "workflow": text}, text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    count = len(reachable(workflow, default_catalog()).nodes)
    how = "its file's comments and layout kept" if kept else f"{count} nodes"
    said = f"run {run_id}'s workflow written to {args.output} ({how})"
    out(args, {"run_id": run_id, "format": fmt, "file": str(args.output)}, said)
    return 0


def _as_its_file(created: RunCreated, workflow: Workflow) -> str | None:
    """The YAML file the run was started from, changed to say `workflow` (comments and layout
    kept) — when that file is still there and still says what the run started with; else
    None. (Only here, for the person at the terminal: an MCP client gets the workflow from
    the log alone, never a local file's text.)"""
    source = Path(created.source) if created.source else None
    if source is None or source.suffix not in (".yaml", ".yml") or not source.is_file():
        return None
    try:
        text = source.read_text(encoding="utf-8")
        if to_workflow(parse_text(text, str(source)), str(source)) != created.workflow:
            return None  # the file changed since the run started
    except (OSError, UnicodeDecodeError, WeboterError):
        return None
    return rewritten(text, created.workflow, workflow)


def write_into(path: Path, workflow: Workflow) -> bool:
    """Write `workflow` (a run's, as it stands now) into the workflow file `path` it came
    from: a YAML file keeps its comments and layout, only what changed written in place
    (True); else the file is written anew from the workflow (False)."""
    try:
        text = path.read_text(encoding="utf-8")
        original = to_workflow(parse_text(text, str(path)), str(path))
    except (OSError, UnicodeDecodeError, WeboterError) as exc:
        raise UsageError(
            f"--write {path}: cannot read it as a workflow ({exc})",
            hint="give the workflow file the run was made from",
        ) from exc
    kept = rewritten(text, original, workflow) if path.suffix in (".yaml", ".yml") else None
    fmt: Format = "json" if path.suffix == ".json" else "yaml"
    path.write_text(kept or as_text(workflow, default_catalog(), fmt), encoding="utf-8")
    return kept is not None
