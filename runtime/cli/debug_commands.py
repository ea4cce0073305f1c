"""The debugger's commands on the command line. A paused run outlives its process, so these
come from any process, at any time. break, unbreak, set, pause, patch, jump and rewind go
through the write path (RunStore) directly, without an engine, and also work on a run that
another process drives (where the run's state allows them); step, continue, fork and debug
start an engine for as long as they need one.
"""

from __future__ import annotations

import argparse
import graphlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import msgspec

from weboter.runtime.cli import compare
from weboter.runtime.cli.common import (
    add_max_nodes,
    add_on_error,
    engine_settings,
    parse_value,
    seq_number,
)
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.loader import parse_text
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.handle import Done, RunHandle, breakpoint_at, through_log
from weboter.runtime.errors import UsageError
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import NodeModifications
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Node

Out = Callable[[argparse.Namespace, Any, str], None]


def add_commands(  # table: the parser
    sub: Any,
    common: argparse.ArgumentParser,
    browser: argparse.ArgumentParser,
    out: Out,
    drive_run: Callable[..., int],
) -> None:
    """Register the debugger's sub-commands on the `weboter` parser."""

    def command(
        name: str, helptext: str, parents: list[argparse.ArgumentParser] | None = None
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=parents or [common], help=helptext
        )
        p.add_argument("run", help="a run id (or a unique prefix)")
        p.set_defaults(out=out, drive_run=drive_run)
        return p

    p = command("step", "run exactly one node of a paused run, then pause", [common, browser])
    p.add_argument("--env-file", type=Path)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=lambda a: a.drive_run(a, mode="step"))
    p = command(
        "continue", "go on with a paused (or loaded, or failed-and-fixed) run", [common, browser]
    )
    p.add_argument("--env-file", type=Path)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=lambda a: a.drive_run(a, mode="continue"))

    p = command("break", "set a breakpoint on a run (resting, or driven by another process)")
    p.add_argument("node", nargs="?", help="the node to break at")
    p.add_argument("--after", action="store_true", help="after the node instead of before")
    p.add_argument(
        "--if",
        dest="condition",
        metavar="EXPR",
        help="break when this expression over the variables is true",
    )
    p.add_argument("--on-error", action="store_true", help="break when a node fails")
    p.add_argument("--once", action="store_true", help="remove the breakpoint when hit")
    p.add_argument("--id", help="the breakpoint's id (default: derived from the rest)")
    p.set_defaults(handler=cmd_break)
    p = command(
        "pause", "ask a RUNNING run (driven by any process) to pause after its current node"
    )
    p.set_defaults(
        handler=lambda a: _send(
            a, lambda run: run.pause(), "pause requested (it pauses after the node in flight)"
        )
    )
    p = command("unbreak", "clear a breakpoint")
    p.add_argument("id")
    p.set_defaults(
        handler=lambda a: _send(
            a, lambda run: run.clear_breakpoint(a.id), f"breakpoint {a.id} cleared"
        )
    )
    p = command(
        "set",
        "set a variable of a run (K=V, V parsed as JSON when it can be); on a running run it "
        "counts from the next node on",
    )
    p.add_argument("assignment", metavar="K=V")
    p.add_argument(
        "--global",
        dest="scope",
        action="store_const",
        const="global",
        default="flow",
        help="the global scope (default: the current flow)",
    )
    p.set_defaults(handler=cmd_set)
    p = command("jump", "make a resting run go on at another node of its current flow")
    p.add_argument("node")
    p.set_defaults(handler=lambda a: _send(a, lambda run: run.jump(a.node), f"next node: {a.node}"))
    p = command(
        "patch",
        "change nodes of a resting run: FILE maps node ids to {inputs, params, control, "
        "action}; an id the flow lacks, given an action, is added",
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--replace",
        action="store_true",
        help="a node's given inputs and params replace its own whole (default: merged into "
        "them; a key set to null is removed)",
    )
    p.set_defaults(handler=cmd_patch)
    p = command("rewind", "take a paused run back to right after event SEQ")
    p.add_argument(
        "--to",
        type=seq_number,
        required=True,
        metavar="SEQ",
        help="the event to go back to (the SEQ column of `weboter history RUN`: seqs count "
        "across the whole log)",
    )
    p.set_defaults(handler=cmd_rewind)
    p = command(
        "fork", "start a new run from any event of any run, with changes", [common, browser]
    )
    p.add_argument(
        "--at",
        type=seq_number,
        required=True,
        metavar="SEQ",
        help="fork from the state right after this event (the SEQ column of `weboter history "
        "RUN`: seqs count across the whole log)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="K=V",
        help="set $global{K} in the fork; repeatable",
    )
    p.add_argument("--patch", type=Path, help="node changes, as for `weboter patch`")
    add_max_nodes(p, "the fork (counting from the fork point)")
    add_on_error(p, "the parent's")
    p.add_argument("--env-file", type=Path)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=lambda a: a.drive_run(a, mode="fork"))
    p = sub.add_parser(
        "debug", parents=[common, browser], help="debug a workflow FILE or a RUN interactively"
    )
    p.add_argument("target", help="a workflow file, or a run id (prefix)")
    p.add_argument(
        "--var", action="append", default=[], metavar="K=V", help="set $global{K} (as run's)"
    )
    p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
    add_on_error(p, "pause")
    p.set_defaults(handler=cmd_debug, out=out)
    p = command("verify", "re-run a run's decisions against its recorded outputs")
    p.add_argument("--workflow", type=Path, help="check against this version of the workflow")
    p.set_defaults(handler=compare.cmd_verify)
    p = command("diff", "compare two runs: first divergence, outputs and variables per node")
    p.add_argument("other", help="the second run")
    p.set_defaults(handler=compare.cmd_diff)


def resolve(args: argparse.Namespace, prefix: str) -> tuple[str, RunState]:
    with Reader(_db(args)) as log:
        run_id = log.run_id(prefix)
        return run_id, log.state(run_id)


def _db(args: argparse.Namespace) -> Path:
    from weboter.runtime.engine.settings import default_db  # noqa: PLC0415

    return Path(args.db) if args.db else default_db()


def handle(args: argparse.Namespace, run_id: str) -> RunHandle:
    """The run, its changes committed through the write path here (no engine is started),
    deciding with this shell's `$env`. On a run that another process drives, that process
    sees a change at its next node (it re-reads the run)."""
    return RunHandle(run_id, through_log(_db(args), EnvSource(holder="this command")))


def _send(args: argparse.Namespace, act: Callable[[RunHandle], Done], done: str) -> int:
    run_id, _ = resolve(args, args.run)
    seqs = act(handle(args, run_id)).seqs
    args.out(
        args,
        {"run_id": run_id, "seqs": seqs, "done": done},
        f"run {run_id}: {done} (seq {', '.join(map(str, seqs))})",
    )
    return 0


def cmd_rewind(args: argparse.Namespace) -> int:
    """Rewind, saying which patches and added nodes that undoes."""
    run_id, _ = resolve(args, args.run)
    done = handle(args, run_id).rewind(args.to)
    undid = done.undoes()
    text = f"run {run_id}: rewound to seq {args.to} (seq {', '.join(map(str, done.seqs))})"
    if undid:
        text += f"\n  this undoes: {', '.join(undid)} (`weboter patch` them again to keep them)"
    said = {"run_id": run_id, "seqs": done.seqs, "done": f"rewound to seq {args.to}"}
    args.out(args, {**said, "undone": undid}, text)
    return 0


def cmd_break(args: argparse.Namespace) -> int:
    when: Literal["before", "after", "condition", "error"]
    if args.on_error:
        when = "error"
    elif args.condition:
        when = "condition"
    elif args.node:
        when = "after" if args.after else "before"
    else:
        raise UsageError(
            "say where to break: a NODE, --if EXPR, or --on-error",
            hint="e.g. weboter break RUN read_price --after",
        )
    bp = breakpoint_at(when, args.node, args.condition, once=args.once, id_=args.id)
    return _send(args, lambda run: run.set_breakpoint(bp), f"breakpoint {bp.id} set")


def parse_assignment(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"{text!r} is not K=V", hint="e.g. weboter set RUN page=2")
    return key, parse_value(value, key)


def cmd_set(args: argparse.Namespace) -> int:
    key, value = parse_assignment(args.assignment)
    scope = args.scope
    named = re.fullmatch(r"\$(global|flow)\{([^{}]+)\}", key)  # `$global{x}=V` says its scope
    if named:
        scope, key = named.group(1), named.group(2)
    return _send(
        args,
        lambda run: run.set_variable(key, value, scope),
        f"{scope} variable {key} = {json.dumps(value)}",
    )


def read_patches(path: Path) -> dict[str, NodeModifications]:
    try:
        data = parse_text(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise UsageError(
            f"{path}: expected a mapping of node ids to changes",
            hint='e.g. {"read": {"inputs": {"locator": "#price"}}}',
        )
    try:
        return {str(k): msgspec.convert(v, NodeModifications) for k, v in data.items()}
    except msgspec.ValidationError as exc:
        raise UsageError(
            f"{path}: {exc}", hint="changes are inputs, params, control, action"
        ) from exc


def cmd_patch(args: argparse.Namespace) -> int:
    """Patch nodes of a resting run; an id the current flow does not have, given with an
    `action`, is a node to add."""
    patches = read_patches(args.file)
    run_id, state = resolve(args, args.run)
    known = index_for(state.workflow).nodes.get(tuple(state.frame.flow_path), {})
    added = _in_order({n: c for n, c in patches.items() if n not in known and c.action})
    # the new nodes first, so that patched edges can lead to them; all of it or none of it
    seqs = (
        handle(args, run_id)
        .change_nodes(
            [_new_node(n, patches[n]) for n in added],
            {n: c for n, c in patches.items() if n not in added},
            replace=args.replace,
        )
        .seqs
    )
    patched = [n for n in patches if n not in added]
    text = f"run {run_id}: patched {', '.join(patched) or 'nothing'}"
    if added:
        text += f"; added {', '.join(added)}"
    args.out(args, {"run_id": run_id, "seqs": seqs, "patched": patched, "added": added}, text)
    return 0


def _new_node(node_id: str, changes: NodeModifications) -> Node:
    return Node(
        id=node_id,
        action=changes.action or "",
        inputs=changes.inputs or {},
        control=changes.control or "builtin.NextNode",
        params=changes.params or {},
    )


def _in_order(new: dict[str, NodeModifications]) -> list[str]:
    """The nodes to add, each after the new nodes its params lead to (each addition is
    validated: a next node must exist)."""
    after = {
        node_id: {v for v in (c.params or {}).values() if isinstance(v, str) and v in new}
        - {node_id}
        for node_id, c in new.items()
    }
    try:
        return list(graphlib.TopologicalSorter(after).static_order())
    except graphlib.CycleError as exc:
        raise UsageError(
            f"the new nodes {', '.join(exc.args[1])} lead to each other in a circle",
            hint="add them in two patches: first with a next node that exists, then the edge",
        ) from exc


def cmd_debug(args: argparse.Namespace) -> int:
    from weboter.runtime.cli.common import env_source, load_checked, parse_vars  # noqa: PLC0415
    from weboter.runtime.cli.debugger import Debugger, repl  # noqa: PLC0415

    target = Path(args.target)
    settings = engine_settings(args, on_error="pause")  # a failing node waits to be fixed
    with Engine(settings, env=env_source(args.env_file)) as engine, engine.client() as client:
        if target.suffix.lower() in (".json", ".yaml", ".yml") and target.exists():
            workflow, _ = load_checked(target)
            run_id = client.submit(
                workflow, variables=parse_vars(args.var), source=str(target), start=None
            )
        else:
            run_id, _ = resolve(args, args.target)
        debugger = Debugger(client, _db(args), run_id, say=print)
        repl(debugger, _db(args).parent / "debug_history")
    return 0


def fork_request(args: argparse.Namespace) -> dict[str, Any]:
    """`RunHandle.fork`'s options from the command line."""
    variables = dict(parse_assignment(pair) for pair in args.set)
    patches = read_patches(args.patch) if args.patch else {}
    return {
        "at_seq": args.at,
        "variables": variables,
        "patches": patches,
        "max_nodes": args.max_nodes,
        "on_error": args.on_error,
    }
