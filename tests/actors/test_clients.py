"""Clients of one engine: each run's `$env` comes from what its client sent (never logged), and
an authenticated client acts only on its own runs; the operator's key acts on all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.actors.test_security import dealer, free_port
from tests.conftest import flow, node, wait_for
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import CurveConfig
from weboter.schemas.events import RunCreated
from weboter.schemas.messages import (
    CatchUp,
    CommandRejected,
    EventBatch,
    ForkJob,
    JobAccepted,
    LookAtPage,
    Message,
    PageLooked,
    SetVariable,
    Stop,
    SubmitJob,
)

pytestmark = pytest.mark.timeout(90)

SECRET = "client-only-s3cret"
USES_ENV = to_workflow(
    flow(
        node(
            "a",
            "SetData",
            inputs={"key": "$global{auth}", "value": "Bearer $env{api.token}"},
            params={"next_node": "b"},
        ),
        node("b", "EmptyAction", "EndFlow"),
    ),
    "uses-env",
)


def test_a_runs_env_is_what_its_client_sent_and_is_never_logged(db_path: Path) -> None:
    engine = Engine(Settings(db_path=db_path), env=EnvSource({}, use_os=False)).start()
    try:
        client = engine.client()
        with_env = client.submit(USES_ENV, env={"api": {"token": SECRET}})
        assert client.wait(with_env, timeout=20).status == "COMPLETED"
        # another run of the same engine does not see that client's values
        without = client.submit(USES_ENV)
        ended = client.wait(without, timeout=20)
        assert ended.status == "FAILED"
        assert "api.token" in (ended.error.message if ended.error else "")
        # a fork (here from before node `a`) is given values of its own
        log = EventLog(db_path)
        created = next(iter(log.read(with_env))).seq
        log.close()
        fork = client.fork(with_env, created)  # the values went with the parent's end
        assert client.wait(fork, timeout=20).status == "FAILED"
        fork = client.fork(with_env, created, env={"api": {"token": SECRET}})
        assert client.wait(fork, timeout=20).status == "COMPLETED"
        # a group of values (`$env{api}`) and numbers are secrets too, each by its own path
        grouped = to_workflow(
            flow(
                node(
                    "a",
                    "SetData",
                    "EndFlow",
                    inputs={"key": "$global{creds}", "value": "$env{api}"},
                )
            ),
            "grouped",
        )
        run = client.submit(grouped, env={"api": {"token": SECRET, "pin": 987654321}})
        assert client.wait(run, timeout=20).status == "COMPLETED"
        # a resume may send values for a run that had none
        waiting = client.submit(USES_ENV, start=None)
        client.resume(waiting, env={"api": {"token": SECRET}})
        assert client.wait(waiting, timeout=20).status == "COMPLETED"
    finally:
        engine.stop()
    raw = b"".join(p.read_bytes() for p in db_path.parent.rglob("*") if p.is_file())
    assert SECRET.encode() not in raw
    assert b"987654321" not in raw


class _Remote:
    """A client in its own key pair, talking to the engine over CURVE."""

    def __init__(self, ctx: zmq.Context[Any], name: str, server: CurveConfig, where: dict) -> None:
        self.name = name
        self.keys = zmq.curve_keypair()
        self.key = self.keys[0].decode()
        self._args = (ctx, name, server)
        self.where = where
        self.sockets: dict[str, zmq.Socket[Any]] = {}

    def ask(self, socket: str, frames: list[bytes]) -> Message:
        """Send on this client's socket to `socket` (one per endpoint, kept: its identity is
        the client's name, which the engine ties to its key) and read the answer."""
        ctx, name, server = self._args
        if socket not in self.sockets:
            self.sockets[socket] = dealer(ctx, self.where[socket], name, server, self.keys)
        sock = self.sockets[socket]
        sock.send_multipart(frames)
        assert sock.poll(10_000), f"{self.name}: no answer"
        return message_decoder.decode(sock.recv_multipart()[-1])

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.sockets.clear()


@pytest.fixture
def two_clients(db_path: Path) -> Iterator[tuple[Engine, _Remote, _Remote, _Remote]]:
    where = {"commands": f"tcp://127.0.0.1:{free_port()}"}
    where["catchup"] = f"tcp://127.0.0.1:{free_port()}"
    server = CurveConfig.generate()
    ctx = zmq.Context()
    alice, bob, operator = (_Remote(ctx, n, server, where) for n in ("alice", "bob", "op"))
    curve = server.allowing(alice.key, bob.key).allowing(operator.key, operator=True)
    for who in (alice, bob, operator):
        who._args = (ctx, who.name, curve)
    settings = Settings(
        db_path=db_path,
        command_endpoint=where["commands"],
        catchup_endpoint=where["catchup"],
        curve=curve,
    )
    engine = Engine(settings).start()
    try:
        yield engine, alice, bob, operator
    finally:
        for who in (alice, bob, operator):
            who.close()
        engine.stop()
        ctx.term()


def _submit(who: _Remote, **fields: Any) -> str:
    fields.setdefault("command_id", f"job-{who.name}")
    job = SubmitJob(workflow=USES_ENV, reply_to=who.name, **fields)
    reply = who.ask("commands", [b"launcher", encode(job)])
    assert isinstance(reply, JobAccepted), reply
    return reply.run_id


def test_a_client_acts_only_on_its_own_runs(
    db_path: Path, two_clients: tuple[Engine, _Remote, _Remote, _Remote]
) -> None:
    _engine, alice, bob, operator = two_clients
    # alice names bob as the client: the engine stamps the key she authenticated with
    run_id = _submit(alice, start=None, client=bob.key)
    log = EventLog(db_path)
    first = wait_for(lambda: next(iter(log.read(run_id)), None), "alice's run in the log")
    log.close()
    assert isinstance(first.event, RunCreated) and first.event.client == alice.key

    for message, socket, dest in (
        (Stop(command_id="s", run_id=run_id, reply_to="bob"), "commands", b"continuous_executor"),
        (
            SetVariable(command_id="v", run_id=run_id, reply_to="bob", name="x", value=1),
            "commands",
            b"state_manager",
        ),
        (ForkJob(command_id="f", run_id=run_id, at_seq=1, reply_to="bob"), "commands", b"launcher"),
        (CatchUp(reply_to="bob", run_id=run_id), "catchup", None),
        (CatchUp(reply_to="bob"), "catchup", None),
        (LookAtPage(command_id="l", run_id=run_id, reply_to="bob"), "commands", b"node_runner"),
    ):
        frames = [encode(message)] if dest is None else [dest, encode(message)]
        reply = bob.ask(socket, frames)
        assert isinstance(reply, CommandRejected), (type(message).__name__, reply)
        assert "not yours" in reply.error.message or "operator" in reply.error.message

    # alice may look at her run's page (it has none yet: said so, no browser started for it)
    looked = alice.ask(
        "commands",
        [b"node_runner", encode(LookAtPage(command_id="l", run_id=run_id, reply_to="alice"))],
    )
    assert isinstance(looked, PageLooked) and looked.error is not None
    assert "no page" in looked.error.message
    own = alice.ask("catchup", [encode(CatchUp(reply_to="alice", run_id=run_id))])
    assert isinstance(own, EventBatch) and own.events and own.events[0].run_id == run_id
    every = operator.ask("catchup", [encode(CatchUp(reply_to="op"))])
    assert isinstance(every, EventBatch) and every.events
    # the operator may act on alice's run too (a fork of it is the operator's run)
    fork = operator.ask(
        "commands",
        [b"launcher", encode(ForkJob(command_id="f2", run_id=run_id, at_seq=1, reply_to="op"))],
    )
    assert isinstance(fork, JobAccepted)


def test_nothing_of_another_client_is_reached_through_ids_or_broken_messages(
    two_clients: tuple[Engine, _Remote, _Remote, _Remote],
) -> None:
    _engine, alice, bob, _operator = two_clients
    job = SubmitJob(command_id="job-1", workflow=USES_ENV, reply_to="alice", start=None)
    accepted = alice.ask("commands", [b"launcher", encode(job)])
    assert isinstance(accepted, JobAccepted)
    own = _submit(bob, start=None)
    # bob reuses alice's command id: for a job, or for a command on his own run
    for frames in (
        [b"launcher", encode(SubmitJob(command_id="job-1", workflow=USES_ENV, reply_to="bob"))],
        [
            b"state_manager",
            encode(SetVariable(command_id="job-1", run_id=own, reply_to="bob", name="x")),
        ],
    ):
        reply = bob.ask("commands", frames)
        assert isinstance(reply, CommandRejected), reply
        assert accepted.run_id not in repr(reply)
        assert "was used before" in reply.error.message
    # a socket identity is its client's: bob cannot take alice's to receive her answers
    # (while alice is connected ZeroMQ ignores a second "alice"; after, the engine refuses)
    alice.close()
    ctx, _name, server = bob._args
    thief = dealer(ctx, bob.where["commands"], "alice", server, bob.keys)
    try:
        stolen = SubmitJob(command_id="t", workflow=USES_ENV, reply_to="alice", start=None)
        thief.send_multipart([b"launcher", encode(stolen)])
        if thief.poll(3000):
            reply = message_decoder.decode(thief.recv_multipart()[-1])
            assert isinstance(reply, CommandRejected), reply
            assert "identity" in reply.error.message
    finally:
        thief.close(linger=0)
    # a message nested too deep to read is refused; the engine goes on serving everyone
    # 5,000 nested one-element arrays, written as msgpack bytes by hand (0x91: "an array of
    # one"), inside an otherwise well-formed SubmitJob
    deep = b"\x91" * 5000 + b"\x01"
    head = msgspec.msgpack.encode(
        {"type": "SubmitJob", "command_id": "d", "workflow": {}, "reply_to": "bob"}
    )
    raw = b"\x85" + head[1:] + msgspec.msgpack.encode("variables") + b"\x81\xa1x" + deep
    reply = bob.ask("commands", [b"launcher", raw])
    assert isinstance(reply, CommandRejected)
    assert isinstance(_submit(bob, start=None, command_id="job-3"), str)
