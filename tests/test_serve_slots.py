"""`weboter serve --max-runs/--max-queue` as a real process: a client beyond the queue's bound
is refused at once (`weboter run --engine` exits 75 with the reason, as JSON under --json),
and a serve killed with runs still QUEUED takes them up when started again, in their order,
each completing once. Runs hold on a page the test lets through (tests/gate_server.py)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import msgspec
import pytest
import zmq

from tests.conftest import wait_for
from tests.gate_server import GateServer
from tests.incli import cli
from tests.test_run_slots import HELD, held, in_progress_at_most, statuses
from tests.test_serve import free_ports, start_server, stop_server
from weboter.runtime.store.reading import Reader
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import client_keys, connect_client
from weboter.schemas.messages import JobAccepted, SubmitJob

pytestmark = pytest.mark.timeout(180)


def submit_all(endpoint: str, home: Path, gate: str, names: list[str]) -> list[str]:
    """Submit one held run per name (in order); their ids, once each is accepted."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, "slots-client")
    connect_client(sock, *client_keys(home))
    sock.connect(endpoint)
    runs = []
    try:
        for name in names:
            job = SubmitJob(
                command_id=f"job-{name}",
                workflow=HELD,
                reply_to="slots-client",
                variables={"gate": gate, "me": name},
            )
            sock.send_multipart([b"launcher", encode(job)])
            assert sock.poll(20_000), f"no answer to {name}'s job"
            accepted = message_decoder.decode(sock.recv())
            assert isinstance(accepted, JobAccepted), accepted
            runs.append(accepted.run_id)
    finally:
        sock.close(linger=0)
    return runs


def killed(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(20)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]


def test_a_run_beyond_the_queue_is_refused_with_the_reason(tmp_path: Path) -> None:
    flow_file = tmp_path / "held.json"
    flow_file.write_text(msgspec.json.encode(held("a")).decode())
    bind = f"tcp://127.0.0.1:{free_ports()}"
    with GateServer() as gate:
        proc, info = start_server(tmp_path, "--bind", bind, "--max-runs", "1", "--max-queue", "1")
        try:
            runs = submit_all(info["commands"], tmp_path, gate.url, ["b0", "b1"])
            wait_for(
                lambda: statuses(tmp_path / "weboter.db", runs) == ["RUNNING", "QUEUED"], "full"
            )
            refused = cli(
                "run", str(flow_file), "--engine", bind, "--json",
                "--var", f"gate={gate.url}", "--var", "me=b2",
                home=tmp_path,
            )  # fmt: skip
            assert refused.returncode == 75, refused.stderr
            error = json.loads(refused.stdout)["error"]
            assert error["kind"] == "EngineBusy"
            assert error["message"] == (
                "the engine has 1 runs in progress (--max-runs 1) and 1 queued "
                "(--max-queue 1): the run was not created"
            )
            assert "try again later" in error["hint"]
            assert "error: the engine has 1 runs in progress" in refused.stderr
            gate.open("b0a")
            gate.open("b1a")
            done = ["COMPLETED"] * 2
            wait_for(lambda: statuses(tmp_path / "weboter.db", runs) == done, "both completed")
        finally:
            stop_server(proc)
    with Reader(tmp_path / "weboter.db") as log:
        assert len(log.runs()) == 2  # the refused run was never created


def test_a_killed_serve_starts_its_queued_runs_again_in_order_each_once(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    names = [f"k{i}" for i in range(4)]
    with GateServer() as gate:
        proc, info = start_server(tmp_path, "--bind", bind, "--max-runs", "1")
        try:
            runs = submit_all(info["commands"], tmp_path, gate.url, names)
            assert gate.wait_arrived(1) == ["k0a"]
            queued = ["RUNNING"] + ["QUEUED"] * 3
            wait_for(lambda: statuses(db, runs) == queued, "one running, three queued")
        finally:
            killed(proc)  # kill -9, with three runs queued
        assert statuses(db, runs) == queued  # as the killed engine left them
        again, info = start_server(tmp_path, "--bind", bind, "--max-runs", "1")
        try:
            assert info["resumed"] == runs  # the one in progress first, then the queue's order
            for i, name in enumerate(names):
                gate.open(f"{name}a")
                wait_for(lambda i=i: statuses(db, runs)[i] == "COMPLETED", f"{name} completed")
        finally:
            stop_server(again)
    # k0's node was in flight when the engine died: it ran again (at-least-once); the queued
    # ones had not started, and each ran once, in order
    assert gate.arrived == ["k0a", "k0a", "k1a", "k2a", "k3a"]
    with Reader(db) as log:
        events = log.events()
    assert in_progress_at_most(events) == 1
    for run_id in runs:
        mine = [e.type for e in events if e.run_id == run_id]
        assert mine.count("RunCompleted") == 1 and mine.count("NodeCompleted") == 1
    restarted = [e for e in events if e.type == "RunResumed"]
    assert [e.run_id for e in restarted] == runs


def test_a_stopped_serve_leaves_its_queue_as_it_was_and_takes_it_up_again(tmp_path: Path) -> None:
    """SIGTERM: the run in progress is parked, the queued ones stay QUEUED (none starts while
    the engine stops); started again, it takes them all up in the same order."""
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    names = [f"s{i}" for i in range(3)]
    with GateServer() as gate:
        proc, info = start_server(tmp_path, "--bind", bind, "--max-runs", "1")
        try:
            runs = submit_all(info["commands"], tmp_path, gate.url, names)
            assert gate.wait_arrived(1) == ["s0a"]
            queued = ["RUNNING", "QUEUED", "QUEUED"]
            wait_for(lambda: statuses(db, runs) == queued, "one running, two queued")
        finally:
            stop_server(proc)  # SIGTERM, exit 0
        assert statuses(db, runs) == ["PAUSED", "QUEUED", "QUEUED"]
        again, info = start_server(tmp_path, "--bind", bind, "--max-runs", "1")
        try:
            assert info["resumed"] == runs
            for i, name in enumerate(names):
                gate.open(f"{name}a")
                wait_for(lambda i=i: statuses(db, runs)[i] == "COMPLETED", f"{name} completed")
        finally:
            stop_server(again)
    assert gate.arrived == ["s0a", "s0a", "s1a", "s2a"]
    with Reader(db) as log:
        events = log.events()
    assert in_progress_at_most(events) == 1
    assert [e.run_id for e in events if e.type == "RunStarted"] == runs[:1]  # s1, s2: resumed
    assert [e.run_id for e in events if e.type == "RunResumed"] == runs
