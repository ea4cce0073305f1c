"""`weboter retry|skip RUN`: take a run out of ERROR (each repair an event, RepairApplied by a
person), then drive it on from here like `weboter continue`. `weboter heal RUN [--write FILE]`:
the locators a run healed, as a patch or written back into the workflow file."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from weboter.runtime.cli import ai_commands
from weboter.runtime.cli.debug_commands import handle, resolve
from weboter.runtime.core.changes import RESTING
from weboter.runtime.core.flows import index_for, patch_node
from weboter.runtime.core.loader import parse_text, to_workflow
from weboter.runtime.core.workflow_text import rewritten
from weboter.runtime.engine.settings import default_db
from weboter.runtime.errors import UsageError
from weboter.runtime.store.reading import REVERTED, Reader
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.events import NodePatched, RepairApplied, RepairRejected

Out = Callable[[argparse.Namespace, Any, str], None]

EPILOG = """A run waits in ERROR when a node fails under `--on-error pause` (the default of
`weboter debug` and the MCP server) or a node's own `on_error: pause`. Change what made it
fail first (`weboter set RUN K=V`, `weboter patch RUN FILE`), then:

  weboter retry 3f2a        the failed node runs again
  weboter skip 3f2a         the failed node counts as done with no outputs; its control decides
  weboter skip 3f2a --no-continue   record the repair, leave the run PAUSED

Every repair is an event (`weboter history RUN` shows RepairApplied); fork from before it to
compare."""


def add_commands(
    sub: Any,
    common: argparse.ArgumentParser,
    browser: argparse.ArgumentParser,
    out: Out,
    drive_run: Callable[..., int],
) -> None:
    for kind, helptext in (
        ("retry", "run the failed node of a run in ERROR again, and go on"),
        ("skip", "skip the failed node of a run in ERROR (its control decides), and go on"),
    ):
        p = sub.add_parser(
            kind,
            parents=[common, browser],
            help=helptext,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("run", help="a run id (or a unique prefix)")
        p.add_argument("--reason", default="", help="why (kept in the RepairApplied event)")
        p.add_argument(
            "--no-continue",
            dest="go_on",
            action="store_false",
            help="only record the repair: the run rests PAUSED (continue it later)",
        )
        p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        p.set_defaults(handler=_repairing(kind), out=out, drive_run=drive_run)
    add_heal(sub, common, out)
    ai_commands.add_commands(sub, common, out)


def _repairing(kind: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        run_id, state = resolve(args, args.run)
        if state.status != "ERROR":
            raise UsageError(
                f"run {run_id} is {state.status}, not waiting in ERROR: there is no failed "
                f"node to {kind}",
                hint="a paused run goes on with `weboter continue RUN`; `weboter jump RUN "
                "NODE` moves it",
            )
        action = RepairAction(kind=kind, node_id=state.current_node, reason=args.reason)  # type: ignore[arg-type]
        done = handle(args, run_id).repair(action)  # a control that decides may read your $env
        seqs = done.seqs
        if args.go_on:
            return int(args.drive_run(args, mode="continue"))
        args.out(
            args,
            {"run_id": run_id, "seqs": seqs, "status": done.status},
            f"run {run_id}: {kind} of node {state.current_node} recorded; it is "
            f"{done.status} (go on: weboter continue {run_id[:8]})",
        )
        return 0

    return handler


def add_heal(sub: Any, common: argparse.ArgumentParser, out: Out) -> None:
    p = sub.add_parser(
        "heal",
        parents=[common],
        help="the locators a run healed (on_error: heal), as a patch or written into FILE",
        description="Every locator the healer found again in RUN (RepairApplied by `healer`), "
        "as a `weboter patch` file on stdout, or written into the workflow FILE with --write "
        "(a YAML file keeps its comments and layout: only the healed locators change).",
    )
    p.add_argument("run", help="a run id (or a unique prefix)")
    p.add_argument("--write", type=Path, metavar="FILE", help="the workflow file to update")
    p.add_argument(
        "--revert",
        metavar="NODE",
        help="undo the heal of NODE: recorded as rejected (later runs do not reuse it), and "
        "on a run that rests, its locator put back",
    )
    p.set_defaults(handler=cmd_heal, out=out)


def cmd_heal(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else default_db()
    if args.revert:
        return _revert(args, db)
    with Reader(db) as log:
        run_id = log.run_id(args.run)
        found = healed_nodes(log, run_id)
    if not found:
        raise UsageError(
            f"run {run_id} healed no locator",
            hint="run the workflow with --on-error heal (or a node's on_error: heal)",
        )
    patch = {node_id: {"inputs": inputs} for (_, node_id), inputs in found.items()}
    if args.write is None:
        shown = yaml.safe_dump(patch, sort_keys=False, allow_unicode=True)
        args.out(args, {"run_id": run_id, "patch": patch}, shown.rstrip())
        return 0
    try:
        was = args.write.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"--write {args.write}: {exc.strerror}",
            hint="give the workflow file the run was made from",
        ) from exc
    data = parse_text(was, str(args.write))
    text = _kept_layout(was, data, found, str(args.write))
    if text is None:  # JSON, or a heal inside a sub-flow: the file written anew
        for (flow_path, node_id), inputs in found.items():
            _node_in(data, flow_path, node_id, str(args.write))["inputs"] = inputs
        if args.write.suffix.lower() == ".json":
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    args.write.write_text(text, encoding="utf-8")
    names = [node_id for _, node_id in found]
    args.out(
        args,
        {"run_id": run_id, "file": str(args.write), "healed": names},
        f"wrote {args.write}: healed {', '.join(names)}",
    )
    return 0


def _kept_layout(
    text: str, data: Any, found: dict[tuple[tuple[str, ...], str], dict[str, Any]], source: str
) -> str | None:
    """The YAML file `text` with the healed inputs written in place (its comments, order and
    layout kept; only the changed keys written), or None where that cannot be done."""
    if source.lower().endswith(".json"):
        return None
    original = to_workflow(data, source)
    healed = original
    for (flow_path, node_id), inputs in found.items():
        _node_in(data, flow_path, node_id, source)  # there, or refused saying so
        changes = NodeModifications(inputs=inputs)
        healed = patch_node(healed, [original.id, *flow_path[1:]], node_id, changes)
    return rewritten(text, original, healed)


def _revert(args: argparse.Namespace, db: Path) -> int:
    """Undo the last heal of a node: RepairRejected (the repair memory skips it), and on a
    run that rests the node's locator as it was before the heal."""
    with Reader(db) as log:
        run_id = log.run_id(args.run)
        heal: RepairApplied | None = None
        patch: tuple[int, NodePatched] | None = None
        for record in log.records(run_id):
            event = record.event
            if isinstance(event, RepairApplied) and event.source == "healer":
                heal = event if event.node_id == args.revert else None
            elif isinstance(event, NodePatched) and heal is not None:
                patch, heal_of = (record.seq, event), heal
                heal = None
        if patch is None:
            raise UsageError(
                f"run {run_id} has no heal of node {args.revert!r}",
                hint=f"`weboter heal {run_id[:8]}` lists the nodes it healed",
            )
        before = log.state(run_id, patch[0] - 1)
        now = log.state(run_id)
    node = index_for(before.workflow).node(patch[1].flow_path, args.revert)
    was = node.inputs.get("locator") if node is not None else None
    run = handle(args, run_id)
    said = f"run {run_id}: the heal of {args.revert} is reverted (later runs will not reuse it)"
    if now.status in RESTING and node is not None:
        back = NodeModifications(inputs=node.inputs)  # as before the heal: locators too
        run.patch(args.revert, back, patch[1].flow_path, replace=True)
        said += f"; its locator is back to {was}"
    else:
        said += f"; the run is {now.status}: its workflow stays as it ran"
    run.reject(heal_of.action, f"{REVERTED} by a person")  # last: the memory stops here
    args.out(args, {"run_id": run_id, "reverted": args.revert, "locator": was}, said)
    return 0


def healed_nodes(log: Reader, run_id: str) -> dict[tuple[tuple[str, ...], str], dict[str, Any]]:
    """(flow path, node id) -> the node's healed inputs, the last heal of each node."""
    found: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}
    healer = False
    for record in log.records(run_id):
        event = record.event
        if isinstance(event, RepairApplied):
            healer = event.source == "healer"
        elif isinstance(event, NodePatched) and healer and event.changes.inputs is not None:
            found[(tuple(event.flow_path), event.node_id)] = event.changes.inputs
            healer = False
        elif isinstance(event, RepairRejected) and event.reason.startswith(REVERTED):
            found = {key: v for key, v in found.items() if key[1] != event.node_id}
    return found


def _node_in(data: Any, flow_path: tuple[str, ...], node_id: str, source: str) -> dict[str, Any]:
    flow = data
    for flow_id in flow_path[1:]:
        flow = next((f for f in flow.get("sub_flows") or [] if f.get("id") == flow_id), None)
        if flow is None:
            break
    node = next((n for n in (flow or {}).get("nodes") or [] if n.get("id") == node_id), None)
    if node is None:
        raise UsageError(
            f"{source} has no node {node_id!r} in flow {'/'.join(flow_path)}",
            hint="give the workflow file the run was made from",
        )
    return node
