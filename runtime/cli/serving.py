"""`weboter serve` and `weboter keys`: an engine for other processes, and CURVE key pairs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from weboter.runtime.cli.common import (
    add_allow_host,
    add_env_options,
    add_run_limits,
    db_path,
    out,
    run_limits,
)
from weboter.runtime.errors import UsageError
from weboter.runtime.store.location import log_label, shared


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:  # table: the parser
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="keep an engine up for clients in other processes (ZeroMQ)",
        description="An engine that stays up: clients (weboter run --engine, the MCP server, "
        "your own programs: docs/protocol.md) submit and drive runs; anyone allowed follows "
        "the event stream. Every client authenticates with a CURVE key, on loopback too. "
        "With --workers, nodes run in `weboter worker` processes (each with its own Chromium, "
        "on this machine or others) instead of this one: docs/scaling.md.",
        epilog="examples:\n  weboter serve\n"
        "  weboter serve --workers          # then, here or elsewhere: weboter worker ...\n"
        "  weboter serve --max-runs 8 --max-queue 100   # 8 runs at once, 100 more wait\n"
        "  weboter serve --bind tcp://10.0.0.5:5600 --curve-key engine.json \\\n"
        "      --allow CLIENT_KEY --workers --worker WORKER_KEY",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--bind",
        default="tcp://127.0.0.1:5600",
        metavar="ENDPOINT",
        help="tcp://HOST:PORT (commands; catch-up, events and workers on the next three "
        "ports) or ipc:///path (default: tcp://127.0.0.1:5600)",
    )
    p.add_argument(
        "--curve-key",
        type=Path,
        metavar="FILE",
        help="the server's key pair (weboter keys --out FILE); default: one kept in "
        "keys/ beside the log, with a local client's (every client authenticates)",
    )
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a client public key let in (besides keys/client.json's); it acts only on the "
        "runs it started; repeatable",
    )
    p.add_argument(
        "--operator",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a client public key let in that may act on every run (keys/client.json's "
        "always may); repeatable",
    )
    p.add_argument(
        "--reader",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a client public key that may only follow the stream and catch up (every run)",
    )
    p.add_argument(
        "--workers",
        action="store_true",
        help="run nodes in `weboter worker` processes that connect to PORT+3 (keys/worker.json "
        "beside the log is let in as a worker), not in this process",
    )
    p.add_argument(
        "--worker",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a worker public key let in (implies --workers); it may only run the nodes the "
        "engine leases to it; repeatable",
    )
    p.add_argument(
        "--evidence",
        choices=("none", "on_error", "every_node"),
        default="on_error",
        help="what browser steps of the runs it makes keep (screenshot, DOM; every_node: also "
        "before-screenshots, network, console) — its workers keep what each run asks for "
        "(default: on_error)",
    )
    add_run_limits(p, "the engine")
    add_env_options(p, "clients' workflows")
    add_allow_host(p)
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from weboter.runtime.cli.common import allowed_env  # noqa: PLC0415
    from weboter.runtime.engine.serve import check_binding, read_curve, serve  # noqa: PLC0415

    check_binding(args.bind, args.curve_key)
    workers = bool(args.workers or args.worker)
    curve = read_curve(
        args.curve_key,
        args.allow,
        db_path(args).parent,
        args.operator,
        args.reader,
        args.worker if workers else None,
    )

    def ready(info: dict[str, Any]) -> None:
        text = "\n".join(f"{k:<18} {v}" for k, v in info.items())
        out(args, info, f"serving (log {log_label(db_path(args))}); stop with Ctrl-C\n{text}")
        sys.stdout.flush()

    # clients' workflows see the env file, and of this process's environment only what
    # --env-allow names (by prefix)
    env = allowed_env(args, "`weboter serve`")
    # workers joining and leaving, runs taken over from another engine of a shared log: what
    # an operator watches, shown
    watched = ["weboter.actors.broker"] if workers else []
    if shared(db_path(args)):
        watched.append("weboter.runtime.engine.serve")
    for name in watched:
        shown = logging.StreamHandler()
        shown.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(shown)
        logger.propagate = False
    if workers and (args.env_file or args.env_allow):
        print(
            "warning: with --workers, nodes run in the workers: they read $env from the values "
            "each run's client sends and from their own --env-file/--env-allow, not from this "
            "engine's",
            file=sys.stderr,
        )
    serve(
        db_path(args),
        args.bind,
        env=env,
        curve=curve,
        ready=ready,
        workers=workers,
        allow_hosts=args.allow_hosts,
        evidence=args.evidence,
        limits=run_limits(args),
    )
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    import zmq  # noqa: PLC0415

    public, secret = zmq.curve_keypair()
    doc = {"public": public.decode(), "secret": secret.decode()}
    if args.out is not None:  # the secret never on the screen, the file for its owner only
        try:
            descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(
                f"--out {args.out}: the file exists",
                hint="choose a new name: keys are not replaced",
            ) from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(doc, handle)
        shown = {"public": doc["public"], "file": str(args.out)}
        out(args, shown, f"public: '{doc['public']}'\n(the pair is in {args.out}, mode 0600)")
        return 0
    out(
        args,
        doc,
        f"public: '{doc['public']}'\nsecret: '{doc['secret']}'\n"
        "give the public key to the other side (in quotes); keep the secret one to yourself",
    )
    return 0


KEY_OPTIONS = (
    "--allow",
    "--operator",
    "--reader",
    "--worker",
)  # their values are Z85 keys, which may start with "-"


def keys_attached(argv: list[str]) -> list[str]:
    """`--allow KEY` as `--allow=KEY`: argparse would read a key starting with "-" as an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in KEY_OPTIONS:
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out
