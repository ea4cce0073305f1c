"""`weboter generate PROMPT -o FILE` and `weboter repair RUN`: the AI gateway from the
command line (a model configured by WEBOTER_AI_*; runtime/ai/models.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml

from weboter.runtime.ai.gateway import failure_of, generate_workflow
from weboter.runtime.ai.models import configured
from weboter.runtime.cli.detail import printable
from weboter.runtime.cli.export_command import write_into
from weboter.runtime.core.analysis import analyse
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.commands import approve, modify_runtime, reject, suggest_repair
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.handle import RunHandle, through_log
from weboter.runtime.engine.settings import Settings, default_db
from weboter.runtime.errors import UsageError
from weboter.runtime.store.reading import Reader
from weboter.schemas.state import BrowserState

Out = Callable[[argparse.Namespace, Any, str], None]

MODEL_EPILOG = """The model: any OpenAI-compatible server (OpenAI, Ollama, llama.cpp, vLLM, LM
Studio) named by WEBOTER_AI_BASE_URL and WEBOTER_AI_MODEL (WEBOTER_AI_API_KEY if it needs a
key; WEBOTER_AI_PROVIDER=anthropic with the anthropic extra). What it is told never holds a
secret's value: runs are read from the log, where secrets are $env{name}."""


def add_commands(sub: Any, common: argparse.ArgumentParser, out: Out) -> None:
    p = sub.add_parser(
        "generate",
        parents=[common],
        help="write a workflow for a task with the AI model (validated before it is written)",
        epilog='example:\n  weboter generate "log in and export the order list" -o flow.yaml\n\n'
        + MODEL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompt", help="what the workflow should do")
    p.add_argument("-o", "--output", type=Path, required=True, help="the file (.yaml or .json)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.add_argument(
        "--tries",
        type=int,
        choices=range(1, 11),
        default=3,
        metavar="N",
        help="replies asked for at most, 1..10 (default 3)",
    )
    p.set_defaults(handler=cmd_generate, out=out)
    p = sub.add_parser(
        "repair",
        parents=[common],
        help="ask the AI model how to repair a run in ERROR; apply it on confirmation",
        epilog="example:\n  weboter repair 3f2a          show the suggestion, ask before applying"
        "\n  weboter repair 3f2a --yes    apply it (then: weboter continue 3f2a)\n\n"
        + MODEL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", help="a run id (or a unique prefix), in ERROR or PAUSED")
    p.add_argument("--yes", action="store_true", help="apply the suggestion without asking")
    review = p.add_mutually_exclusive_group()  # one suggestion, one verdict
    review.add_argument(
        "--approve",
        type=int,
        metavar="SEQ",
        help="apply the suggestion recorded at SEQ, as it was shown (no model is asked again)",
    )
    review.add_argument(
        "--reject",
        type=int,
        metavar="SEQ",
        help="record that you rejected the suggestion at SEQ (with --reason)",
    )
    p.add_argument("--reason", default="", help="why it was rejected (kept in the log)")
    p.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="once applied, write the run's workflow into FILE, the workflow file it came "
        "from (a YAML file keeps its comments and layout: only what changed is written)",
    )
    p.add_argument(
        "--no-page",
        dest="page",
        action="store_false",
        help="do not show the model the run's page (by default its accessibility text goes "
        "with the question, secrets redacted; the browser comes back as recorded)",
    )
    p.set_defaults(handler=cmd_repair, out=out)


def cmd_generate(args: argparse.Namespace) -> int:
    if not args.prompt.strip():
        raise UsageError("say what the workflow should do", hint='e.g. "log in and export orders"')
    if args.output.exists() and not args.force:
        raise UsageError(f"{args.output} exists", hint="pass --force to replace it, or another -o")
    model = configured()
    if not args.json:
        print(f"asking {model.config.model} ...", file=sys.stderr, flush=True)
    workflow = generate_workflow(model, args.prompt, tries=max(args.tries, 1))
    data = msgspec.to_builtins(workflow)
    if args.output.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    args.output.write_text(text, encoding="utf-8")
    nodes = sum(len(flow) for flow in index_for(workflow).nodes.values())
    warnings = [str(f) for f in analyse(workflow)]  # valid, but look before running it
    args.out(
        args,
        {"file": str(args.output), "workflow": workflow.id, "nodes": nodes, "warnings": warnings},
        "\n".join(
            [f"wrote {args.output}: workflow {workflow.id!r}, {nodes} node(s), valid", *warnings]
        )
        + f"\ntry it: weboter debug {args.output}",
    )
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else default_db()
    if args.approve is not None or args.reject is not None:
        return _reviewed(args, db)
    run_id, state, _ = failure_of(db, args.run)  # a run that cannot be repaired says so first
    model = configured()
    aria = page_text(db, run_id, state.browser) if args.page and state.browser else ""
    env = EnvSource(holder="this command")  # yours: kept from the model, read by decisions
    found = suggest_repair(model, db, run_id, aria=aria, env=env)
    action = found.action
    shown = {k: v for k, v in msgspec.to_builtins(action).items() if k != "reason"}
    text = (  # the model's words are shown, never obeyed by the terminal
        f"run {found.run_id}: the model suggests {action.kind} (confidence "
        f"{found.confidence:.2f})\n  why: {printable(action.reason)}\n  {json.dumps(shown)}"
    )
    if found.held:
        text += f"\n  {found.held} (look at it before you say yes)"
    asked = not args.yes and not args.json and sys.stdin.isatty()
    if not asked:  # (asked, a "no" is recorded: the run moves on from that suggestion)
        later = f"weboter repair {found.run_id[:8]} --approve {found.seq}"
        text += f"\n  suggestion seq {found.seq}: apply it later as shown with `{later}`"
    confirmed = asked and _confirmed(text)
    applied, why = False, "not applied: pass --yes to apply it"
    if found.held and not asked:
        why = (
            f"not applied: {found.held}; run `weboter repair {found.run_id[:8]}` on a terminal "
            "(it shows the change and asks), or approve it in `weboter ui`"
        )
    if confirmed or (args.yes and not found.held):  # --yes: only what a model may do alone
        source = "person" if confirmed else "model"
        applied, why = modify_runtime(db, found.run_id, found.seq, action, source=source, env=env)
    elif asked:  # a person said no: that is recorded (without a terminal, nobody was asked)
        why = "not applied: declined"
        RunHandle(found.run_id, through_log(db, env)).reject(action, "not confirmed")
    said = f"applied; go on: weboter continue {found.run_id[:8]}" if applied else why
    if applied and args.write is not None:
        said += _written(db, found.run_id, args.write)
    if asked:
        text = ""  # it was shown when asking
    args.out(
        args,
        {
            "run_id": found.run_id,
            "suggestion": msgspec.to_builtins(action),
            "suggestion_seq": found.seq,
            "confidence": found.confidence,
            "needs_approval": found.held,
            "applied": applied,
            "why": "" if applied else why,
        },
        f"{text}\n{said}".strip(),
    )
    return 0 if applied or not args.yes else 1


def _reviewed(args: argparse.Namespace, db: Path) -> int:
    """--approve SEQ / --reject SEQ: the suggestion a person looked at, no model asked."""
    env = EnvSource(holder="this command")
    if args.approve is not None:
        applied, why = approve(db, args.run, args.approve, env=env)
        said = "applied; go on: weboter continue RUN" if applied else f"not applied: {why}"
        if applied and args.write is not None:
            said += _written(db, args.run, args.write)
        args.out(args, {"applied": applied, "why": why, "suggestion_seq": args.approve}, said)
        return 0 if applied else 1
    reject(db, args.run, args.reject, args.reason, env=env)
    said = f"rejected the suggestion at seq {args.reject} (recorded)"
    args.out(args, {"rejected": True, "suggestion_seq": args.reject}, said)
    return 0


def _written(db: Path, run_id: str, path: Path) -> str:
    """The run's workflow, repaired, written into `path`; what to say about it."""
    with Reader(db) as log:
        workflow = log.state(log.run_id(run_id)).workflow
    kept = write_into(path, workflow)
    return f"\nwrote {path}" + (" (its comments and layout kept)" if kept else "")


def page_text(db: Path, run_id: str, browser: BrowserState) -> str:
    """The run's page as accessibility text, its browser put back as recorded ("" when it
    cannot be seen: the model is asked without it)."""
    with Engine(Settings(db_path=db)) as engine, engine.client(follow=False) as client:
        found = client.look(run_id, browser)
    if found.error is not None:
        print(f"(the page could not be shown: {found.error.message})", file=sys.stderr)
        return ""
    return found.aria


def _confirmed(text: str) -> bool:
    print(text, file=sys.stderr)
    try:
        return input("apply it? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
