"""The wire protocol as a client in another language meets it (docs/protocol.md): messages
read with plain msgpack, no Weboter types. Catch-up items carry prev_seq and the event as a
map; every malformed message gets one answer with the command id it carried; the stream
beats with the last seq; a reader may follow and catch up, nothing else; a client may not
pause a run with the engine's own reason."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.actors.test_security import dealer, free_port
from tests.conftest import flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.transport.bridge import encode
from weboter.runtime.transport.security import CurveConfig, connect_client
from weboter.runtime.transport.subscriber import EventStream, subscribe
from weboter.schemas.events import ENGINE_STOPPED
from weboter.schemas.messages import CatchUp, PauseRun, SubmitJob

pytestmark = pytest.mark.timeout(90)

WF = to_workflow(
    flow(
        node("a", "SetData", inputs={"key": "$global{x}", "value": 1}, params={"next_node": "b"}),
        node("b", "EmptyAction", "EndFlow"),
    ),
    "t",
)


class Client:
    """A DEALER per endpoint with one key pair; answers read as plain msgpack."""

    def __init__(self, ctx: zmq.Context[Any], name: str, curve: CurveConfig, where: dict) -> None:
        self.ctx, self.name, self.curve, self.where = ctx, name, curve, where
        self.keys = zmq.curve_keypair()
        self.sockets: dict[str, zmq.Socket[Any]] = {}

    def send(self, endpoint: str, frames: list[bytes]) -> None:
        if endpoint not in self.sockets:
            self.sockets[endpoint] = dealer(
                self.ctx, self.where[endpoint], self.name, self.curve, self.keys
            )
        self.sockets[endpoint].send_multipart(frames)

    def answers(self, endpoint: str, until: str, wait: float = 10.0) -> list[dict[str, Any]]:
        """Answers (as plain maps) until one of type `until`; each read bounded."""
        found = []
        while True:
            assert self.sockets[endpoint].poll(int(wait * 1000)), f"{self.name}: no answer"
            found.append(msgspec.msgpack.decode(self.sockets[endpoint].recv_multipart()[-1]))
            if found[-1].get("type") == until:
                return found

    def ask(self, endpoint: str, frames: list[bytes]) -> dict[str, Any]:
        self.send(endpoint, frames)
        assert self.sockets[endpoint].poll(10_000), f"{self.name}: no answer"
        return msgspec.msgpack.decode(self.sockets[endpoint].recv_multipart()[-1])

    def nothing_more(self, endpoint: str) -> bool:
        return not self.sockets[endpoint].poll(300)

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close(linger=0)


@pytest.fixture
def engine(db_path: Path) -> Iterator[tuple[Engine, Client, Client, dict]]:
    where = {name: f"tcp://127.0.0.1:{free_port()}" for name in ("commands", "catchup", "events")}
    server = CurveConfig.generate()
    ctx = zmq.Context()
    alice, reader = Client(ctx, "alice", server, where), Client(ctx, "reader", server, where)
    curve = server.allowing(alice.keys[0]).allowing(reader.keys[0], reader=True)
    alice.curve = reader.curve = curve
    settings = Settings(
        db_path=db_path,
        command_endpoint=where["commands"],
        catchup_endpoint=where["catchup"],
        bus_endpoints=[where["events"]],
        curve=curve,
    )
    started = Engine(settings).start()
    try:
        yield started, alice, reader, where
    finally:
        alice.close()
        reader.close()
        started.stop()
        ctx.term()


def run_one(alice: Client, command_id: str = "job-1") -> str:
    job = SubmitJob(command_id=command_id, workflow=WF, reply_to="alice")
    alice.send("commands", [b"launcher", encode(job)])
    answers = alice.answers("commands", until="RunEnded")
    assert answers[-1]["status"] == "COMPLETED", answers
    return str(answers[0]["run_id"])


def test_catch_up_items_have_prev_seq_and_the_event_as_a_map(engine: Any) -> None:
    _, alice, _, _ = engine
    first, second = run_one(alice, "job-1"), run_one(alice, "job-2")
    alice.send("catchup", [encode(CatchUp(reply_to="alice", run_id=second, batch=2))])
    items: list[dict[str, Any]] = []
    while True:  # batches of 2 until one says done (a field at its default is left out)
        batch = alice.answers("catchup", until="EventBatch")[-1]
        items += batch["events"]
        if batch.get("done", False):
            break
    assert [i["run_version"] for i in items] == list(range(1, len(items) + 1))
    assert items[0]["prev_seq"] == 0
    for before, after in itertools.pairwise(items):
        assert after["prev_seq"] == before["seq"]  # across batches too
    assert isinstance(items[0]["event"], dict)  # a map, not bytes to decode again
    assert items[0]["event"]["type"] == "RunCreated" == items[0]["type"]
    assert first != second


def test_every_malformed_message_gets_one_answer_with_its_command_id(engine: Any) -> None:
    _, alice, _, _ = engine
    wrong = [
        ([b"nowhere", msgspec.msgpack.encode({"type": "Drive", "command_id": "c-1"})], "c-1"),
        ([b"launcher", msgspec.msgpack.encode({"type": "SubmitJob", "command_id": "c-2"})], "c-2"),
        ([b"launcher", msgspec.msgpack.encode({"command_id": "c-3", "x": 1})], "c-3"),
        ([b"launcher", msgspec.msgpack.encode([1, 2, 3])], ""),
        ([b"launcher", msgspec.msgpack.encode(7)], ""),
        ([b"launcher", b"\xc1 not msgpack"], ""),
        ([b"launcher"], ""),
    ]
    for frames, command_id in wrong:
        answer = alice.ask("commands", frames)
        assert answer["type"] == "CommandRejected", answer
        assert answer["command_id"] == command_id, (frames, answer)
        assert answer["error"]["message"].startswith("bad message: ")
        assert alice.nothing_more("commands"), frames  # one answer, not two
    missing = alice.ask(
        "commands", [b"launcher", msgspec.msgpack.encode({"type": "SubmitJob", "command_id": "c"})]
    )
    assert "workflow" in missing["error"]["message"]  # what is missing, by name
    run_one(alice)  # and the engine goes on serving


def test_the_stream_beats_with_the_last_seq(engine: Any, db_path: Path) -> None:
    _, alice, reader, where = engine
    run_one(alice)
    sub = reader.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    connect_client(sub, reader.curve.public_key, *reader.keys)
    sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
    sub.connect(where["events"])
    log = EventLog(db_path, create=False)
    try:
        last = log.last_seq()
        deadline = time.monotonic() + 10
        beats: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not (beats and beats[-1]["last_seq"] == last):
            if sub.poll(3000):  # the first beat may predate the run's last publish
                _topic, header, _ = sub.recv_multipart()
                decoded = msgspec.msgpack.decode(header)
                if "subscribed" not in decoded:  # the acknowledgement of the subscription
                    beats.append(decoded)
        assert beats, "no heartbeat within 10 s"
        assert beats[-1]["heartbeat"] is True
        assert beats[-1]["last_seq"] == last
    finally:
        log.close()
        sub.close(linger=0)


def test_a_reader_follows_and_catches_up_but_changes_nothing(engine: Any) -> None:
    _, alice, reader, _ = engine
    run = run_one(alice)
    reader.send("catchup", [encode(CatchUp(reply_to="reader"))])  # every run: a reader may
    batch = reader.answers("catchup", until="EventBatch")[-1]
    assert {i["run_id"] for i in batch["events"]} == {run}
    job = SubmitJob(command_id="r-1", workflow=WF, reply_to="reader")
    refused = reader.ask("commands", [b"launcher", encode(job)])
    assert refused["type"] == "CommandRejected"
    assert refused["command_id"] == "r-1"
    assert "reader" in refused["error"]["message"]
    stop = msgspec.msgpack.encode(
        {"type": "Stop", "command_id": "r-2", "run_id": run, "reply_to": "reader"}
    )
    assert reader.ask("commands", [b"continuous_executor", stop])["type"] == "CommandRejected"


def test_the_protocol_is_published_whole() -> None:
    """`weboter schema protocol` has every message and event; docs/protocol.md lists every
    event with its fields."""
    import typing  # noqa: PLC0415

    from weboter.runtime.cli.schema_command import schema_of  # noqa: PLC0415
    from weboter.schemas.events import Event  # noqa: PLC0415
    from weboter.schemas.messages import Message  # noqa: PLC0415
    from weboter.schemas.workers import RunLease, WorkerReady  # noqa: PLC0415

    schema = schema_of("protocol")
    for kind in (*typing.get_args(Message), *typing.get_args(Event), WorkerReady, RunLease):
        assert kind.__name__ in schema["$defs"], kind
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for kind in typing.get_args(Event):
        row = next(
            (line for line in doc.splitlines() if line.startswith(f"| `{kind.__name__}`")), ""
        )
        assert row, f"docs/protocol.md has no row for {kind.__name__}"
        for field in msgspec.structs.fields(kind):
            if field.name != "run_id":
                assert f"`{field.name}`" in row, (kind.__name__, field.name)


def test_a_stream_that_lost_the_tail_finds_it_by_the_heartbeat(engine: Any) -> None:
    _, alice, reader, where = engine
    stream = EventStream(
        where["events"], where["catchup"], curve=(reader.curve.public_key, *reader.keys)
    )
    try:
        assert list(stream.follow(timeout=1)) == []  # nothing yet
        # every run event dropped on the way, as a subscriber past its high-water mark is:
        # only the heartbeats still reach it
        stream._sub.setsockopt(zmq.UNSUBSCRIBE, b"run.")
        run = run_one(alice)
        seen = []
        for event in stream.follow(timeout=15):
            seen.append(event)
            if event.type == "RunCompleted":
                break
    finally:
        stream.close()
    assert [e.run_id for e in seen] == [run] * len(seen)
    assert [e.run_version for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].type == "RunCompleted"


def test_refusals_are_logged_with_their_reason_but_never_flood(
    engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, alice, _, _ = engine
    with caplog.at_level("WARNING", logger="weboter.runtime.transport.bridge"):
        for i in range(30):
            frames = [b"nowhere", msgspec.msgpack.encode({"type": "Drive", "command_id": str(i)})]
            assert alice.ask("commands", frames)["type"] == "CommandRejected"
    refused = [r.getMessage() for r in caplog.records if "refused a message" in r.getMessage()]
    assert len(refused) == 20  # a minute's share; the rest are counted, then said in one line
    assert "no actor 'nowhere' here" in refused[0]


NAPS = to_workflow(
    flow(
        node(
            "nap",
            "SleepFor",
            "LoopUntil",
            inputs={"duration": 0.05},
            params={"loop_back": "nap", "loop_out": "__end__", "var": 0, "value": 1},
        )
    ),
    "naps",
)


def test_a_client_cannot_park_its_run_as_the_engine_does_when_it_stops(
    engine: Any, db_path: Path
) -> None:
    """A run paused with the engine's own reason ("the engine stopped") is taken up when the
    engine starts again: a client that could pause so would have a restart drive on a run a
    person meant to stop, and pass its pause off as the engine's."""
    started, alice, _, _ = engine
    sub = started.event_socket()
    try:
        subscribe(sub, b"run.")
        job = SubmitJob(command_id="naps-1", workflow=NAPS, reply_to="alice")
        alice.send("commands", [b"launcher", encode(job)])
        run_id = alice.answers("commands", until="JobAccepted")[-1]["run_id"]
        deadline = time.monotonic() + 20  # it runs: a pause now would be recorded
        while time.monotonic() < deadline:
            if sub.poll(1000):
                topic = sub.recv_multipart()[0]
                if topic == f"run.{run_id}.NodeCompleted".encode():
                    break
        else:
            pytest.fail("the run completed no node within 20 s")
    finally:
        sub.close(linger=0)
    pause = PauseRun(
        command_id="park-1", run_id=run_id, reply_to="alice", reason=ENGINE_STOPPED, now=True
    )
    answer = alice.ask("commands", [b"state_manager", encode(pause)])
    assert answer["type"] == "CommandRejected", answer
    assert "the engine's own" in answer["error"]["message"]
    log = EventLog(db_path, create=False)
    try:
        assert log.stored_of_types(run_id, ("RunPaused",)) == []  # it runs on
    finally:
        log.close()
