"""The AI gateway against a real HTTP server on loopback that speaks the chat-completions API
with scripted replies: malformed JSON, a reply that does not validate, a time-out, a 429;
generate -> validated; suggest_repair -> recorded, applied; nothing a model is told holds a
secret's value."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.ai.model_server import ModelServer, Reply
from tests.conftest import Runner, flow, node
from tests.incli import cli
from weboter.runtime.ai.gateway import generate_workflow
from weboter.runtime.ai.models import Model, ModelConfig, configured
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.commands import modify_runtime, suggest_repair
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import ModelError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import RepairApplied, RepairSuggested

pytestmark = pytest.mark.timeout(120)

SECRET = "hunter2-secret"  # tests/conftest.py's runner gives it as $env{shop.password}
GOOD = json.dumps(
    flow(
        node("a", "SetData", inputs={"key": "$global{n}", "value": 1}, params={"next_node": "b"}),
        node("b", "EmptyAction", "EndFlow"),
        id="counter",
        name="a counter",
    )
)
UNKNOWN_ACTION = json.dumps(flow(node("a", "NoSuchAction", "EndFlow"), id="bad", name="bad"))


def model_at(server: ModelServer, **more: Any) -> Model:
    return Model(ModelConfig(model="scripted", base_url=server.base_url, **more))


def test_generate_tells_the_model_its_faults_until_the_workflow_validates() -> None:
    script = [Reply("{not json"), Reply(UNKNOWN_ACTION), Reply(f"```json\n{GOOD}\n```")]
    with ModelServer(script) as server:
        workflow = generate_workflow(model_at(server), "count to one")
    assert workflow.id == "counter" and [n.id for n in workflow.nodes] == ["a", "b"]
    asked = [json.loads(b) for b in server.bodies]
    assert len(asked) == 3
    assert asked[0]["response_format"]["type"] == "json_schema"
    assert "SetData" in asked[0]["messages"][0]["content"]  # the catalog goes with the ask
    assert "not valid JSON" in asked[1]["messages"][-1]["content"]
    assert "NoSuchAction" in asked[2]["messages"][-1]["content"]


def test_replies_that_never_validate_end_in_one_clear_error() -> None:
    with (
        ModelServer([Reply(UNKNOWN_ACTION)] * 2) as server,
        pytest.raises(ModelError, match=r"(?s)no usable workflow in 2 replies.*NoSuchAction"),
    ):
        generate_workflow(model_at(server), "anything", tries=2)


def test_a_slow_server_and_a_busy_one() -> None:
    with ModelServer([Reply(delay=3), Reply(GOOD)]) as server:  # the first times out, retried
        assert generate_workflow(model_at(server, timeout=1, retries=1), "x").id == "counter"
    with (
        ModelServer([Reply(status=429)] * 3) as server,
        pytest.raises(ModelError, match="rate limiting"),
    ):
        generate_workflow(model_at(server, retries=1), "x")
    with (
        ModelServer([Reply(delay=3)] * 3) as server,
        pytest.raises(ModelError, match="did not answer within 1 s"),
    ):
        generate_workflow(model_at(server, timeout=1, retries=1), "x")


def test_without_a_model_every_ai_feature_says_so_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no AI model is configured"):
        configured({})
    result = cli("generate", "anything", "-o", str(tmp_path / "f.yaml"), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no AI model is configured")
    assert "Traceback" not in result.stderr and not (tmp_path / "f.yaml").exists()


def failing_with_a_secret() -> dict[str, Any]:
    """a: keeps the secret in a variable; b: reads $global{n}, never set (fails)."""
    return flow(
        node(
            "a",
            "SetData",
            inputs={"key": "$global{auth}", "value": "Bearer $env{shop.password}"},
            params={"next_node": "b"},
        ),
        node(
            "b",
            "PyEvalAction",
            inputs={"expr": "param1 + 1", "param1": "$global{n}"},
            outputs=[{"src": "result", "name": "total", "pos": "global"}],
            params={"next_node": "__end__"},
        ),
    )


def test_suggest_repair_is_checked_recorded_applied_and_never_sees_a_secret(
    runner: Runner,
) -> None:
    run_id = runner.client.submit(to_workflow(failing_with_a_secret(), "t"), on_error="pause")
    assert runner.client.wait(run_id, timeout=20).status == "ERROR"
    nowhere = {"kind": "jump", "target_node": "nowhere", "reason": "go on", "confidence": 0.4}
    good = {"kind": "set_variables", "variables": {"n": 41}, "reason": "n unset", "confidence": 0.9}
    with ModelServer([Reply(json.dumps(nowhere)), Reply(json.dumps(good))]) as server:
        found = suggest_repair(model_at(server), runner.db_path, run_id[:8], env=runner.engine.env)
    assert found.action.kind == "set_variables" and found.confidence == 0.9
    assert "nowhere" in json.loads(server.bodies[1])["messages"][-1]["content"]  # told, retried
    told = "\n".join(server.bodies)
    assert "$env{shop.password}" in told  # the model sees where the secret is used ...
    for form in (SECRET, base64.b64encode(SECRET.encode()).decode()):
        assert form not in told  # ... never its value
    assert found.held == "needs approval: it sets variables (n)"
    stale, why = modify_runtime(runner.db_path, run_id, found.seq - 1, found.action)
    assert not stale and "moved on" in why
    alone, why = modify_runtime(runner.db_path, run_id, found.seq, found.action)
    assert not alone and "needs approval: it sets variables" in why  # a model may not
    applied, why = modify_runtime(runner.db_path, run_id, found.seq, found.action, source="person")
    assert applied, why
    runner.client.cont(run_id)
    assert runner.client.wait(run_id, timeout=20).status == "COMPLETED"
    log = EventLog(runner.db_path)
    try:
        events = [r.event for r in log.read(run_id)]
        assert state_at(log, run_id).globals["total"] == 42
    finally:
        log.close()
    assert any(isinstance(e, RepairSuggested) and e.source == "model" for e in events)
    assert any(isinstance(e, RepairApplied) and e.source == "person" for e in events)


@pytest.mark.skipif(
    not ModelConfig.from_env(), reason="a real model: set WEBOTER_AI_BASE_URL and WEBOTER_AI_MODEL"
)
def test_a_real_model_writes_a_workflow_that_validates() -> None:
    workflow = generate_workflow(configured(), "Set the global variable n to 1, then end.")
    assert workflow.nodes


def slow() -> dict[str, Any]:
    """a: sleeps longer than its node's timeout (fails); a shorter sleep is a contained fix."""
    return flow(node("a", "SleepFor", inputs={"duration": 30}, params={"next_node": "__end__"}))


def test_on_error_ai_the_model_repairs_the_run_or_it_waits_for_a_person(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBOTER_AI_MODEL", raising=False)
    timed = slow()
    timed["nodes"][0]["timeout"] = 0.3
    shorter = {"kind": "patch", "node_id": "a", "changes": {"inputs": {"duration": 0.01}}}
    sure = {"kind": "set_variables", "variables": {"$global{n}": 1}, "reason": "n unset"}
    script = [
        Reply(json.dumps({**shorter, "reason": "sleep less", "confidence": 0.9})),
        Reply(json.dumps({**sure, "confidence": 0.9})),
        Reply(json.dumps({**sure, "confidence": 0.2})),
    ]
    with ModelServer(script) as server:
        config = ModelConfig(model="scripted", base_url=server.base_url)
        settings = Settings(db_path=db_path, model=config)
        engine = Engine(settings, env=EnvSource({"shop": {"password": SECRET}}, use_os=False))
        with engine, engine.client() as client:
            repaired = client.submit(to_workflow(timed, "t"), on_error="ai")
            assert client.wait(repaired, timeout=30).status == "COMPLETED"
            workflow = to_workflow(failing_with_a_secret(), "t")
            held = client.submit(workflow, on_error="ai")
            held_end = client.wait(held, timeout=30)
            unsure = client.submit(workflow, on_error="ai")
            unsure_end = client.wait(unsure, timeout=30)
    # a wait changed on the failing node: applied by the model alone
    log = EventLog(db_path)
    try:
        events = [r.event for r in log.read(repaired)]
        held_state, unsure_state = state_at(log, held), state_at(log, unsure)
    finally:
        log.close()
    assert [e.source for e in events if isinstance(e, RepairApplied)] == ["model"]
    # variables set by a model: held for a person, and the run's state says why
    assert held_end.status == "ERROR" and held_end.error is not None
    assert "needs approval: it sets variables" in held_end.error.hint
    assert held_state.waiting_for == "needs approval: it sets variables ($global{n})"
    # too little confidence: the same, with that reason
    assert unsure_end.status == "ERROR" and unsure_end.error is not None
    assert "waiting for a person" in unsure_end.error.hint
    assert unsure_state.waiting_for.startswith("confidence 0.20, below 0.5")
    assert SECRET not in "\n".join(server.bodies)
    # without a model the run waits in ERROR and says so
    engine = Engine(Settings(db_path=db_path), env=EnvSource({}, use_os=False))
    with engine, engine.client() as client:
        alone = client.submit(workflow, on_error="ai")
        ended = client.wait(alone, timeout=30)
    assert ended.status == "ERROR" and ended.error is not None
    assert "no AI model is configured" in ended.error.hint


def test_a_config_file_under_the_environment(tmp_path: Path) -> None:
    (tmp_path / "ai.yaml").write_text("base_url: http://127.0.0.1:9/v1\nmodel: from-file\n")
    found = ModelConfig.from_env({"WEBOTER_HOME": str(tmp_path)})
    assert found is not None and found.model == "from-file"
    assert found.base_url == "http://127.0.0.1:9/v1"
    over = ModelConfig.from_env({"WEBOTER_HOME": str(tmp_path), "WEBOTER_AI_MODEL": "env"})
    assert over is not None and over.model == "env"
    (tmp_path / "bad.yaml").write_text("modle: x\n")
    with pytest.raises(ModelError, match="unknown keys: modle"):
        ModelConfig.from_env({"WEBOTER_AI_CONFIG": str(tmp_path / "bad.yaml")})
