"""`weboter verify` and `weboter diff`: questions about finished (or resting) runs, answered
from the log alone."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from weboter.runtime.actions import default_catalog
from weboter.runtime.cli.common import open_log
from weboter.runtime.core.loader import load_workflow
from weboter.runtime.core.references import EnvSource


def cmd_verify(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.workflow) if args.workflow else None
    with open_log(args) as log:
        run_id = log.run_id(args.run)
        checked, found = log.verify(run_id, default_catalog(), EnvSource(), workflow)
    if found is None:
        args.out(
            args,
            {"run_id": run_id, "checked": checked, "divergence": None},
            f"run {run_id}: {checked} decision(s) replayed, no divergence",
        )
        return 0
    doc = {"run_id": run_id, "checked": checked, "divergence": found.__dict__}
    args.out(
        args,
        doc,
        f"run {run_id}: diverges at seq {found.seq}, node {found.node_id}: "
        f"the run went to {found.expected!r}, the workflow now says {found.actual!r}"
        + (f" ({found.reason})" if found.reason else ""),
    )
    return 1


def cmd_diff(args: argparse.Namespace) -> int:
    with open_log(args) as log:
        run_a, run_b = log.run_id(args.run), log.run_id(args.other)
        result = log.diff(run_a, run_b)
    doc = {
        "a": run_a,
        "b": run_b,
        "first_divergence": result.first_divergence,
        "steps": result.steps,
        "only_a": result.only_a,
        "only_b": result.only_b,
        "fork_from": result.fork_from,
    }
    lines = [f"a = {run_a}, b = {run_b} (steps numbered from 1, lined up by node)"]
    first = next((s for s in result.steps if s["index"] == result.first_divergence), None)
    if first is None:
        lines.append("the runs agree step by step")
    else:
        lines.append(
            f"first divergence at step {_number(first)} (a: {_node(first, 'a')}, "
            f"b: {_node(first, 'b')})"
        )
    for step in result.steps:
        lines.append(f"  step {_number(step)}: a {_where(step, 'a')} vs b {_where(step, 'b')}")
        for kind, changes in step["changes"].items():
            if kind == "only":
                lines.append(f"    only {changes} ran this step")
                continue
            if kind in ("node", "next_node", "repairs"):
                lines.append(f"    {kind}: {changes['a']} -> {changes['b']}")
                continue
            for key, pair in changes.items():
                lines.append(
                    f"    {kind} {key}: {json.dumps(pair['a'], default=str)} -> "
                    f"{json.dumps(pair['b'], default=str)}"
                )
    if result.only_a or result.only_b:
        lines.append(f"  {result.only_a} step(s) only in a, {result.only_b} only in b")
    if result.fork_from is not None:
        found = result.fork_from
        changes = "".join(
            f" --set {shlex.quote(f'{k}={json.dumps(v, default=str)}')}"
            for k, v in found["variables"].items()
        )
        lines.append(
            f"to run b on from right before it parted: weboter fork {found['run_id']} "
            f"--at {found['seq']}{changes}"
        )
    args.out(args, doc, "\n".join(lines))
    return 0


def _number(step: dict[str, Any]) -> int:
    """A row's step number, from 1 (A's, or B's where only B ran it), as the UI shows it."""
    return (step["step_a"] if step["step_a"] is not None else step["step_b"]) + 1


def _node(step: dict[str, Any], side: str) -> str:
    return step[f"node_{side}"] or "—"


def _where(step: dict[str, Any], side: str) -> str:
    """`inc (step 4, seq 17)`, or `—` for a step that run did not take."""
    if step[f"node_{side}"] is None:
        return "—"
    return f"{step[f'node_{side}']} (step {step[f'step_{side}'] + 1}, seq {step[f'seq_{side}']})"
