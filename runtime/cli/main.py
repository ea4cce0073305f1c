"""`weboter`: the command line. Every command takes --json (one JSON document on stdout) and
--db PATH (default: $WEBOTER_HOME/weboter.db, else ./.weboter/weboter.db).

Exit codes: 0 done (for `run`/`resume`/`continue`: the run COMPLETED, or PAUSED where that
was asked for), 1 the run did not complete, 2 bad input (workflow, database, arguments,
unknown run, a command the run's state refuses), 130/143 interrupted (Ctrl-C/SIGTERM: the runs
are recorded PAUSED, `weboter continue RUN` goes on). The commands live in common.py (shared),
drive.py (running things), debug_commands.py (the debugger's) and compare.py (verify, diff).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from weboter.runtime.actions import default_catalog
from weboter.runtime.cli import (
    export_command,
    log_command,
    mcp_command,
    repair_commands,
    schema_command,
    serving,
    ui_command,
    worker_command,
)
from weboter.runtime.cli.common import (
    add_durability,
    add_max_nodes,
    add_on_error,
    add_run_limits,
    emit_error,
    engine_options,
    load_checked,
    out,
    seq_number,
)
from weboter.runtime.cli.debug_commands import add_commands
from weboter.runtime.cli.drive import (
    cmd_browser,
    cmd_demo,
    cmd_doctor,
    cmd_resume,
    cmd_run,
    drive_resting,
)
from weboter.runtime.cli.reading_commands import cmd_history, cmd_runs, cmd_state
from weboter.runtime.cli.remote_run import add_engine_options
from weboter.runtime.core.flows import index_for
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.location import log_location

EPILOG = """\
examples:
  weboter validate flow.yaml              check a workflow without running it
  weboter run flow.yaml --var user=ann    run it; progress on stderr, exit 0 if COMPLETED
  weboter run a.yaml b.yaml --parallel 2  two runs at once, one browser, separate cookies
  weboter demo                            scrape a demo shop in headless Chromium, write a CSV
  weboter demo --serve                    serve the demo site for examples/*.yaml on :8000
  weboter runs                            the runs in the log, newest first
  weboter history 3f2a                    every event of run 3f2a… (ids by unique prefix)
  weboter state 3f2a --at 17              variables and position right after event seq 17
  weboter resume 3f2a                     finish a run whose process died
  weboter run flow.yaml --break n5        stop before node n5; the run stays PAUSED
  weboter step 3f2a / continue 3f2a       go on later, from any process
  weboter fork 3f2a --at 41 --set page=3  a new run from event 41, with a change
  weboter retry 3f2a / skip 3f2a          take a run waiting in ERROR (--on-error pause) on
  weboter debug flow.yaml                 break, step, look, change, rewind: interactively
  weboter ui                              the same in your browser: graph, timeline, forks
  weboter schema workflow > wf.schema.json   JSON Schema for editors and AI clients
  weboter schema protocol                    every message and event, for other languages
  weboter mcp                             serve runs to AI clients over MCP (docs/mcp.md)
  weboter doctor                          what is installed; weboter browser install gets Chromium
"""


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGUSR1"):  # a `weboter` process, not a caller's
        # `kill -USR1 PID`: every thread's stack on stderr, and it goes on (docs/debugging.md)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    given = serving.keys_attached(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(json_errors="--json" in given)
    args = parser.parse_args(given)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # here, so a reader that went away is seen below, not at exit
        return code
    except WeboterError as exc:
        emit_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; `weboter resume RUN` finishes the run later", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`weboter ... | head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE


def db_argument(text: str) -> Path:
    """--db: a file path, or a PostgreSQL URL (runtime/store/location.py); another URL is
    refused here, with how to give one Weboter opens."""
    try:
        return log_location(text)
    except WeboterError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message}; {exc.hint}") from None


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose mistakes (an unknown option, a bad value) are also said as
    the JSON error document when `--json` was given (the same shape as every other error)."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            hint = f"`{self.prog} --help` lists what it takes"
            doc = {
                "error": {"kind": "UsageError", "message": message, "hint": hint, "findings": []}
            }
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        super().error(message)


def build_parser(*, json_errors: bool = False) -> argparse.ArgumentParser:  # table: the parser
    _Parser.json_errors = json_errors
    parser: argparse.ArgumentParser = _Parser(
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
        type=db_argument,
        default=None,
        metavar="FILE|URL",
        help="the event log: an SQLite file, or postgresql://USER@HOST/DATABASE for engines "
        "that share one log (default: $WEBOTER_DB, else $WEBOTER_HOME/weboter.db, else "
        "./.weboter/weboter.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", parents=[common], help="check a workflow file")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_validate)

    browser = engine_options()

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
        add_engine_options(p)
        p.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="K=V",
            help="set $global{K} (V is parsed as JSON when it can be); repeatable",
        )
        p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
        add_durability(p)
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        add_max_nodes(p, "each run")
        add_run_limits(p, "the engine this command starts (not one at --engine)")
        add_on_error(p)
        p.set_defaults(handler=cmd_run)

    p = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("history", parents=[common], help="every event of a run")
    p.add_argument("run")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("state", parents=[common], help="a run's state (at an event: --at SEQ)")
    p.add_argument("run")
    p.add_argument(
        "--at", type=seq_number, default=None, metavar="SEQ", help="right after event SEQ"
    )
    p.set_defaults(handler=cmd_state)

    p = sub.add_parser("resume", parents=[common, browser], help="finish a run whose process died")
    p.add_argument("run")
    p.add_argument("--env-file", type=Path, help="YAML/JSON file with $env values")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_durability(p)
    p.set_defaults(handler=cmd_resume)

    add_commands(sub, common, browser, out, drive_resting)
    repair_commands.add_commands(sub, common, browser, out, drive_resting)  # + heal, AI
    mcp_command.add_command(sub, common, browser)
    ui_command.add_command(sub, common, browser)
    log_command.add_command(sub, db_argument)

    schema_command.add_command(sub, common)
    export_command.add_command(sub, common)

    p = sub.add_parser(
        "demo",
        parents=[common, browser],
        help="scrape a demo shop served on loopback, in headless Chromium; --serve: serve the "
        "demo site for the browser examples",
    )
    p.add_argument("--out", default="weboter-demo/products.csv", help="the CSV to write")
    p.add_argument(
        "--serve",
        action="store_true",
        help="only serve the demo site (the shop and the examples' pages) on 127.0.0.1 until "
        "Ctrl-C; it prints the URL and the examples to run on it",
    )
    p.add_argument("--port", type=int, help="with --serve: the port (default: 8000; 0: any free)")
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

    serving.add_command(sub, common)
    worker_command.add_command(sub, common)

    p = sub.add_parser(
        "keys",
        parents=[common],
        help="make a CURVE key pair (for an engine, a remote client or a worker)",
        description="A new key pair, Z85 text: give the public key to the other side (in "
        "quotes: Z85 holds characters the shell reads); keep the secret one to yourself. "
        "--out FILE writes both to FILE, readable by you only (the form --curve-key reads).",
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="write the pair to FILE (mode 0600)")
    p.set_defaults(handler=serving.cmd_keys)

    p = sub.add_parser("catalog", parents=[common], help="list actions and controls")
    p.set_defaults(handler=cmd_catalog)
    return parser


# --- output ------------------------------------------------------------------------------


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


def cmd_catalog(args: argparse.Namespace) -> int:
    """Every action and control with every input or param it reads: required and optional."""
    from weboter.runtime.core.catalog import describe_inputs  # noqa: PLC0415

    described = default_catalog().described()
    actions, controls = described["actions"], described["controls"]
    lines: list[str] = []
    for title, entries in (("actions", actions), ("controls", controls)):
        lines.append(f"{title}:")
        for e in entries:
            outs = f"  out: {', '.join(e['outputs']) or '-'}" if "outputs" in e else ""
            lines += [f"  {e['name']:<24} {describe_inputs(e)}{outs}", f"      {e['doc']}"]
    out(args, {"actions": actions, "controls": controls}, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
