"""The commands that drive runs: run, resume, step, continue, fork, and the demo; plus
browser install and doctor."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from weboter.runtime.cli.common import (
    check_env_references,
    db_path,
    engine_settings,
    env_source,
    load_checked,
    open_log,
    out,
    parse_vars,
    run_limits,
)
from weboter.runtime.cli.debug_commands import fork_request, resolve
from weboter.runtime.cli.interrupt import pause_now, sigterm_interrupts
from weboter.runtime.cli.progress import Progress
from weboter.runtime.cli.remote_run import engine_for, remote_job, summary_source, where
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import IllegalTransition, UsageError
from weboter.runtime.store.projection import variables_of
from weboter.runtime.store.reading import Reader
from weboter.schemas.events import (
    RepairApplied,
)
from weboter.schemas.messages import REJECTED, Mode, RunEnded
from weboter.schemas.state import Breakpoint
from weboter.schemas.workflow import Workflow


def waiting_hint(short: str, message: str) -> str:
    """What to do about a run waiting in ERROR, naming the variable when one is missing."""
    missing = re.search(r"\$(global|flow)\{([\w.-]+)\}", message)
    fix = f"weboter set {short} NAME=VALUE [--global] or weboter patch {short} FILE"
    if missing:
        scoped = " --global" if missing.group(1) == "global" else ""
        fix = f"weboter set {short} {missing.group(2).split('.')[0]}=VALUE{scoped}"
    return (
        f"\n  it waits in ERROR: fix it ({fix}), then weboter retry {short} "
        f"(or weboter skip {short})"
    )


_MODES: dict[str, Mode] = {"step": "step", "continue": "continuous"}
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
    engine = engine_for(args, settings, env)
    follow = not getattr(args, "quiet", False)  # --quiet shows nothing from the stream
    try:
        with engine.client(follow=follow) as client:
            waiting = list(jobs)
            active: set[str] = set()

            def launch(workflow: Workflow, submit: dict[str, Any]) -> None:
                run_id = (start or submit_job)(client, workflow, submit)
                tag = f"{run_id[:8]} " if len(jobs) > 1 else ""
                quiet = getattr(args, "quiet", False)
                progress[run_id] = Progress(workflow, enabled=show, tag=tag, quiet=quiet)
                active.add(run_id)
                if show:
                    print(
                        f"run {run_id}: {workflow.name or workflow.id} ({where(engine)})",
                        file=sys.stderr,
                        flush=True,
                    )

            def on_event(header: dict[str, Any], payload: bytes) -> None:
                progress[header.get("item_of") or header["run_id"]](header, payload)

            try:
                with sigterm_interrupts():
                    while waiting or active:
                        while waiting and len(active) < max(parallel, 1):
                            workflow, submit = waiting.pop(0)
                            launch(workflow, submit)
                        done = client.wait_any(active, on_event=on_event)
                        progress[done.run_id].finish(done.run_id)
                        active.discard(done.run_id)
                        ended[done.run_id] = done
            except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: record, then go
                return pause_now(client, active, stop)
    finally:
        engine.stop()
    refused = [e for e in ended.values() if e.status == REJECTED and e.error is not None]
    if refused and len(refused) == len(ended):  # nothing ran: say why, in one line
        error = refused[0].error
        assert error is not None
        raise IllegalTransition(error.message, hint=error.hint)
    source = summary_source(engine)
    summaries = [summarise(settings.db_path, run_id, end, source) for run_id, end in ended.items()]
    return report(args, summaries, ended, time.monotonic() - started, resting)


def report(
    args: argparse.Namespace,
    summaries: list[dict[str, Any]],
    ended: dict[str, RunEnded],
    seconds: float,
    resting: tuple[str, ...],
) -> int:
    """Print what the runs came to; the exit code (0: all rest as asked, 2: bad input)."""
    texts = []
    for summary in summaries:
        text = f"run {summary['run_id']} {summary['status']} after {summary['nodes']} node(s)"
        error = ended[summary["run_id"]].error
        if error:
            text += f"\n  error at node {error.node_id}: {error.message}"
            if error.hint:
                text += f"\n  hint: {error.hint}"
        healed = sorted({r["node_id"] for r in summary["repairs"] if r["source"] == "healer"})
        if healed:
            text += (
                f"\n  healed {', '.join(healed)}: keep the new locators with "
                f"weboter heal {summary['run_id'][:8]} --write FILE"
            )
        if summary["status"] == "ERROR":
            text += waiting_hint(summary["run_id"][:8], error.message if error else "")
        texts.append(text)
    short = summaries[0]["run_id"][:8] if len(summaries) == 1 else "RUN"
    texts.append(f"in {seconds:.2f} s; look at it: weboter history {short}   weboter state {short}")
    out(args, summaries[0] if len(summaries) == 1 else summaries, "\n".join(texts))
    if all(s["status"] in resting for s in summaries):
        return 0
    bad_input = [e for e in ended.values() if e.error and e.error.kind in BAD_INPUT_KINDS]
    return 2 if bad_input and len(bad_input) == len(summaries) else 1


def submit_job(client: EngineClient, workflow: Workflow, job: dict[str, Any]) -> str:
    """Create the run; set its breakpoints before it starts; start it."""
    breakpoints = job.pop("breakpoints", [])
    if not breakpoints:
        return client.submit(workflow, **job)
    run_id = client.submit(workflow, start=None, **job)
    handle = RunHandle(run_id, through_engine(client))
    for bp in breakpoints:
        handle.set_breakpoint(bp)
    handle.cont()
    return run_id


def summarise(db: Path, run_id: str, ended: RunEnded, source: Any = None) -> dict[str, Any]:
    """What a run came to, from the log (the live stream is for progress only); `source`:
    `run_id -> (state, events)` of an engine in another process, instead of the local log."""
    if source is not None:
        state, records = source(run_id)
    else:
        with Reader(db) as log:
            state = log.state(run_id)
            records = log.decoded(log.of_types(run_id, ("RepairApplied",)))
    repairs = [msgspec.to_builtins(r.event) for r in records if isinstance(r.event, RepairApplied)]
    return {
        "run_id": run_id,
        "status": ended.status,
        "nodes": state.nodes_completed,
        "repairs": repairs,
        "variables": variables_of(state)["global"],
        "error": msgspec.to_builtins(ended.error) if ended.error else None,
    }


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
        workflow, findings = load_checked(file, given=set(variables))
        if not args.quiet and not args.json:  # what may go wrong, before it runs
            for finding in findings:
                print(f"{file}: {finding}", file=sys.stderr)
        if not args.engine:  # an engine elsewhere has its own $env (and its workers')
            check_env_references(workflow, env, str(file))
        jobs.append(
            (
                workflow,
                {
                    "variables": variables,
                    "source": str(file),
                    "breakpoints": list(breakpoints),
                    "max_nodes": args.max_nodes,
                    **remote_job(args, env),
                },
            )
        )
    settings = engine_settings(args, durability=args.durability, **run_limits(args))
    resting = ("COMPLETED", "PAUSED", "ERROR") if breakpoints else ("COMPLETED",)
    return drive(args, settings, env, jobs, parallel=args.parallel, resting=resting)


def cmd_resume(args: argparse.Namespace) -> int:
    with open_log(args) as log:
        run_id = log.run_id(args.run)
        state = log.state(run_id)
        driver = log.driver(run_id)
    if driver is not None:
        raise IllegalTransition(
            f"run {run_id} is being driven by process {driver[0]} on {driver[1]}",
            hint="stop that process first (or wait for it); resume is for runs whose process died",
        )
    if state.status.terminal:
        raise IllegalTransition(
            f"run {run_id} is {state.status}; there is nothing to resume",
            hint="only a run whose process died (or a paused one) can resume",
        )
    settings = engine_settings(args, durability=args.durability)
    return drive(
        args,
        settings,
        env_source(args.env_file),
        [(state.workflow, {})],
        # another `resume` of the same run at the same time: the first to record wins
        start=lambda client, wf, job: client.resume(run_id, expect_version=state.version),
    )


def drive_resting(args: argparse.Namespace, mode: str) -> int:
    """`step`, `continue` and `fork`: drive an existing run (or a fork of one) from here."""
    run_id, state = resolve(args, args.run)
    settings = engine_settings(args)
    env = env_source(args.env_file)
    if mode == "fork":
        request = fork_request(args)
        return drive(
            args,
            settings,
            env,
            [(state.workflow, {})],
            start=lambda client, wf, job: _handle(client, run_id).fork(**request).run_id,
        )
    # refused here with the engine's own words, before an engine starts (a dry run)
    RunHandle.check_start(state, _MODES[mode], env)
    if mode == "step":

        def one_step(client: EngineClient, workflow: Workflow, job: dict[str, Any]) -> str:
            _handle(client, run_id).start_step()
            return run_id

        return drive(
            args,
            settings,
            env,
            [(state.workflow, {})],
            resting=("PAUSED", "COMPLETED"),
            start=one_step,
        )

    def go_on(client: EngineClient, workflow: Workflow, job: dict[str, Any]) -> str:
        _handle(client, run_id).cont()
        return run_id

    return drive(
        args,
        settings,
        env,
        [(state.workflow, {})],
        start=go_on,
        # a breakpoint may pause it (exit 0); an error is a failure (exit 1) even then
        resting=("COMPLETED", "PAUSED") if state.breakpoints else ("COMPLETED",),
    )


def cmd_demo(args: argparse.Namespace) -> int:
    if args.serve:
        return _demo_site(args)
    if args.port is not None:
        raise UsageError("--port goes with --serve", hint="weboter demo --serve --port 8000")
    from weboter.runtime.demo.run import run_demo  # noqa: PLC0415 - the demo is optional

    out_file = Path(args.out)
    summary = run_demo(
        db_path(args),
        out_file,
        quiet=args.json,
        settings={"evidence": args.evidence or "on_error", "browser": args.browser},
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


def _demo_site(args: argparse.Namespace) -> int:
    """`weboter demo --serve`: the demo site until Ctrl-C or SIGTERM (exit 0)."""
    from weboter.runtime.demo.site import DEFAULT_PORT, described, serve_site  # noqa: PLC0415

    def ready(site: Any) -> None:
        out(args, {"url": site.url}, described(site.url))
        sys.stdout.flush()

    serve_site(DEFAULT_PORT if args.port is None else args.port, ready)
    return 0


def cmd_browser(args: argparse.Namespace) -> int:
    from weboter.runtime.browser.setup import install  # noqa: PLC0415

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
    from weboter.runtime.browser.setup import doctor  # noqa: PLC0415

    result = doctor(db_path(args))
    lines = []
    for check in result["checks"]:
        mark = "ok " if check["ok"] else "BAD"
        lines.append(f"  [{mark}] {check['check']:<10} {check['detail']}")
        if not check["ok"] and check.get("hint"):
            lines.append(f"             -> {check['hint']}")
    out(args, result, "\n".join(lines))
    return 0 if result["ok"] else 1


def _handle(client: EngineClient, run_id: str) -> RunHandle:
    return RunHandle(run_id, through_engine(client))
