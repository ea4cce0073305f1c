"""`weboter mcp`: serve the log to AI clients over MCP (docs/mcp.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from weboter.runtime.cli.common import (
    add_env_options,
    add_max_nodes,
    add_on_error,
    allowed_env,
    db_path,
    engine_settings,
    listen,
    out,
)
from weboter.runtime.errors import UsageError
from weboter.runtime.store.location import log_label


def add_command(  # table: the parser
    sub: Any, common: argparse.ArgumentParser, browser: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "mcp",
        parents=[common, browser],
        help="serve runs to AI clients (MCP): stdio, or --http HOST:PORT",
        description="An MCP server on the log: AI clients write, validate and run workflows, "
        "read snapshots at any seq, set breakpoints and variables, step, rewind, fork and "
        "compare runs. Add it to an MCP host as the command `weboter mcp` (stdio). Over "
        "--http every request needs `Authorization: Bearer TOKEN`: the token is kept in "
        "keys/mcp.token beside the log (mode 0600, made on first use). Without --db or "
        "WEBOTER_HOME the log is kept in the user's data folder ($XDG_DATA_HOME/weboter, else "
        "~/.local/share/weboter), not in whatever folder the MCP host started it in.",
        epilog="examples:\n  weboter mcp --db runs/weboter.db            # stdio, for an MCP host\n"
        "  weboter mcp --http 127.0.0.1:8765 --json   # prints the URL and where the token is",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio "
        "(loopback only, e.g. 127.0.0.1:8765; port 0 picks a free one, printed)",
    )
    given = p.add_mutually_exclusive_group()
    given.add_argument(
        "--token",
        metavar="TOKEN",
        help="with --http: the bearer token clients must send (default: the one in "
        "keys/mcp.token beside the log). Other users see a process's arguments: prefer "
        "--token-file",
    )
    given.add_argument(
        "--token-file",
        metavar="FILE",
        type=Path,
        help="with --http: read the bearer token from FILE (which others must not be able "
        "to read: mode 0600)",
    )
    p.add_argument(
        "--profile",
        choices=("operator", "read-only", "agent"),
        default="operator",
        help="read-only: only the tools that read, and nothing that loads a page again or "
        "hands out a browser's cookies; agent: only the session tools an agent acts on a "
        "live page with (browser_*, session_*: docs/agents.md), small in a model's context; "
        "operator (default): all tools",
    )
    add_max_nodes(p, "a run the server starts (unless the call gives max_nodes)")
    add_env_options(p, "runs the server starts")
    add_on_error(p, "pause")
    p.set_defaults(handler=cmd_mcp)


def host_db(environ: Mapping[str, str]) -> Path:
    """Where `weboter mcp` keeps its log when neither --db nor WEBOTER_HOME says: the user's
    data folder ($XDG_DATA_HOME/weboter, else ~/.local/share/weboter), never the folder an
    MCP host happened to start it in (often / or the host's own install)."""
    data = environ.get("XDG_DATA_HOME") or str(
        Path(environ.get("HOME") or Path.home()) / ".local/share"
    )
    return Path(data) / "weboter" / "weboter.db"


def cmd_mcp(args: argparse.Namespace) -> int:
    from weboter.runtime.mcp import build_server  # noqa: PLC0415 - the SDK is a heavy import

    if not args.db and not os.environ.get("WEBOTER_HOME"):
        args.db = str(host_db(os.environ))
        Path(args.db).parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    if args.http is None and (args.token is not None or args.token_file is not None):
        raise UsageError(
            "--token and --token-file are for --http",
            hint="over stdio no token is needed: the MCP host started this process",
        )
    budget = {} if args.max_nodes is None else {"max_nodes": args.max_nodes}
    server, engines = build_server(
        db_path(args),
        profile=args.profile,
        settings=engine_settings(args, on_error="pause", **budget),
        env=allowed_env(args, "`weboter mcp`"),
    )
    try:
        if args.http:
            _serve_http(args, server)
        else:
            server.run("stdio")
    finally:
        engines.stop()
    return 0


def _serve_http(args: argparse.Namespace, server: Any) -> None:
    from weboter.runtime.mcp.bearer import serve_http  # noqa: PLC0415

    host, port = _host_port(args.http)
    token, token_file = _token(args)
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/mcp"
    told = f"the token in {token_file}" if token_file else "the token given to `weboter mcp`"
    info = {
        "url": url,
        "header": "Authorization: Bearer TOKEN",
        "token_file": str(token_file) if token_file else None,  # never the token itself
        "profile": args.profile,
        "log": log_label(db_path(args)),
    }
    text = f"weboter mcp: {url}\n  clients send `Authorization: Bearer TOKEN`, {told}"
    out(args, info, text + f"\n  (log {log_label(db_path(args))}; stop with Ctrl-C)")
    sys.stdout.flush()
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler
    # it found: with these, that ends here and the engine is stopped by the caller (its runs
    # paused, its Chromium closed) rather than the process killed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    serve_http(server, sock, host, token=token, told=told)


def _token(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The bearer token, and the file it came from (None: given on the command line)."""
    from weboter.runtime.mcp.tokens import checked, kept_token, read_token, token_path  # noqa: PLC0415

    if args.token is not None:
        return checked(args.token, "--token"), None
    if args.token_file is not None:
        return read_token(args.token_file), args.token_file.resolve()
    return kept_token(db_path(args)), token_path(db_path(args)).resolve()


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]") or not port.isdigit():
        raise UsageError(
            f"--http {text}: give a loopback HOST:PORT",
            hint="e.g. --http 127.0.0.1:8765 (a client on another machine: an SSH tunnel "
            "to this port)",
        )
    return host.strip("[]"), int(port)
