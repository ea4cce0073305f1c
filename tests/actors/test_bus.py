"""The public event stream over real sockets: published only after commit, seq/prev_seq
headers, catch-up for late joiners, and bad messages that do not stop the engine."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import msgspec
import pytest
import zmq

from tests.conftest import flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import TransportError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.transport.bridge import check_bindable, encode, message_decoder
from weboter.runtime.transport.subscriber import EventStream, subscribe
from weboter.schemas.messages import CancelNode, CommandRejected, RecordNodeResult, SubmitJob

pytestmark = pytest.mark.timeout(60)

WF = to_workflow(
    flow(
        node("a", "SetData", inputs={"key": "$global{x}", "value": 1}, params={"next_node": "b"}),
        node("b", "PyEvalAction", "EndFlow", inputs={"expr": "param1 + 1", "param1": "$global{x}"}),
    ),
    "t",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["tcp", "ipc"])
def endpoints(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "tcp":
        return {name: f"tcp://127.0.0.1:{free_port()}" for name in ("pub", "cmd", "catchup")}
    return {name: f"ipc://{tmp_path}/{name}.sock" for name in ("pub", "cmd", "catchup")}


@pytest.fixture
def engine(db_path: Path, endpoints: dict[str, str]):  # type: ignore[no-untyped-def]
    settings = Settings(
        db_path=db_path,
        bus_endpoints=[endpoints["pub"]],
        command_endpoint=endpoints["cmd"],
        catchup_endpoint=endpoints["catchup"],
    )
    eng = Engine(settings).start()
    yield eng
    eng.stop()


def test_late_joiner_catches_up_then_follows_live(
    engine: Engine, endpoints: dict[str, str], db_path: Path
) -> None:
    with engine.client() as client:
        first = client.submit(WF)
        client.wait(first, timeout=10)
        stream = EventStream(endpoints["pub"], endpoints["catchup"])
        try:
            events = []
            follower = stream.follow(timeout=10, idle=1.0)
            events.append(next(follower))  # history arrives first
            second = client.submit(WF)
            client.wait(second, timeout=10)
            events.extend(follower)
        finally:
            stream.close()
    log = EventLog(db_path)
    logged = [(e.seq, e.type) for e in log.read_stored()]
    log.close()
    got = [(e.seq, e.type) for e in events]
    assert got == logged  # every committed event once, in order: catch-up + live, no duplicate
    assert {e.run_id for e in events} == {first, second}


def test_headers_chain_prev_seq_per_run(engine: Engine, endpoints: dict[str, str]) -> None:
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.connect(endpoints["pub"])
    subscribe(sub, b"run.")  # returns once the publisher acknowledged it
    with engine.client() as client:
        run_id = client.submit(WF)
        client.wait(run_id, timeout=10)
    headers = []
    while sub.poll(500):
        topic, header, _payload = sub.recv_multipart()
        decoded = msgspec.msgpack.decode(header)
        if "subscribed" in decoded:
            continue  # another subscriber's acknowledgement
        assert topic.decode() == f"run.{decoded['run_id']}.{decoded['type']}"
        headers.append(decoded)
    sub.close(linger=0)
    assert headers[0]["prev_seq"] == 0
    for before, after in itertools.pairwise(headers):
        assert after["prev_seq"] == before["seq"]


def test_remote_client_submits_over_router_and_bad_frames_are_rejected(
    engine: Engine, endpoints: dict[str, str]
) -> None:
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt_string(zmq.IDENTITY, "remote-1")
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(endpoints["cmd"])
    try:
        dealer.send_multipart([b"launcher"])  # no payload frame
        assert dealer.poll(5000)
        reply = message_decoder.decode(dealer.recv())
        assert isinstance(reply, CommandRejected)
        assert "frame" in reply.error.message
        dealer.send_multipart([b"nobody", b"x"])
        assert dealer.poll(5000)
        assert "no actor 'nobody'" in message_decoder.decode(dealer.recv()).error.message
        refused = [
            ([b"launcher", b"\xc1garbage"], "not a message"),
            # internal messages: a client cannot complete or drive a run itself
            (
                [
                    b"state_manager",
                    encode(
                        RecordNodeResult(
                            command_id="x",
                            run_id="r",
                            version=1,
                            node_id="n",
                            flow_path=["f"],
                            reply_to="remote-1",
                        )
                    ),
                ],
                "RecordNodeResult is internal",
            ),
            ([b"node_runner", encode(CancelNode(run_id="r"))], "CancelNode is internal"),
            # nor speak for another client
            (
                [b"launcher", encode(SubmitJob(command_id="c", workflow=WF, reply_to="other"))],
                "reply_to must be your own",
            ),
        ]
        for frames, why in refused:
            dealer.send_multipart(frames)
            assert dealer.poll(5000)
            answer = message_decoder.decode(dealer.recv())
            assert isinstance(answer, CommandRejected)
            assert why in answer.error.message
        # ... and the engine still serves a proper job from the same client
        job = SubmitJob(command_id="remote-job", workflow=WF, reply_to="remote-1")
        dealer.send_multipart([b"launcher", encode(job)])
        kinds = []
        while dealer.poll(5000):
            message = message_decoder.decode(dealer.recv())
            kinds.append(type(message).__name__)
            if kinds[-1] == "RunEnded":
                break
        assert kinds == ["JobAccepted", "RunEnded"]
        assert message.status == "COMPLETED"
    finally:
        dealer.close(linger=0)


def test_listening_beyond_loopback_needs_authentication() -> None:
    check_bindable("tcp://127.0.0.1:5555", curve=False)
    check_bindable("ipc:///tmp/x", curve=False)
    with pytest.raises(TransportError, match="without authentication"):
        check_bindable("tcp://0.0.0.0:5555", curve=False)
