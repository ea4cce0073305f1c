"""What the MCP server refuses, and how it says so: changes that would break a run, seqs the log
does not have, pages that cannot be, runs without a page; budgets, stops and size caps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mcp import Client

from tests.conftest import flow, node
from tests.mcp.test_mcp import WORKFLOW, call, in_process

pytestmark = pytest.mark.timeout(120)


async def refused(client: Client, tool: str, **arguments: object) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, result.structured_content)
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


def test_changes_that_would_break_a_paused_run_are_refused(db_path: Path) -> None:
    async def session(client: Client) -> None:
        run = await call(client, "run_workflow", workflow=WORKFLOW, breakpoints=["b"])
        run_id = run["run_id"]
        said = await refused(
            client, "patch_node", run_id=run_id, node_id="b", changes={"control": "NoSuchControl"}
        )
        assert "invalid" in said and "NoSuchControl" in said
        said = await refused(
            client,
            "patch_node",
            run_id=run_id,
            node_id="b",
            changes={"params": {"next_node": "nowhere"}},
        )
        assert "nowhere" in said
        said = await refused(
            client, "set_breakpoint", run_id=run_id, when="condition", condition="n >"
        )
        assert "not valid" in said
        said = await refused(client, "get_snapshot", run_id=run_id, at_seq=10**6)
        assert "beyond the log" in said
        said = await refused(client, "get_events", run_id=run_id, limit=0)
        assert "limit" in said
        said = await refused(client, "page_snapshot", run_id=run_id)
        assert "no page" in said
        # nothing of that changed the run: it goes on as it was
        done = await call(client, "continue_run", run_id=run_id)
        assert done["status"] == "COMPLETED"
        said = await refused(client, "patch_node", run_id=run_id, node_id="b", changes={})
        assert "fork_run" in said and "weboter fork" not in said  # tools, not CLI commands
        with pytest.raises(Exception, match="no run"):
            await client.read_resource("weboter://runs/nope/snapshot")

    in_process(db_path, session)


def test_history_comes_newest_first_with_actions_and_long_values_are_cut(db_path: Path) -> None:
    big = flow(
        node("a", "SetData", inputs={"key": "$global{text}", "value": "x" * 50_000}),
        node("b", "PyEvalAction", inputs={"expr": "1 + 1"}, params={"next_node": "__end__"}),
    )
    big["nodes"][0]["params"] = {"next_node": "b"}

    async def session(client: Client) -> None:
        run = await call(client, "run_workflow", workflow=big)
        snap = await call(client, "get_snapshot", run_id=run["run_id"], history_limit=1)
        assert snap["history_total"] == 2
        assert [(h["node_id"], h["action"]) for h in snap["history"]] == [("b", "PyEvalAction")]
        text = snap["variables"]["global"]["text"]
        assert len(text) < 3000 and "more characters" in text

    in_process(db_path, session)


def test_a_node_budget_per_run_and_a_stop_that_answers_at_once(db_path: Path) -> None:
    loop = flow(node("spin", "EmptyAction", params={"next_node": "spin"}))
    slow = flow(node("nap", "SleepFor", inputs={"duration": 60}, params={"next_node": "__end__"}))

    async def session(client: Client) -> None:
        spun = await call(client, "run_workflow", workflow=loop, max_nodes=5)
        assert spun["status"] == "FAILED" and "5" in spun["error"]["message"]
        said = await refused(client, "run_workflow", workflow=loop, max_nodes=-1)
        assert "negative" in said
        napping = await call(client, "run_workflow", workflow=slow, wait_seconds=0.5)
        assert napping["status"] == "RUNNING"
        began = time.monotonic()
        stopped = await call(client, "stop_run", run_id=napping["run_id"], wait_seconds=60)
        assert stopped["status"] == "STOPPED"
        # it answered when the run stopped, not when wait_seconds ran out
        assert time.monotonic() - began < 30

    in_process(db_path, session)


def test_the_catalog_says_what_each_action_and_control_does(db_path: Path) -> None:
    async def session(client: Client) -> None:
        found = await call(client, "catalog")
        entries = found["actions"] + found["controls"]
        assert entries and all(e["doc"] for e in entries), [e["name"] for e in entries]
        click = next(e for e in found["actions"] if e["name"] == "builtin.ClickItem")
        assert "locator" in click["doc"] and "no_error" in click["doc"]

    in_process(db_path, session)
