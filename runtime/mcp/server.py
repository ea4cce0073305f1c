"""`weboter mcp`: the MCP server over stdio or Streamable HTTP (docs/mcp.md).

Stateless between calls: every tool reads the log when called and takes run ids explicitly,
so a fresh server process per call works. Profiles: `read-only` lists only the tools that
read; `operator` (the default) adds those that change and drive runs.

    server, engines = build_server(db_path, profile="operator")
    server.run("stdio")        # or: server.run("streamable-http", host=..., port=...)
    engines.stop()
"""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus

from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.settings import Settings
from weboter.runtime.engine.shared import Engines
from weboter.runtime.mcp.assisting import Assisting
from weboter.runtime.mcp.debugging import Debugging
from weboter.runtime.mcp.driving import Driving
from weboter.runtime.mcp.hints import hints
from weboter.runtime.mcp.legacy import Subscribers
from weboter.runtime.mcp.looking import Looking
from weboter.runtime.mcp.reads import Reads
from weboter.runtime.mcp.resources import register_resources
from weboter.runtime.mcp.session import Sessions
from weboter.runtime.mcp.updates import following
from weboter.runtime.store.reading import Reader

PROFILES = ("operator", "read-only")

INSTRUCTIONS = """Weboter runs web-automation workflows (flows of nodes: action, inputs, control)
in a real browser and records every step in an event log, so any run can be inspected at any
point, changed, stepped, rewound and forked. Start with `catalog` and `workflow_schema` to write
a workflow, `validate_workflow` to check it, `run_workflow` (with `breakpoints` or `paused`) to
run it, `get_snapshot` to see where a run is (variables, history; at any seq), `step` /
`continue_run` to go on, `set_variable` / `patch_node` / `jump_to` / `rewind` to change it,
`fork_run` to try a change from any event, `diff_runs` to compare. Run ids may be given by a
unique prefix. Secrets read from $env are shown as `$env{name}`."""


def build_server(
    db_path: Path,
    *,
    profile: str = "operator",
    settings: Settings | None = None,
    env: EnvSource | None = None,
) -> tuple[MCPServer, Engines]:
    """The server for the log at `db_path`, and the engine holder its driving tools use
    (stop it when the server is done)."""
    Reader(db_path, create=True).close()  # made now if need be: the reading tools work at once
    bus = InMemorySubscriptionBus()  # resource updates, fed from the log's tail
    legacy = Subscribers()  # and the same to clients of the protocol before 2026-07-28
    server = MCPServer(
        "weboter",
        instructions=INSTRUCTIONS,
        subscriptions=bus,
        lifespan=following(db_path, bus, legacy),
    )
    legacy.serve(server)
    # a failing node waits in ERROR for the client to fix it (unless the workflow says else)
    # runs see `$env` only from what the caller gives (`weboter mcp --env-file/--env-allow`):
    # none of this process's environment by default
    env = env or EnvSource(os_allow=(), holder="the MCP server")
    engines = Engines(
        settings or Settings(db_path=db_path, on_error="pause"), env, name="the MCP server"
    )
    operator = profile == "operator"
    if profile == "agent":  # Playwright MCP's set, and its session recorded: nothing more
        tools = Sessions(db_path, engines).tools()
        for tool in tools:
            server.add_tool(tool, annotations=hints(tool.__name__))
        register_resources(server, db_path)
        return server, engines
    tools = Reads(db_path, env).tools()
    if operator:
        tools += Debugging(db_path, env).tools() + Driving(db_path, engines).tools()
        tools += Sessions(db_path, engines).tools()  # an agent acts on a live page
    # operator: this server's browser, put back as recorded; read-only: the recorded evidence
    tools += Looking(db_path, engines, operator=operator).tools()
    tools += Assisting(db_path, engines, operator=operator).tools()
    for tool in tools:  # each a method: its name, docstring and parameters make the tool
        server.add_tool(tool, annotations=hints(tool.__name__))
    register_resources(server, db_path)
    return server, engines
