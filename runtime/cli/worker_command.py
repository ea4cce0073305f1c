"""`weboter worker`: run nodes, with a Chromium of its own, for an engine started with
`weboter serve --workers` (runtime/engine/worker.py)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from weboter.runtime.cli.common import (
    add_allow_host,
    add_env_options,
    allowed_env,
    db_path,
    out,
)
from weboter.runtime.errors import UsageError


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "worker",
        parents=[common],
        help="run nodes for an engine (`serve --workers`), here or on another machine",
        description="Connects to an engine started with `weboter serve --workers` and runs "
        "the nodes of the runs it leases to this worker, each run in a browser context of "
        "its own Chromium. Heartbeats both ways: a worker that dies loses nothing (its runs "
        "go on on another worker, their browser put back from the log); an engine that "
        "restarts is found again (1 to 32 s between tries). Files the workflows write land "
        "in this machine's --workspace. See docs/scaling.md.",
        epilog="examples:\n"
        "  weboter worker --connect tcp://127.0.0.1:5600                 # keys beside the log\n"
        "  weboter worker --connect tcp://10.0.0.5:5600 --curve-key worker.json \\\n"
        "      --server-key ENGINE_PUBLIC_KEY --capacity 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--connect",
        required=True,
        metavar="ENDPOINT",
        help="the engine's --bind (tcp://HOST:PORT: workers connect to PORT+3; or ipc:///path)",
    )
    p.add_argument(
        "--curve-key",
        type=Path,
        metavar="FILE",
        help="this worker's key pair (weboter keys --out FILE); its public key must be "
        "given to the engine (serve --worker KEY); default: keys/worker.json beside the log",
    )
    p.add_argument(
        "--server-key",
        metavar="KEY_OR_FILE",
        help="the engine's public key (Z85, as serve prints it), a key file, or the engine's "
        "keys/serving.pub; default: the one beside the log",
    )
    p.add_argument("--capacity", type=int, default=4, help="nodes run at once (default: 4)")
    p.add_argument("--name", help="how the engine's log names this worker (default: host:pid)")
    for flag, kind, text in (
        ("--browser", str, "the Chromium to use (default: $WEBOTER_BROWSER, then searched)"),
        ("--workspace", Path, "where workflows write files (default: workspace beside the log)"),
    ):
        p.add_argument(flag, type=kind, default=None, help=text)
    p.add_argument(
        "--evidence",
        choices=("none", "on_error", "every_node"),
        default="on_error",
        help="screenshot/DOM of browser nodes, sent to the engine (default: on_error)",
    )
    add_env_options(p, "the runs here")
    add_allow_host(p)
    p.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from weboter.runtime.engine.serve import endpoints  # noqa: PLC0415
    from weboter.runtime.engine.settings import worker_heartbeat  # noqa: PLC0415
    from weboter.runtime.engine.worker import Worker, WorkerSettings  # noqa: PLC0415

    home = db_path(args).parent
    if args.capacity < 1:
        raise UsageError("--capacity must be 1 or more", hint="it is how many nodes run at once")
    settings = WorkerSettings(
        connect=endpoints(args.connect)["workers"],
        home=home,
        keys=_keys(args, home),
        capacity=args.capacity,
        env=allowed_env(args, "this `weboter worker`"),
        allow_hosts=args.allow_hosts,
        workspace=args.workspace,
        browser=args.browser,
        evidence=args.evidence,
        heartbeat=worker_heartbeat(),
    )
    if args.name:
        settings.name = args.name
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def ready(info: dict[str, Any]) -> None:
        text = f"worker {info['worker']} for the engine at {info['connect']} "
        text += f"({info['capacity']} nodes at once); stop with Ctrl-C"
        out(args, info, text)
        sys.stdout.flush()

    Worker(settings).run(stop, ready)
    return 0


def _keys(args: argparse.Namespace, home: Path) -> tuple[bytes, bytes, bytes]:
    """(engine public, own public, own secret) from the flags, else from `home/keys/`."""
    from weboter.runtime.cli.keys import key_pair, server_key  # noqa: PLC0415
    from weboter.runtime.transport.security import worker_keys  # noqa: PLC0415

    own = key_pair(args.curve_key) if args.curve_key is not None else worker_keys(home)
    return server_key(args.server_key, home), own[0], own[1]
