"""`weboter ui`: the dev UI in the browser (docs/ui.md)."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import webbrowser
from typing import Any

from weboter.runtime.cli.common import (
    add_env_options,
    add_on_error,
    allowed_env,
    db_path,
    engine_options,
    engine_settings,
    listen,
    out,
)
from weboter.runtime.errors import UsageError
from weboter.runtime.store.location import log_label


def add_command(
    sub: Any, common: argparse.ArgumentParser, browser: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "ui",
        # its own copy of the engine options: the default set below is an option's, which a
        # shared parent would change for every other command (run, demo, continue, ...) too
        parents=[common, engine_options()],
        help="step, inspect and time-travel runs in your browser",
        description="A local web page on the log: every run live; a run's workflow as a graph "
        "(click a node for a breakpoint); continue, pause, step, stop, retry, skip; a timeline "
        "of every event with the state, variables and page at each; fork from any point with "
        "edited variables; rewind; patch a node; approve or reject repair suggestions; compare "
        "two runs. Runs started here run in this process (and pause when it stops); their "
        "browser steps keep a screenshot each (--evidence every_node is the default here).",
        epilog="examples:\n  weboter ui                    # http://127.0.0.1:PORT/ opens\n"
        "  weboter ui --port 8700 --no-open\n"
        "  weboter ui --host 0.0.0.0 --token $(openssl rand -hex 16)   # beyond this machine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one, printed)")
    p.add_argument(
        "--token",
        help="the secret a browser must present (default: a new random one per start); "
        "required with a --host beyond loopback",
    )
    p.add_argument("--no-open", action="store_true", help="do not open a browser window")
    add_env_options(p, "runs started here")
    add_on_error(p, "pause")
    # a screenshot of every browser step for the timeline, unless --evidence says otherwise
    p.set_defaults(handler=cmd_ui, evidence="every_node")
    for action in p._actions:  # the shared option's help names the other commands' default
        if action.dest == "evidence":
            action.help = "screenshot/DOM/storage of browser nodes (default here: every_node)"


def cmd_ui(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - heavy imports only for this command

    from weboter.runtime.ui.app import build_app  # noqa: PLC0415
    from weboter.runtime.ui.guard import allowed_hosts, is_loopback  # noqa: PLC0415

    loopback = is_loopback(args.host)
    if not loopback and not args.token:
        raise UsageError(
            f"refusing to serve the UI on {args.host} without a token",
            hint="add --token SECRET (at least 16 characters), or keep the default 127.0.0.1",
        )
    if args.token is not None and len(args.token) < 16:
        raise UsageError("--token must be at least 16 characters", hint="e.g. openssl rand -hex 16")
    token = args.token or secrets.token_urlsafe(24)
    sock = listen(args.host, args.port)
    port = int(sock.getsockname()[1])
    shown = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{shown}:{port}"
    settings = engine_settings(args, on_error="pause")
    app, engines = build_app(
        db_path(args),
        settings,
        token=token,
        hosts=allowed_hosts(args.host, port),
        loopback=loopback,
        port=port,
        env=allowed_env(args, "`weboter ui`"),
    )
    # once: it redirects to the page's own path, with the token in a cookie for that path
    url = f"{base}/?token={token}"
    info = {"url": url, "token": token, "log": log_label(db_path(args))}
    out(args, info, f"weboter ui: {url}\n(log {log_label(db_path(args))}; stop with Ctrl-C)")
    sys.stdout.flush()
    if not args.no_open:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=3)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the
    # handler it found: with these, that ends here and the engine is stopped below (the runs
    # it drives paused, its Chromium closed) rather than the process killed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        engines.stop()
    return 0
