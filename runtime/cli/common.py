"""What the command line's commands share: output (--json or text), errors, the log's path,
reading workflows, --var and --env-file."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.admission import DEFAULT_MAX_QUEUE, DEFAULT_MAX_RUNS
from weboter.runtime.core.analysis import analyse
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.hosts import pattern_fault
from weboter.runtime.core.limits import check_value
from weboter.runtime.core.loader import load_workflow, parse_text
from weboter.runtime.core.references import MISSING, EnvSource, references_in
from weboter.runtime.core.validate import validate
from weboter.runtime.engine.settings import (
    DEFAULT_MAX_NODES,
    RESTORE_MODES,
    Settings,
    default_db,
)
from weboter.runtime.errors import (
    Finding,
    UsageError,
    ValueRefused,
    WeboterError,
    WorkflowInvalid,
)
from weboter.runtime.store.reading import Reader
from weboter.schemas.workflow import ON_ERROR, Workflow


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


def open_log(args: argparse.Namespace) -> Reader:
    """The log of `--db` opened for reading: `with open_log(args) as log:`."""
    return Reader(db_path(args))


# --- commands ----------------------------------------------------------------------------


def load_checked(path: Path, given: set[str] | None = None) -> tuple[Workflow, list[Any]]:
    """The workflow at `path`, validated (WorkflowInvalid on an error), with its warnings and
    the pre-execution analysis's (`given`: the global variables the run is given)."""
    workflow = load_workflow(path)
    findings = validate(workflow, default_catalog())
    if any(f.severity == "error" for f in findings):
        raise WorkflowInvalid(str(path), findings)
    return workflow, findings + analyse(workflow, given)


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {pair!r} is not K=V", hint="e.g. --var user=ann --var n=3")
        variables[key] = parse_value(value, f"--var {key}")
    return variables


def parse_value(text: str, where: str) -> Any:
    """V of K=V: JSON when it parses (numbers, true, lists...), else the text itself; within
    the limits every value of a run keeps (64-bit whole numbers, depth, size)."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        value = text
    except ValueError as exc:  # a number too long for Python to read
        raise ValueRefused(
            f"{where}: {exc}", hint="write it as text: wrap it in quotes inside the value"
        ) from exc
    check_value(value, where)
    return value


def env_source(
    path: Path | None, os_allow: tuple[str, ...] | None = None, holder: str = ""
) -> EnvSource:
    """`$env` from `--env-file` (if given), then the environment (`os_allow`: only variables
    whose names start with one of these prefixes; `holder`: the process, as refusals name it)."""
    if path is None:
        return EnvSource(os_allow=os_allow, holder=holder)
    try:
        data = parse_text(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise WeboterError(f"--env-file {path}: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise WeboterError(f"--env-file {path}: expected a mapping of names to values")
    return EnvSource(data, os_allow=os_allow, holder=holder)


def host_pattern(text: str) -> str:
    """An `--allow-host` value, checked (argparse says what is wrong)."""
    fault = pattern_fault(text)
    if fault is not None:
        raise argparse.ArgumentTypeError(fault)
    return text.strip()


def add_allow_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-host",
        dest="allow_hosts",
        type=host_pattern,
        action="append",
        default=[],
        metavar="HOST",
        help="let runs' pages and HTTP actions reach only the hosts given (repeatable: "
        "shop.example, 127.0.0.1:8000, *.example.com; default: any host). A workflow's "
        "allow_hosts narrows it further",
    )


def add_env_options(parser: argparse.ArgumentParser, runs: str) -> None:
    """`--env-file` and `--env-allow` of a process that runs other people's workflows (`serve`,
    `worker`, `ui`, `mcp`): `$env` comes from the file, and from this process's environment
    only where `--env-allow` lets it (default: none)."""
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="FILE",
        help=f"YAML/JSON file with the $env values {runs} see",
    )
    parser.add_argument(
        "--env-allow",
        action="append",
        default=[],
        metavar="PREFIX",
        help=f"let {runs} read this process's environment variables whose names start with "
        "PREFIX (repeatable; default: none of them)",
    )


def allowed_env(args: argparse.Namespace, holder: str) -> EnvSource:
    """The `$env` of a process with `add_env_options`: the file, and only the allowed
    variables of the environment."""
    return env_source(args.env_file, os_allow=tuple(args.env_allow), holder=holder)


def check_env_references(workflow: Workflow, env: EnvSource, source: str) -> None:
    """Every literal `$env{...}` the workflow uses must be set before the run starts."""
    findings = []
    for path, flow in index_for(workflow).flows.items():
        for i, node in enumerate(flow.nodes):
            for scope, ref in references_in([node.inputs, node.params]):
                if scope == "env" and env.get(ref) is MISSING:
                    where = "/".join(path) + f" nodes[{i}] ({node.id})"
                    looked, hint = env.missing(ref)
                    text = f"$env{{{ref}}} is not set{looked} ({hint})"
                    findings.append(Finding("error", where, text))
    if findings:
        raise WorkflowInvalid(source, findings)


def add_max_nodes(parser: argparse.ArgumentParser, what: str) -> None:
    """`--max-nodes N`: the run's node budget (a loop that never ends fails there)."""
    parser.add_argument(
        "--max-nodes",
        type=_budget,
        default=None,
        metavar="N",
        help=f"{what} fails after N nodes (default {DEFAULT_MAX_NODES:,}; 0: no limit)",
    )


def add_run_limits(parser: argparse.ArgumentParser, engine: str) -> None:
    """`--max-runs N`, `--max-queue N`: the engine's run slots and its queue's bound."""
    parser.add_argument(
        "--max-runs",
        type=_budget,
        default=None,
        metavar="N",
        help=f"{engine} drives at most N runs at once (default $WEBOTER_MAX_RUNS, else "
        f"{DEFAULT_MAX_RUNS}; 0: no limit); a run submitted, resumed or continued beyond "
        "waits QUEUED, in order (`weboter runs` shows how many are ahead), and starts when "
        "one rests. Size it by memory: a run's browser context costs ~80 MiB (docs/scaling.md)",
    )
    parser.add_argument(
        "--max-queue",
        type=_budget,
        default=None,
        metavar="N",
        help=f"at most N runs wait for a slot (default $WEBOTER_MAX_QUEUE, else "
        f"{DEFAULT_MAX_QUEUE}); a submission beyond is refused at once (exit 75: try later)",
    )


def run_limits(args: argparse.Namespace) -> dict[str, int]:
    """The Settings fields --max-runs and --max-queue give (none: the environment's)."""
    given = {"max_runs": args.max_runs, "max_queue": args.max_queue}
    return {name: value for name, value in given.items() if value is not None}


def add_durability(parser: argparse.ArgumentParser) -> None:
    """`--durability sync|full|batch`: what a crash of this process may cost."""
    parser.add_argument(
        "--durability",
        choices=("sync", "full", "batch"),
        default="sync",
        help="sync (default): each node committed before the next starts, a killed process "
        "loses nothing; full: also fsync'd (a power cut loses nothing); batch: commits "
        "grouped (<= 100 commands or 20 ms), several times faster for loops of data nodes, "
        "a crash re-runs at most that window",
    )


def _budget(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the budget cannot be negative")
    return value


def seq_number(text: str) -> int:
    """An event's seq on the command line: a positive whole number the log can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seq (a whole number)") from None
    if not 0 < value < 2**63:
        raise argparse.ArgumentTypeError(
            f"{text} is not a seq of any log (seqs are 1 .. 2**63-1; `weboter history RUN` "
            "lists them)"
        )
    return value


def engine_options() -> argparse.ArgumentParser:
    """The options of every command that starts an engine (run, resume, step, continue, fork,
    debug): evidence, the browser, and where workflows may write files."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--evidence",
        choices=("none", "on_error", "every_node"),
        default=None,
        help="screenshot/DOM/storage of browser nodes; every_node also keeps each step's "
        "before-screenshot, network requests and console (default: on_error; with --engine: "
        "that engine's)",
    )
    options.add_argument(
        "--browser",
        default=None,
        metavar="PATH",
        help="the Chromium to use (default: $WEBOTER_BROWSER, then searched)",
    )
    options.add_argument(
        "--workspace",
        type=Path,
        default=None,
        metavar="DIR",
        help="where workflows write files; relative paths land here (default: `workspace` "
        "beside the log)",
    )
    options.add_argument(
        "--allow-path",
        dest="allow_paths",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="let workflows write and read files inside DIR too (repeatable; reading: "
        "file:// pages, uploads); never the log, its artifacts or the keys",
    )
    add_allow_host(options)
    options.add_argument(
        "--restore",
        choices=RESTORE_MODES,
        default=None,
        help="how a run's browser comes back when this process has none for it (fork, "
        "rewind, resume, step or continue from another shell): captured = the recorded tabs, "
        "cookies, storage, form fields and scroll; redrive = do the run's browser steps "
        "again; auto = captured unless the page held more than it can restore, then redrive "
        "(default: $WEBOTER_RESTORE, else auto). The page is then checked against the "
        "recorded one; a difference pauses the run in ERROR",
    )
    options.add_argument(
        "--node-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="the longest a browser, HTTP or sleeping node may take when it sets no `timeout` "
        "(default 600; 0: no limit)",
    )
    return options


def add_on_error(parser: argparse.ArgumentParser, default: str = "fail") -> None:
    """`--on-error POLICY`: what a failing node of a new run does when it says nothing."""
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default=None,
        help=f"what a failing node of the new run does when it has no `on_error` of its own "
        f"(default here: {default}): fail the run; pause in ERROR (then `weboter set|patch`, "
        "`weboter retry|skip RUN`); retry once; skip it; heal a locator that finds nothing "
        "from the node's earlier runs (else pause); ai: ask the model (else pause). A run "
        "keeps the policy it was created with",
    )


def engine_settings(args: argparse.Namespace, **more: Any) -> Settings:
    """Settings for an engine from the command line's engine options (`more` are the
    command's own; an `on_error` there is the command's default, --on-error wins)."""
    default = more.pop("on_error", "")
    on_error = getattr(args, "on_error", None) or default
    return Settings(
        on_error=on_error,
        db_path=db_path(args),
        evidence=args.evidence or "on_error",
        browser=args.browser,
        workspace=args.workspace,
        allow_paths=list(args.allow_paths),
        allow_hosts=list(args.allow_hosts),
        process=f"`weboter {args.command}`" if getattr(args, "command", None) else "",
        node_timeout=max(args.node_timeout, 0.0),
        **({"browser_restore": args.restore} if args.restore else {}),
        **more,
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening (port 0: a free one), or UsageError that says why not:
    bound before the server starts, so the address can be printed once it can be connected
    to."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another port (0 picks a free one)",
        ) from exc
    sock.listen(128)
    return sock
