"""`weboter export RUN [-o FILE]`: a run's workflow as it stands now — patches, applied
repairs and an agent session's acts included — as a workflow file `weboter run` reads."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from weboter.runtime.actions import default_catalog
from weboter.runtime.cli.common import open_log, out
from weboter.runtime.core.export import Format, as_text


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="write a run's current workflow (patches, repairs, an agent's acts) as a file",
        description="The workflow of RUN as it stands now: every patch, applied repair and "
        "added node (an agent session's acts, recorded over MCP) included; nodes no path "
        "reaches any more are left out. `weboter run FILE` repeats it. Without -o, the text "
        "goes to stdout (--json: a document with it).",
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
    text = as_text(workflow, default_catalog(), fmt)
    if args.output is None:
        out(args, {"run_id": run_id, "format": fmt, "workflow": text}, text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    said = f"run {run_id}'s workflow written to {args.output} ({len(workflow.nodes)} nodes)"
    out(args, {"run_id": run_id, "format": fmt, "file": str(args.output)}, said)
    return 0
