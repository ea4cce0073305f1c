"""The MCP server through the SDK's own client: in process, over stdio (a real `weboter mcp`
subprocess) and over Streamable HTTP (a real server on loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPDeprecationWarning

from tests.conftest import flow, node
from tests.mcp.served import client_of, command, mcp_http
from weboter.runtime.mcp import build_server
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(120)

WORKFLOW = flow(
    node(
        "a",
        "SetData",
        inputs={"key": "$global{n}", "value": 1},
        params={"next_node": "b"},
    ),
    node(
        "b",
        "PyEvalAction",
        inputs={"expr": "param1 * 10", "param1": "$global{n}"},
        outputs=[{"src": "result", "name": "tenfold", "pos": "global"}],
        params={"next_node": "c"},
    ),
    node("c", "EmptyAction", params={"next_node": "__end__"}),
)
READING = {
    "catalog",
    "workflow_schema",
    "validate_workflow",
    "list_runs",
    "get_snapshot",
    "get_events",
    "diff_runs",
    "verify_run",
    "export_workflow",
    "page_snapshot",
    "generate_workflow",
}


def in_process(db: Path, use: Callable[[Client], Awaitable[Any]], profile: str = "operator") -> Any:
    server, engines = build_server(db, profile=profile)

    async def main() -> Any:
        async with Client(server) as client:
            return await use(client)

    try:
        return asyncio.run(main())
    finally:
        engines.stop()


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


def test_write_validate_run_break_look_change_step_fork_diff(db_path: Path) -> None:
    async def session(client: Client) -> None:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names >= READING and {"run_workflow", "set_variable", "fork_run"} <= names
        for tool in (await client.list_tools()).tools:  # a host can tell what each may do
            hinted = tool.annotations
            assert hinted is not None and hinted.read_only_hint is not None, tool.name
            if tool.name in READING:
                assert hinted.read_only_hint, tool.name
            if tool.name in ("stop_run", "rewind", "browser_click"):
                assert hinted.destructive_hint, tool.name
        assert all(t.output_schema for t in (await client.list_tools()).tools)
        checked = await call(client, "validate_workflow", workflow=WORKFLOW)
        assert checked["valid"] is True and checked["nodes"] == 3
        run = await call(client, "run_workflow", workflow=WORKFLOW, breakpoints=["b"])
        assert run["status"] == "PAUSED" and run["current_node"] == "b"
        run_id = run["run_id"]
        snap = await call(client, "get_snapshot", run_id=run_id[:8], variables=["n"])
        assert snap["variables"] == {"global": {"n": 1}, "flow": {}}
        assert snap["pause_reason"] == "breakpoint" and snap["history_total"] == 1
        # what the next node will do, its inputs resolved against the variables as they are
        assert snap["next_step"]["node_id"] == "b"
        assert snap["next_step"]["inputs"] == {"expr": "param1 * 10", "param1": 1}
        await call(client, "set_variable", run_id=run_id, name="n", value=7, scope="global")
        heard: list[tuple[float, float | None, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            heard.append((done, total, message))

        stepped_result = await client.call_tool(
            "step", {"run_id": run_id}, progress_callback=progress
        )
        stepped = stepped_result.structured_content or {}
        # one notification per node run while the call waited (it may be handled just after
        # the call's answer: the client reads notifications in a task of their own)
        async with asyncio.timeout(10):
            while not heard:
                await asyncio.sleep(0.01)  # not a sync: waiting for the notification, bounded
        # the node by name, and out of how many: a step runs one
        assert heard == [(1.0, 1.0, "node b completed")]
        assert stepped["status"] == "PAUSED" and stepped["current_node"] == "c"
        went_on = await call(client, "continue_run", run_id=run_id)
        assert went_on["status"] == "COMPLETED" and went_on["nodes_run"] == 1
        done = await call(client, "get_snapshot", run_id=run_id)
        assert done["variables"]["global"]["tenfold"] == 70
        events = await call(client, "get_events", run_id=run_id, after=0, limit=3)
        assert len(events["events"]) == 3 and events["next_after"] == events["events"][-1]["seq"]
        created = events["events"][0]["seq"]
        fork = await call(client, "fork_run", run_id=run_id, at_seq=created, variables={"x": 1})
        assert fork["status"] == "COMPLETED" and fork["run_id"] != run_id
        forked = await call(client, "get_snapshot", run_id=fork["run_id"])
        assert forked["variables"]["global"]["tenfold"] == 10  # n was 1 at the fork point
        compared = await call(client, "diff_runs", run_a=run_id, run_b=fork["run_id"])
        assert compared["first_divergence"] is not None
        runs = (await client.call_tool("list_runs", {})).structured_content
        assert runs is not None

    in_process(db_path, session)


def test_bad_calls_are_clear_errors_and_the_server_goes_on(db_path: Path) -> None:
    async def session(client: Client) -> None:
        for tool, arguments, said in (
            ("get_snapshot", {"run_id": "nope"}, "no run"),
            ("run_workflow", {"workflow": {"id": "x", "nodes": [{"id": 1}]}}, "workflow"),
            ("get_snapshot", {"run_id": "x", "at_seq": "soon"}, "at_seq"),
            ("set_variable", {"run_id": "nope", "name": "n", "value": 1}, "no run"),
        ):
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, result)
            text = result.content[0].text  # type: ignore[union-attr]
            assert said in text and "Traceback" not in text
        run = await call(client, "run_workflow", workflow=WORKFLOW)
        assert run["status"] == "COMPLETED"
        again = await client.call_tool("continue_run", {"run_id": run["run_id"]})
        assert again.is_error and "COMPLETED" in again.content[0].text  # type: ignore[union-attr]
        early = await client.call_tool("rewind", {"run_id": run["run_id"], "to_seq": 10**6})
        assert early.is_error and "Traceback" not in early.content[0].text  # type: ignore[union-attr]

    in_process(db_path, session)


def test_read_only_lists_and_accepts_no_tool_that_changes_runs(db_path: Path) -> None:
    async def session(client: Client) -> None:
        assert {t.name for t in (await client.list_tools()).tools} == READING
        result = await client.call_tool("set_variable", {"run_id": "x", "name": "n", "value": 1})
        assert result.is_error

    in_process(db_path, session, profile="read-only")


def test_stdio_transport(db_path: Path) -> None:
    cmd = command(db_path)
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))

    async def main() -> None:
        async with Client(params) as client:
            run = await call(client, "run_workflow", workflow=WORKFLOW, breakpoints=["c"])
            assert run["status"] == "PAUSED"
        # each call may come to a fresh server process: everything is in the log
        async with Client(params) as client:
            done = await call(client, "continue_run", run_id=run["run_id"])
            assert done["status"] == "COMPLETED"
        async with Client(params) as client:
            snap = await call(client, "get_snapshot", run_id=run["run_id"])
            assert snap["variables"]["global"]["tenfold"] == 10

    asyncio.run(main())


def test_streamable_http_transport(db_path: Path) -> None:
    with mcp_http(db_path, "--profile", "read-only") as served:

        async def main() -> None:
            async with client_of(served.url, served.token()) as client:
                assert {t.name for t in (await client.list_tools()).tools} == READING
                runs = await client.call_tool("list_runs", {})
                assert not runs.is_error

        asyncio.run(main())


def test_resources_and_prompts(db_path: Path) -> None:
    async def session(client: Client) -> None:
        run = await call(client, "run_workflow", workflow=WORKFLOW)
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "weboter://runs" in listed
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert {
            "weboter://runs/{run_id}/snapshot",
            "weboter://runs/{run_id}/events{?after,limit}",
            "weboter://artifacts/{name}",
        } <= templates
        runs = await client.read_resource("weboter://runs")
        assert run["run_id"] in runs.contents[0].text  # type: ignore[union-attr]
        snap = await client.read_resource(f"weboter://runs/{run['run_id']}/snapshot")
        doc = json.loads(snap.contents[0].text)  # type: ignore[union-attr]
        assert doc["status"] == "COMPLETED" and doc["variables"]["global"]["tenfold"] == 10
        events = await client.read_resource(f"weboter://runs/{run['run_id']}/events")
        page = json.loads(events.contents[0].text)  # type: ignore[union-attr]
        assert page["events"][0]["type"] == "RunCreated"
        after = page["events"][1]["seq"]
        later = await client.read_resource(
            f"weboter://runs/{run['run_id']}/events?after={after}&limit=2"
        )
        rest = json.loads(later.contents[0].text)  # type: ignore[union-attr]
        assert [e["seq"] for e in rest["events"]] == [e["seq"] for e in page["events"][2:4]]
        for name, said in (
            ("..%2F..%2Fetc%2Fpasswd", "Unknown resource|not an artifact name"),
            ("weboter.db", "not an artifact name"),
            ("0" * 64 + ".png", "no artifact"),
        ):
            with pytest.raises(Exception, match=said):
                await client.read_resource(f"weboter://artifacts/{name}")
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"debug_run", "write_workflow"} <= prompts
        written = await client.get_prompt("write_workflow", {"task": "read a price"})
        text = written.messages[0].content.text  # type: ignore[union-attr]
        assert "read a price" in text and "SetData" in text and "JSON schema" in text

    in_process(db_path, session)


def test_a_subscriber_hears_of_every_node_of_a_running_run(db_path: Path) -> None:
    async def session(client: Client) -> None:
        run = await call(client, "run_workflow", workflow=WORKFLOW, paused=True)
        uri = f"weboter://runs/{run['run_id']}/snapshot"
        heard: list[str] = []
        async with client.listen(resource_subscriptions=[uri]) as updates:

            async def hear() -> None:
                async for event in updates:
                    heard.append(str(getattr(event, "uri", "")))
                    if heard.count(uri) >= 4:  # started, node a, node b, completed
                        return

            async with asyncio.timeout(30):
                listening = asyncio.ensure_future(hear())
                done = await call(client, "continue_run", run_id=run["run_id"])
                assert done["status"] == "COMPLETED"
                await listening
        # the run's start, each of its two nodes and its end were each a separate update
        assert heard.count(uri) == 4

    in_process(db_path, session)


def test_a_2025_client_subscribes_with_resources_subscribe(db_path: Path) -> None:
    """A client of the protocol before 2026-07-28 (the handshake; `resources/subscribe`, as
    the 2025 Inspector and most hosts send it) hears of each change of the run it watches."""
    server, engines = build_server(db_path)
    heard: list[str] = []

    async def main() -> None:
        watched, enough = "", asyncio.Event()

        async def on_message(message: Any) -> None:
            uri = getattr(getattr(message, "params", None), "uri", None)
            if uri is not None:
                heard.append(str(uri))
                if heard.count(watched) >= 4:  # started, node a, node b, completed
                    enough.set()

        async with Client(server, mode="legacy", message_handler=on_message) as client:
            capabilities = client.session.server_capabilities
            assert capabilities is not None and capabilities.resources is not None
            assert capabilities.resources.subscribe  # advertised to this client
            run = await call(client, "run_workflow", workflow=WORKFLOW, paused=True)
            watched = f"weboter://runs/{run['run_id']}/snapshot"
            with pytest.warns(MCPDeprecationWarning):  # the SDK says: of 2025
                await client.subscribe_resource(watched)
            done = await call(client, "continue_run", run_id=run["run_id"])
            assert done["status"] == "COMPLETED"
            async with asyncio.timeout(30):
                await enough.wait()
            with pytest.warns(MCPDeprecationWarning):
                await client.unsubscribe_resource(watched)

    try:
        asyncio.run(main())
    finally:
        engines.stop()
    # each change of the run it watches (its start, nodes and end; the runs list it did not ask for)
    assert len(heard) >= 4 and len(set(heard)) == 1 and heard[0].endswith("/snapshot"), heard


def test_runs_still_going_when_the_server_stops_are_left_paused(db_path: Path) -> None:
    slow = flow(node("nap", "SleepFor", inputs={"duration": 60}, params={"next_node": "__end__"}))

    async def session(client: Client) -> str:
        run = await call(client, "run_workflow", workflow=slow, wait_seconds=0.5)
        assert run["status"] == "RUNNING"
        return str(run["run_id"])

    run_id = in_process(db_path, session)  # the server (and its engine) stop here
    log = EventLog(db_path)
    try:
        state = state_at(log, run_id)
    finally:
        log.close()
    assert state.status == "PAUSED" and state.pause_reason == "the MCP server stopped"


def test_without_db_the_log_is_kept_in_the_users_data_folder(tmp_path: Path) -> None:
    """An MCP host starts `weboter mcp` in a folder of its own choosing (often /): the log
    goes to the user's data folder, never there."""
    started_in = tmp_path / "host"
    started_in.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("WEBOTER_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path / "me")
    cmd = [sys.executable, "-m", "weboter.runtime.cli.main", "mcp"]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=started_in)

    async def main() -> None:
        async with Client(params) as client:
            assert not (await client.call_tool("list_runs", {})).is_error

    asyncio.run(main())
    assert (tmp_path / "me" / ".local/share/weboter/weboter.db").is_file()
    assert list(started_in.iterdir()) == []


def test_the_agent_profile_lists_the_session_tools_only(db_path: Path) -> None:
    """`--profile agent`: Playwright MCP's tools and the session's, nothing more (a model's
    context pays for every tool listed: bench/context_cost.py)."""

    async def session(client: Client) -> None:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"browser_navigate", "browser_snapshot", "browser_click", "session_export"} <= names
        assert names <= {n for n in names if n.startswith(("browser_", "session_"))}

    in_process(db_path, session, profile="agent")
