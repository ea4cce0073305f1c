"""The State Manager: idempotence, illegal transitions, secrets never in the log's bytes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.messages import CommandRejected, Committed, StartRun, StopRun

pytestmark = pytest.mark.timeout(60)


def _ask(runner: Runner, message_factory):  # type: ignore[no-untyped-def]
    address = f"test-{uuid.uuid4().hex[:8]}"
    mailbox = runner.engine.bridge.mailbox(address)
    try:
        runner.client.outbox.send("state_manager", message_factory(address))
        return mailbox.get(timeout=10)
    finally:
        mailbox.close()
        runner.client.outbox.forget(address)
        runner.engine.bridge.unregister(address)


def test_same_command_id_twice_gives_one_set_of_events(runner: Runner) -> None:
    wf = to_workflow(flow(node("a", control="EndFlow")), "t")
    first = runner.client.submit(wf, command_id="job-1", start=None)
    second = runner.client.submit(wf, command_id="job-1", start=None)
    assert first == second
    log = EventLog(runner.db_path)
    assert [r.type for r in log.read()] == ["RunCreated"]

    start = StartRun(command_id="start-1", run_id=first, reply_to="")
    replies = [
        _ask(runner, lambda a: StartRun(command_id=start.command_id, run_id=first, reply_to=a))
        for _ in range(2)
    ]
    assert all(isinstance(r, Committed) for r in replies)
    assert [r.duplicate for r in replies] == [False, True]
    assert [e.seq for e in replies[0].events] == [e.seq for e in replies[1].events]
    assert [r.type for r in log.read(first)] == ["RunCreated", "RunStarted"]
    log.close()


def test_illegal_command_is_rejected_and_changes_nothing(runner: Runner) -> None:
    outcome = runner.run(flow(node("a", control="EndFlow")))
    assert outcome.ended.status == "COMPLETED"
    reply = _ask(runner, lambda a: StartRun(command_id="again", run_id=outcome.run_id, reply_to=a))
    assert isinstance(reply, CommandRejected)
    assert "COMPLETED" in reply.error.message
    reply = _ask(runner, lambda a: StopRun(command_id="stop", run_id=outcome.run_id, reply_to=a))
    assert isinstance(reply, CommandRejected)
    log = EventLog(runner.db_path)
    assert len(list(log.read(outcome.run_id))) == len(outcome.events)
    log.close()


def test_unknown_run_is_rejected(runner: Runner) -> None:
    reply = _ask(runner, lambda a: StartRun(command_id="x", run_id="nope", reply_to=a))
    assert isinstance(reply, CommandRejected)
    assert "does not exist" in reply.error.message


def test_secret_from_env_never_reaches_the_database_file(db_path: Path) -> None:
    secret = "hunter2-secret"
    runner = Runner(db_path, env={"shop": {"password": secret}})
    wf = flow(
        node(
            "a",
            "SetData",
            inputs={"key": "$flow{auth}", "value": "Bearer $env{shop.password}"},
            params={"next_node": "b"},
        ),
        node(
            "b",
            "SetData",
            inputs={"key": "$global{copy}", "value": "$flow{auth}"},
            params={"next_node": "c"},
        ),
        node(
            "c",
            "data.Base64Encode",
            inputs={"text": "$env{shop.password}"},
            outputs=[{"src": "base64", "pos": "global"}],
            params={"next_node": "d"},
        ),
        node(
            "d",
            "PyEvalAction",
            "EndFlow",
            inputs={
                "expr": "param1 == 'Bearer ' + param2",
                "param1": "$global{copy}",
                "param2": "$env{shop.password}",
            },
            outputs=[{"src": "result", "name": "same", "pos": "global"}],
        ),
    )
    try:
        outcome = runner.run(wf)
    finally:
        runner.close()
    assert outcome.ended.status == "COMPLETED"
    assert outcome.state.globals["same"] is True  # resolved again from the reference
    data = b"".join(p.read_bytes() for p in db_path.parent.glob("weboter.db*"))
    assert secret.encode() not in data
    assert b"$env{shop.password}" in data
