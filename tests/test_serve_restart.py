"""`weboter serve` killed (SIGKILL) while a run is RUNNING, then started again on the same log:
it takes the run up and the run completes; every node completed before the kill is kept and
none is recorded twice; a client following the run's events across the restart gets every
one of them once, in order."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import pytest
import zmq

from tests.test_serve import free_ports, start_server, stop_server
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import client_keys, connect_client
from weboter.runtime.transport.subscriber import EventStream
from weboter.schemas.messages import JobAccepted, SubmitJob

pytestmark = pytest.mark.timeout(120)

LOOPS = 150
SLOW_LOOP = to_workflow(
    {
        "id": "slow",
        "name": "a slow loop",
        "nodes": [
            {
                "id": "nap",
                "action": "SleepFor",
                "inputs": {"duration": 0.02},
                "control": "LoopUntil",
                "params": {
                    "loop_back": "nap",
                    "loop_out": "__end__",
                    "var": 0,
                    "value": 1,
                    "loop_tries": LOOPS - 1,
                },
            }
        ],
    },
    "slow",
)


def completed(db: Path, run_id: str) -> list[int]:
    """The loop counters of the run's NodeCompleted events, in order."""
    log = EventLog(db, create=False)
    try:
        return [
            to_record(r).event.loop_count or 0  # type: ignore[union-attr]
            for r in log.stored_of_types(run_id, ("NodeCompleted",))
        ]
    finally:
        log.close()


def status(db: Path, run_id: str) -> str:
    log = EventLog(db, create=False)
    try:
        return str(state_at(log, run_id).status)
    finally:
        log.close()


def test_a_killed_serve_takes_its_runs_up_when_started_again(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    proc, info = start_server(tmp_path, "--bind", bind)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, "restart-client")
    connect_client(sock, *client_keys(tmp_path))
    sock.connect(info["commands"])
    try:
        job = SubmitJob(command_id="slow-1", workflow=SLOW_LOOP, reply_to="restart-client")
        sock.send_multipart([b"launcher", encode(job)])
        assert sock.poll(10_000)
        accepted = message_decoder.decode(sock.recv())
        assert isinstance(accepted, JobAccepted), accepted
        run = accepted.run_id
        stream = EventStream(
            info["events"], info["catchup"], run_id=run, curve=client_keys(tmp_path)
        )
        seen = [e.seq for e in itertools.islice(stream.follow(timeout=30), 20)]
    finally:
        sock.close(linger=0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(20)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    before = completed(db, run)
    assert status(db, run) == "RUNNING"  # as the killed process left it
    assert len(before) < LOOPS

    again, info = start_server(tmp_path, "--bind", bind)
    try:
        assert info["resumed"] == [run]
        for event in stream.follow(timeout=60):  # the same stream: its sockets reconnect
            seen.append(event.seq)
            if event.type == "RunCompleted":
                break
    finally:
        stream.close()
        ctx.term()
        stop_server(again)
    assert status(db, run) == "COMPLETED"
    after = completed(db, run)
    assert after[: len(before)] == before  # what was committed before the kill is kept
    assert len(after) == LOOPS  # each node completed once: nothing recorded twice
    log = EventLog(db, create=False)
    try:
        stored = log.read_stored(run)
    finally:
        log.close()
    assert "RunResumed" in [r.type for r in stored]
    assert seen == [r.seq for r in stored]  # every event once, in order, across the restart
