"""Hooks: published on the bus; pre_node_execute handlers can veto a node or change its
inputs, and both are recorded as events."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import zmq

from tests.conftest import flow, node
from weboter.runtime.core.hooks import HookDecision, PreNode
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.subscriber import subscribe

pytestmark = pytest.mark.timeout(60)

WF = to_workflow(
    flow(
        node(
            "greet",
            "SetData",
            inputs={"key": "$global{greeting}", "value": "hello"},
            params={"next_node": "parse"},
        ),
        node(
            "parse",
            "data.JsonParse",
            "EndFlow",
            inputs={"text": "$global{text}"},
            outputs=[{"src": "data", "pos": "global"}],
        ),
    ),
    "t",
)


def test_hooks_are_published_on_the_bus(db_path: Path) -> None:
    with Engine(Settings(db_path=db_path)) as engine:
        sub = engine.context.socket(zmq.SUB)
        sub.connect(engine.bus_endpoint)
        subscribe(sub, b"hook.")  # acknowledged: the executors publish hooks from now on
        client = engine.client()
        run_id = client.submit(WF, variables={"text": "{bad"})
        assert client.wait(run_id, timeout=10).status == "FAILED"
        seen = []
        while sub.poll(500):
            topic, header, payload = sub.recv_multipart()
            if "subscribed" in msgspec.msgpack.decode(header):
                continue  # a subscription's acknowledgement
            seen.append((topic.decode().split(".")[-1], msgspec.msgpack.decode(payload)))
        sub.close(linger=0)
    by_name: dict[str, list[dict]] = {}
    for name, payload in seen:
        by_name.setdefault(name, []).append(payload)
    # pre_node_execute comes from the executor before a node runs; the other two are the
    # committed events themselves (so they can reach a subscriber after the next pre hook)
    assert [p["node_id"] for p in by_name["pre_node_execute"]] == ["greet", "parse"]
    assert by_name["pre_node_execute"][0]["action"] == "SetData"
    assert by_name["post_node_execute"][0]["outputs"] == {"key": "greeting", "value": "hello"}
    assert "not JSON" in by_name["on_node_error"][0]["error"]["message"]


def test_a_handler_changes_inputs_for_one_execution(db_path: Path) -> None:
    engine = Engine(Settings(db_path=db_path))
    seen: list[PreNode] = []

    def fix_text(hook: PreNode) -> HookDecision | None:
        seen.append(hook)
        if hook.node_id == "parse":
            return HookDecision(inputs={**hook.inputs, "text": '{"fixed": true}'})
        return None

    engine.hooks.register("pre_node_execute", fix_text)
    with engine:
        client = engine.client()
        run_id = client.submit(WF, variables={"text": "{bad"})
        assert client.wait(run_id, timeout=10).status == "COMPLETED"
    log = EventLog(db_path)
    types = [r.type for r in log.read(run_id)]
    assert state_at(log, run_id).globals["data"] == {"fixed": True}
    log.close()
    assert "NodeInputsOverridden" in types
    assert [h.node_id for h in seen] == ["greet", "parse"]  # once per arrival at a node
    assert seen[1].variables["global"]["greeting"] == "hello"


def test_a_handler_vetoes_a_node(db_path: Path) -> None:
    engine = Engine(Settings(db_path=db_path))
    engine.hooks.register(
        "pre_node_execute",
        lambda hook: HookDecision(veto="no parsing today") if hook.node_id == "parse" else None,
    )
    with engine:
        client = engine.client()
        run_id = client.submit(WF, variables={"text": "{}"})
        ended = client.wait(run_id, timeout=10)
    assert ended.status == "FAILED"
    assert ended.error is not None
    assert ended.error.kind == "Vetoed"
    assert "no parsing today" in ended.error.message
    with pytest.raises(ValueError, match="only pre_node_execute"):
        engine.hooks.register("post_node_execute", lambda hook: None)
