"""`weboter mcp`: serve the log to AI clients over MCP (docs/mcp.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from weboter.runtime.cli.common import (
    add_env_options,
    add_max_nodes,
    add_on_error,
    allowed_env,
    db_path,
    engine_settings,
)
from weboter.runtime.errors import UsageError


def add_command(
    sub: Any, common: argparse.ArgumentParser, browser: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "mcp",
        parents=[common, browser],
        help="serve runs to AI clients (MCP): stdio, or --http HOST:PORT",
        description="An MCP server on the log: AI clients write, validate and run workflows, "
        "read snapshots at any seq, set breakpoints and variables, step, rewind, fork and "
        "compare runs. Add it to an MCP host as the command `weboter mcp` (stdio).",
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio "
        "(loopback only, e.g. 127.0.0.1:8765)",
    )
    p.add_argument(
        "--profile",
        choices=("operator", "read-only"),
        default="operator",
        help="read-only: only the tools that read (no run is changed or driven); "
        "operator (default): all tools",
    )
    add_max_nodes(p, "a run the server starts (unless the call gives max_nodes)")
    add_env_options(p, "runs the server starts")
    add_on_error(p, "pause")
    p.set_defaults(handler=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from weboter.runtime.mcp import build_server  # noqa: PLC0415 - the SDK is a heavy import

    budget = {} if args.max_nodes is None else {"max_nodes": args.max_nodes}
    server, engines = build_server(
        db_path(args),
        profile=args.profile,
        settings=engine_settings(args, on_error="pause", **budget),
        env=allowed_env(args, "`weboter mcp`"),
    )
    try:
        if args.http:
            host, port = _host_port(args.http)
            print(f"weboter mcp: http://{host}:{port}/mcp", file=sys.stderr, flush=True)
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")
    finally:
        engines.stop()
    return 0


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]") or not port.isdigit():
        raise UsageError(
            f"--http {text}: give a loopback HOST:PORT",
            hint="e.g. --http 127.0.0.1:8765 (the MCP server has no authentication of its own)",
        )
    return host.strip("[]"), int(port)
