"""`weboter`: the command line. Every command takes --json (one JSON document on stdout) and
--db PATH (default: $WEBOTER_HOME/weboter.db, else ./.weboter/weboter.db).

Exit codes: 0 done (for `run`/`resume`: the run COMPLETED), 1 the run did not complete,
2 bad input (workflow, database, arguments, unknown run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from weboter.runtime.catalog import default_catalog
from weboter.runtime.client import EngineClient
from weboter.runtime.debug_cli import add_commands, fork_request, resolve
from weboter.runtime.engine import Engine
from weboter.runtime.errors import Finding, IllegalTransition, WeboterError, WorkflowInvalid
from weboter.runtime.eventlog import EventLog, decode_event
from weboter.runtime.flows import index_for
from weboter.runtime.loader import load_workflow, parse_text
from weboter.runtime.projection import context_snapshot, state_at
from weboter.runtime.references import MISSING, EnvSource, display, references_in
from weboter.runtime.settings import Settings, default_db
from weboter.runtime.validate import validate
from weboter.schemas.events import NodeCompleted, NodeFailed, SubFlowReturned
from weboter.schemas.messages import RunEnded, SetBreakpoint
from weboter.schemas.state import Breakpoint
from weboter.schemas.workflow import Workflow

EPILOG = """\
examples:
  weboter validate flow.yaml              check a workflow without running it
  weboter run flow.yaml --var user=ann    run it; progress on stderr, exit 0 if COMPLETED
  weboter run a.yaml b.yaml --parallel 2  two runs at once, one browser, separate cookies
  weboter demo                            scrape a demo shop in headless Chromium, write a CSV
  weboter runs                            the runs in the log, newest first
  weboter history 3f2a                    every event of run 3f2a… (ids by unique prefix)
  weboter state 3f2a --at 17              variables and position right after event seq 17
  weboter resume 3f2a                     finish a run whose process died
  weboter schema workflow > wf.schema.json   JSON Schema for editors and AI clients
  weboter doctor                          what is installed; weboter browser install gets Chromium
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except WeboterError as exc:
        emit_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; `weboter resume RUN` finishes the run later", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weboter",
        description="Run web-automation workflows you can debug like code. Every run is an "
        "event log: list it, read it, ask for its state at any event, resume it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the event log (default: $WEBOTER_HOME/weboter.db or ./.weboter/)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", parents=[common], help="check a workflow file")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_validate)

    browser = argparse.ArgumentParser(add_help=False)
    browser.add_argument(
        "--evidence",
        choices=("none", "on_error", "every_node"),
        default="on_error",
        help="screenshot/DOM/storage of browser nodes (default: on_error)",
    )
    browser.add_argument(
        "--browser",
        default=None,
        metavar="PATH",
        help="the Chromium to use (default: $WEBOTER_BROWSER, then searched)",
    )

    for name, helptext in (("run", "run workflows to their end"),):
        p = sub.add_parser(name, parents=[common, browser], help=helptext)
        p.add_argument("files", type=Path, nargs="+", metavar="FILE")
        p.add_argument(
            "--parallel",
            type=int,
            default=1,
            metavar="N",
            help="run up to N of the files at once, in one browser",
        )
        p.add_argument(
            "--break",
            dest="brk",
            action="append",
            default=[],
            metavar="NODE",
            help="pause before NODE (the run stays PAUSED; go on with `weboter "
            "step` / `weboter continue`, from any process)",
        )
        p.add_argument(
            "--break-after",
            dest="brk_after",
            action="append",
            default=[],
            metavar="NODE",
            help="pause after NODE",
        )
        p.add_argument(
            "--break-if",
            dest="brk_if",
            action="append",
            default=[],
            metavar="EXPR",
            help="pause when EXPR over the variables is true",
        )
        p.add_argument(
            "--break-on-error",
            dest="brk_error",
            action="store_true",
            help="when a node fails, wait (ERROR) instead of failing the run",
        )
        p.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="K=V",
            help="set $global{K} (V is parsed as JSON when it can be); repeatable",
        )
        p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
        p.add_argument(
            "--durability",
            choices=("sync", "full"),
            default="sync",
            help="sync: committed before the next node (default); full: also fsync",
        )
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        p.set_defaults(handler=cmd_run)

    p = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("history", parents=[common], help="every event of a run")
    p.add_argument("run")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("state", parents=[common], help="a run's state (at an event: --at SEQ)")
    p.add_argument("run")
    p.add_argument("--at", type=int, default=None, metavar="SEQ", help="right after event SEQ")
    p.set_defaults(handler=cmd_state)

    p = sub.add_parser("resume", parents=[common, browser], help="finish a run whose process died")
    p.add_argument("run")
    p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_resume)

    add_commands(sub, common, browser, out, drive_resting)

    p = sub.add_parser("schema", parents=[common], help="print a JSON Schema")
    p.add_argument("what", choices=("workflow",))
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser(
        "demo",
        parents=[common, browser],
        help="scrape a demo shop served on loopback, in headless Chromium",
    )
    p.add_argument("--out", default="weboter-demo/products.csv", help="the CSV to write")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("browser", parents=[common], help="get a Chromium: browser install")
    p.add_argument("what", choices=("install",))
    p.add_argument(
        "--no-system", action="store_true", help="do not fall back to the system package manager"
    )
    p.add_argument(
        "--if-missing", action="store_true", help="do nothing when a browser is already found"
    )
    p.set_defaults(handler=cmd_browser)

    p = sub.add_parser("doctor", parents=[common], help="check Python, Playwright, the browser")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser(
        "keys", parents=[common], help="make a CURVE key pair (for an engine or a remote client)"
    )
    p.set_defaults(handler=cmd_keys)

    p = sub.add_parser("catalog", parents=[common], help="list actions and controls")
    p.set_defaults(handler=cmd_catalog)
    return parser


# --- output ------------------------------------------------------------------------------


def out(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))


def emit_error(args: argparse.Namespace, exc: WeboterError) -> None:
    if getattr(args, "json", False):
        findings = [f.__dict__ for f in exc.findings] if isinstance(exc, WorkflowInvalid) else []
        doc = {
            "error": {
                "kind": type(exc).__name__.rstrip("_"),
                "message": exc.message,
                "hint": exc.hint,
                "findings": findings,
            }
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    print(f"error: {exc}", file=sys.stderr)


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else default_db()


def open_log(args: argparse.Namespace) -> EventLog:
    return EventLog(db_path(args), create=False)


# --- commands ----------------------------------------------------------------------------


def load_checked(path: Path) -> tuple[Workflow, list[Any]]:
    workflow = load_workflow(path)
    findings = validate(workflow, default_catalog())
    if any(f.severity == "error" for f in findings):
        raise WorkflowInvalid(str(path), findings)
    return workflow, findings


def cmd_validate(args: argparse.Namespace) -> int:
    workflow, findings = load_checked(args.file)
    warnings = [str(f) for f in findings]
    count = sum(len(f.nodes) for f in index_for(workflow).flows.values())
    text = f"{args.file}: valid ({count} nodes in {len(index_for(workflow).flows)} flow(s))"
    out(
        args,
        {
            "valid": True,
            "file": str(args.file),
            "nodes": count,
            "findings": [f.__dict__ for f in findings],
        },
        "\n".join([text, *warnings]),
    )
    return 0


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise WeboterError(f"--var {pair!r} is not K=V", hint="e.g. --var user=ann --var n=3")
        try:
            variables[key] = json.loads(value)
        except json.JSONDecodeError:
            variables[key] = value
    return variables


def env_source(path: Path | None) -> EnvSource:
    if path is None:
        return EnvSource()
    try:
        data = parse_text(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise WeboterError(f"--env-file {path}: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise WeboterError(f"--env-file {path}: expected a mapping of names to values")
    return EnvSource(data)


class Progress:
    """Prints one line per executed node on stderr (prefixed with `tag`)."""

    def __init__(self, workflow: Workflow, enabled: bool, tag: str = "") -> None:
        self.index = index_for(workflow)
        self.enabled = enabled
        self.tag = tag
        self.nodes = 0

    def __call__(self, header: dict[str, Any], payload: bytes) -> None:
        type_ = header["type"]
        if type_ not in ("NodeCompleted", "SubFlowReturned", "NodeFailed", "SubFlowEntered"):
            return
        event = decode_event(type_, header["schema_version"], payload)
        if isinstance(event, NodeCompleted | SubFlowReturned):
            self.nodes += 1
            node = self.index.node(event.flow_path, event.node_id)
            action = node.action if node else "?"
            ms = getattr(event, "duration_ms", 0.0)
            line = (
                f"  [{self.nodes:>4}] {'/'.join(event.flow_path)}:{event.node_id:<16} "
                f"{action:<22} -> {event.next_node}  {ms:.1f} ms"
            )
        elif isinstance(event, NodeFailed):
            line = f"  [fail] {event.node_id}: {event.error.message}"
        else:
            line = f"  [ -> ] entering sub-flow {'/'.join(getattr(event, 'flow_path', []))}"
        if self.enabled:
            print(self.tag + line, file=sys.stderr, flush=True)


BAD_INPUT_KINDS = ("ReferenceError", "WorkflowInvalid", "CatalogError", "ExpressionError")


def drive(
    args: argparse.Namespace,
    settings: Settings,
    env: EnvSource,
    jobs: list[tuple[Workflow, dict[str, Any]]],
    *,
    start: Callable[[EngineClient, Workflow, dict[str, Any]], str] | None = None,
    parallel: int = 1,
    resting: tuple[str, ...] = ("COMPLETED",),
) -> int:
    """Start an engine, start the jobs (at most `parallel` at a time; `start(client, workflow,
    job)` returns the run id, default: submit), show progress, summarise, stop. Exit 0 only
    if every run ends in one of `resting` (COMPLETED; PAUSED too when a pause was asked for)."""
    started = time.monotonic()
    show = not getattr(args, "quiet", False) and not args.json
    progress: dict[str, Progress] = {}
    ended: dict[str, RunEnded] = {}
    engine = Engine(settings, env=env).start()
    try:
        with engine.client() as client:
            waiting = list(enumerate(jobs))
            active: set[str] = set()

            def launch(number: int, workflow: Workflow, submit: dict[str, Any]) -> None:
                run_id = (start or submit_job)(client, workflow, submit)
                tag = f"{run_id[:8]} " if len(jobs) > 1 else ""
                progress[run_id] = Progress(workflow, enabled=show, tag=tag)
                active.add(run_id)
                if show:
                    print(
                        f"run {run_id}: {workflow.name or workflow.id} (log {engine.db_path})",
                        file=sys.stderr,
                        flush=True,
                    )

            def on_event(header: dict[str, Any], payload: bytes) -> None:
                progress[header["run_id"]](header, payload)

            while waiting or active:
                while waiting and len(active) < max(parallel, 1):
                    number, (workflow, submit) = waiting.pop(0)
                    launch(number, workflow, submit)
                done = client.wait_any(active, on_event=on_event)
                active.discard(done.run_id)
                ended[done.run_id] = done
    finally:
        engine.stop()
    summaries = [
        summarise(settings.db_path, run_id, end, progress[run_id].nodes)
        for run_id, end in ended.items()
    ]
    seconds = time.monotonic() - started
    texts = []
    for summary in summaries:
        text = f"run {summary['run_id']} {summary['status']} after {summary['nodes']} node(s)"
        error = ended[summary["run_id"]].error
        if error:
            text += f"\n  error at node {error.node_id}: {error.message}"
            if error.hint:
                text += f"\n  hint: {error.hint}"
        texts.append(text)
    short = summaries[0]["run_id"][:8] if len(summaries) == 1 else "RUN"
    texts.append(f"in {seconds:.2f} s; look at it: weboter history {short}   weboter state {short}")
    out(args, summaries[0] if len(summaries) == 1 else summaries, "\n".join(texts))
    if all(s["status"] in resting for s in summaries):
        return 0
    bad_input = [e for e in ended.values() if e.error and e.error.kind in BAD_INPUT_KINDS]
    return 2 if bad_input and len(bad_input) == len(summaries) else 1


def _set_breakpoint(run_id: str, bp: Breakpoint, command_id: str, reply_to: str) -> SetBreakpoint:
    return SetBreakpoint(command_id=command_id, run_id=run_id, reply_to=reply_to, breakpoint=bp)


def submit_job(client: EngineClient, workflow: Workflow, job: dict[str, Any]) -> str:
    """Create the run; set its breakpoints before it starts; start it."""
    breakpoints = job.pop("breakpoints", [])
    if not breakpoints:
        return client.submit(workflow, **job)
    run_id = client.submit(workflow, start=None, **job)
    for bp in breakpoints:
        client.command(partial(_set_breakpoint, run_id, bp))
    client.cont(run_id)
    return run_id


def summarise(db: Path, run_id: str, ended: RunEnded, nodes: int) -> dict[str, Any]:
    log = EventLog(db, create=False)
    try:
        snapshot = context_snapshot(log, run_id, history=False)
    finally:
        log.close()
    return {
        "run_id": run_id,
        "status": ended.status,
        "nodes": nodes,
        "variables": snapshot.variables["global"],
        "error": msgspec.to_builtins(ended.error) if ended.error else None,
    }


def check_env_references(workflow: Workflow, env: EnvSource, source: str) -> None:
    """Every literal `$env{...}` the workflow uses must be set before the run starts."""
    findings = []
    for path, flow in index_for(workflow).flows.items():
        for i, node in enumerate(flow.nodes):
            for scope, ref in references_in([node.inputs, node.params]):
                if scope == "env" and env.get(ref) is MISSING:
                    where = "/".join(path) + f" nodes[{i}] ({node.id})"
                    findings.append(Finding("error", where, f"$env{{{ref}}} is not set"))
    if findings:
        raise WorkflowInvalid(source, findings)


def cmd_run(args: argparse.Namespace) -> int:
    env = env_source(args.env_file)
    variables = parse_vars(args.var)
    breakpoints = [Breakpoint(id=f"before:{n}", when="before", node_id=n) for n in args.brk]
    breakpoints += [Breakpoint(id=f"after:{n}", when="after", node_id=n) for n in args.brk_after]
    breakpoints += [Breakpoint(id=f"if:{e}", when="condition", condition=e) for e in args.brk_if]
    if args.brk_error:
        breakpoints.append(Breakpoint(id="error", when="error"))
    jobs = []
    for file in args.files:
        workflow, _ = load_checked(file)
        check_env_references(workflow, env, str(file))
        jobs.append(
            (
                workflow,
                {"variables": variables, "source": str(file), "breakpoints": list(breakpoints)},
            )
        )
    settings = Settings(
        db_path=db_path(args),
        durability=args.durability,
        evidence=args.evidence,
        browser=args.browser,
    )
    resting = ("COMPLETED", "PAUSED", "ERROR") if breakpoints else ("COMPLETED",)
    return drive(args, settings, env, jobs, parallel=args.parallel, resting=resting)


def cmd_resume(args: argparse.Namespace) -> int:
    log = open_log(args)
    try:
        run_id = log.resolve_run_id(args.run)
        status = log.run_status(run_id)
        workflow = state_at(log, run_id).workflow
        driver = log.driver(run_id)
    finally:
        log.close()
    if driver is not None:
        raise IllegalTransition(
            f"run {run_id} is being driven by process {driver[0]} on {driver[1]}",
            hint="stop that process first (or wait for it); resume is for runs whose process died",
        )
    if status in ("COMPLETED", "FAILED", "STOPPED"):
        raise IllegalTransition(
            f"run {run_id} is {status}; there is nothing to resume",
            hint="only a run whose process died (or a paused one) can resume",
        )
    settings = Settings(db_path=db_path(args), evidence=args.evidence, browser=args.browser)
    return drive(
        args,
        settings,
        env_source(args.env_file),
        [(workflow, {})],
        start=lambda client, wf, job: client.resume(run_id),
    )


def drive_resting(args: argparse.Namespace, mode: str) -> int:
    """`step`, `continue` and `fork`: drive an existing run (or a fork of one) from here."""
    run_id, state = resolve(args, args.run)
    settings = Settings(db_path=db_path(args), evidence=args.evidence, browser=args.browser)
    env = env_source(args.env_file)
    if mode == "fork":
        request = fork_request(args, run_id)
        return drive(
            args,
            settings,
            env,
            [(state.workflow, {})],
            start=lambda client, wf, job: client.fork(**request),
        )
    if state.status.terminal or state.status not in ("LOADED", "PAUSED", "ERROR"):
        raise IllegalTransition(
            f"run {run_id} is {state.status}; only a LOADED, PAUSED or ERROR run can {mode}",
            hint="fork it to run it again: weboter fork RUN --at SEQ",
        )
    if mode == "step":
        return drive(
            args,
            settings,
            env,
            [(state.workflow, {})],
            resting=("PAUSED", "COMPLETED"),
            start=lambda client, wf, job: client.start_step(run_id),
        )

    def go_on(client: EngineClient, workflow: Workflow, job: dict[str, Any]) -> str:
        client.cont(run_id)
        return run_id

    return drive(
        args,
        settings,
        env,
        [(state.workflow, {})],
        start=go_on,
        resting=("COMPLETED", "PAUSED", "ERROR") if state.breakpoints else ("COMPLETED",),
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from weboter.runtime.demo.run import run_demo  # noqa: PLC0415 - the demo is optional

    out_file = Path(args.out)
    summary = run_demo(
        db_path(args),
        out_file,
        quiet=args.json,
        settings={"evidence": args.evidence, "browser": args.browser},
    )
    text = (
        f"demo run {summary['run_id']} {summary['status']} in {summary['seconds']} s: "
        f"{summary['rows']} products written to {summary['file']}"
    )
    if summary["error"]:
        text += f"\n  error: {summary['error']}"
    short = summary["run_id"][:8]
    text += (
        f"\n  look at the run:  weboter history {short} --db {db_path(args)}"
        f"\n                   weboter state {short} --db {db_path(args)}"
    )
    out(args, summary, text)
    return 0 if summary["status"] == "COMPLETED" else 1


def cmd_browser(args: argparse.Namespace) -> int:
    from weboter.runtime.browser_setup import install  # noqa: PLC0415

    def say(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    result = install(allow_system=not args.no_system, say=say, if_missing=args.if_missing)
    text = (
        f"browser ready: {result['browser']}"
        if result["ok"]
        else f"no browser: {result['error']}\n  hint: {result['hint']}"
    )
    out(args, result, text)
    return 0 if result["ok"] else 2


def cmd_doctor(args: argparse.Namespace) -> int:
    from weboter.runtime.browser_setup import doctor  # noqa: PLC0415

    result = doctor(db_path(args))
    lines = []
    for check in result["checks"]:
        mark = "ok " if check["ok"] else "BAD"
        lines.append(f"  [{mark}] {check['check']:<10} {check['detail']}")
        if not check["ok"] and check.get("hint"):
            lines.append(f"             -> {check['hint']}")
    out(args, result, "\n".join(lines))
    return 0 if result["ok"] else 1


def cmd_runs(args: argparse.Namespace) -> int:
    log = open_log(args)
    try:
        runs = log.runs(args.limit)
    finally:
        log.close()
    lines = [f"{'RUN':<18}{'STATUS':<11}{'EVENTS':>7}  {'CREATED':<20}WORKFLOW"]
    for r in runs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at))
        lines.append(
            f"{r.run_id:<18}{r.status:<11}{r.events:>7}  {created:<20}{r.name or r.workflow_id}"
        )
    out(args, [r.__dict__ for r in runs], "\n".join(lines if runs else ["no runs yet"]))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    log = open_log(args)
    try:
        run_id = log.resolve_run_id(args.run)
        records = list(log.read(run_id))
    finally:
        log.close()
    docs, lines = [], [f"{'SEQ':>6} {'VER':>5}  {'TYPE':<18}DETAIL"]
    for r in records:
        event = display(msgspec.to_builtins(r.event))
        event.pop("workflow", None)
        docs.append(
            {
                "seq": r.seq,
                "run_version": r.run_version,
                "type": r.type,
                "schema_version": r.schema_version,
                "command_id": r.command_id,
                "recorded_at": r.recorded_at,
                "event": event,
            }
        )
        lines.append(f"{r.seq:>6} {r.run_version:>5}  {r.type:<18}{_detail(event)}")
    out(args, {"run_id": run_id, "events": docs}, "\n".join(lines))
    return 0


def _detail(event: dict[str, Any]) -> str:
    keys = ("node_id", "next_node", "outputs", "flow_vars", "global_vars", "mode", "end", "error")
    parts = []
    for key in keys:
        if key in event and event[key] not in ({}, None, ""):
            value = event[key]
            if key == "error":
                value = value.get("message")
            parts.append(f"{key}={json.dumps(value, ensure_ascii=False, default=str)}")
    text = " ".join(parts)
    return text if len(text) <= 140 else text[:137] + "..."


def cmd_state(args: argparse.Namespace) -> int:
    log = open_log(args)
    try:
        run_id = log.resolve_run_id(args.run)
        snapshot = context_snapshot(log, run_id, args.at)
    finally:
        log.close()
    doc = msgspec.to_builtins(snapshot)
    lines = [
        f"run {run_id}  status {snapshot.status}  at seq {snapshot.seq}  "
        f"current node {snapshot.current_node}",
        "variables:",
        json.dumps(snapshot.variables, ensure_ascii=False, indent=2, default=str),
        f"history: {len(snapshot.history)} node(s)",
    ]
    lines += [f"  {h.seq:>6} {h.node_id} -> {h.next_node or '(failed)'}" for h in snapshot.history]
    out(args, doc, "\n".join(lines))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    schema = msgspec.json.schema(Workflow)
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    import zmq  # noqa: PLC0415

    public, secret = zmq.curve_keypair()
    doc = {"public": public.decode(), "secret": secret.decode()}
    out(
        args,
        doc,
        f"public: {doc['public']}\nsecret: {doc['secret']}\n"
        "give the public key to the other side; keep the secret one to yourself",
    )
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    catalog = default_catalog()
    actions: list[dict[str, Any]] = [
        {
            "name": a.name,
            "required": list(a.required),
            "defaults": dict(a.defaults),
            "outputs": list(a.outputs),
        }
        for a in catalog.actions.values()
    ]
    controls = [
        {"name": c.name, "required": list(c.required), "next_nodes": list(c.node_params)}
        for c in catalog.controls.values()
    ]
    lines = ["actions:"] + [
        f"  {a['name']:<24} in: {', '.join(a['required'] + list(a['defaults']))}"
        f"  out: {', '.join(a['outputs']) or '-'}"
        for a in actions
    ]
    lines += ["controls:"] + [
        f"  {c['name']:<24} params: {', '.join(c['required'])}" for c in controls
    ]
    out(args, {"actions": actions, "controls": controls}, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
