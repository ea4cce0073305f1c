"""Through MCP, a failing node leaves the run in ERROR (the server's default policy): the
client fixes it, repairs it and goes on; the repair is an event it reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from tests.ai.model_server import ModelServer, Reply
from tests.conftest import flow, node
from tests.mcp.test_mcp import call, in_process

pytestmark = pytest.mark.timeout(120)

NEEDS_N = flow(
    node(
        "a",
        "PyEvalAction",
        inputs={"expr": "param1 * 2", "param1": "$global{n}"},
        outputs=[{"src": "result", "name": "twice", "pos": "global"}],
        params={"next_node": "__end__"},
    )
)


def test_error_is_a_state_the_client_recovers_from(db_path: Path) -> None:
    async def session(client: Client) -> None:
        run = await call(client, "run_workflow", workflow=NEEDS_N)
        assert run["status"] == "ERROR" and "n" in run["error"]["message"]
        run_id = run["run_id"]
        await call(client, "set_variable", run_id=run_id, name="n", value=21, scope="global")
        fixed = await call(client, "repair_run", run_id=run_id, kind="retry", reason="n unset")
        assert fixed["status"] == "PAUSED"
        done = await call(client, "continue_run", run_id=run_id)
        assert done["status"] == "COMPLETED"
        snap = await call(client, "get_snapshot", run_id=run_id)
        assert snap["variables"]["global"]["twice"] == 42
        page = await call(client, "get_events", run_id=run_id, limit=200)
        applied = [e["event"] for e in page["events"] if e["type"] == "RepairApplied"]
        assert applied and applied[0]["action"] == {"kind": "retry", "reason": "n unset"}
        # a run told to fail does
        failed = await call(client, "run_workflow", workflow=NEEDS_N, on_error="fail")
        assert failed["status"] == "FAILED"

    in_process(db_path, session)


def test_the_model_suggests_the_repair_and_the_client_applies_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = json.dumps(
        {"kind": "set_variables", "variables": {"$global{n}": 5}, "reason": "n is unset"}
    )

    async def without_a_model(client: Client) -> None:
        result = await client.call_tool("generate_workflow", {"prompt": "anything"})
        assert result.is_error and "no AI model is configured" in result.content[0].text  # type: ignore[union-attr]

    monkeypatch.delenv("WEBOTER_AI_MODEL", raising=False)
    in_process(db_path, without_a_model)

    with ModelServer([Reply(fix)]) as model:
        for key, value in model.env().items():
            monkeypatch.setenv(key, value)

        async def session(client: Client) -> None:
            run = await call(client, "run_workflow", workflow=NEEDS_N)
            assert run["status"] == "ERROR"
            found = await call(client, "suggest_repair", run_id=run["run_id"], apply=True)
            # setting variables is more than a model may do alone: held for the client
            assert found["applied"] is False and found["action"]["kind"] == "set_variables"
            assert found["needs_approval"].startswith("needs approval: it sets variables")
            assert "needs approval" in found["why_not"]
            snap = await call(client, "get_snapshot", run_id=run["run_id"])
            assert snap["waiting_for"] == found["needs_approval"]
            # the client has seen it and applies it itself
            await call(
                client,
                "repair_run",
                run_id=run["run_id"],
                kind="set_variables",
                variables=found["action"]["variables"],
                reason="as suggested",
            )
            done = await call(client, "continue_run", run_id=run["run_id"])
            assert done["status"] == "COMPLETED"
            snap = await call(client, "get_snapshot", run_id=run["run_id"])
            assert snap["variables"]["global"]["twice"] == 10

        in_process(db_path, session)
