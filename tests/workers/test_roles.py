"""Who may do what with workers: only the worker holding a run's lease reports its nodes (a
forged result from another worker is refused and logged), only worker keys get in on the
worker endpoint and only client keys on the others (each refusal logged); and a served engine
killed mid-run is found again by its workers when it restarts, and the run completes."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.conftest import flow, node
from tests.incli import cli
from tests.test_serve import free_ports
from tests.workers.conftest import Served
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.settings import Settings, worker_heartbeat
from weboter.runtime.errors import UsageError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import client_keys, connect_client
from weboter.schemas.events import NodeCompleted, NodeRequeued, RunCompleted, RunStarted
from weboter.schemas.messages import (
    JobAccepted,
    Message,
    RecordNodeResult,
    SubmitJob,
)
from weboter.schemas.workers import BEAT, HEARTBEAT, LEASE, MSG, READY, WorkerReady
from weboter.schemas.workflow import Workflow

pytestmark = pytest.mark.timeout(180)


def napping(seconds: float, loops: int = 1) -> Workflow:
    """`nap` (SleepFor `seconds`), `loops` times, then `mark` sets $global{done}."""
    again = {"loop_back": "nap", "loop_out": "mark", "var": 0, "value": 1, "loop_tries": loops - 1}
    nap = node(
        "nap",
        "SleepFor",
        "LoopUntil" if loops > 1 else "NextNode",
        inputs={"duration": seconds},
        params=again if loops > 1 else {"next_node": "mark"},
    )
    mark = node("mark", "SetData", "EndFlow", inputs={"key": "$global{done}", "value": "honest"})
    return to_workflow(flow(nap, mark, id="napping"), "napping")


def dealer(endpoint: str, keys: tuple[bytes, bytes, bytes], identity: str = "") -> Any:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if identity:
        sock.setsockopt_string(zmq.IDENTITY, identity)
    connect_client(sock, *keys)
    sock.connect(endpoint)
    return sock


def answer(sock: Any, timeout: float = 20.0) -> Message:
    assert sock.poll(int(timeout * 1000)), "no answer"
    return message_decoder.decode(sock.recv())


def submit(served: Served, workflow: Workflow, keys: tuple[bytes, bytes, bytes]) -> str:
    sock = dealer(served.info["commands"], keys, "submitter")
    try:
        job = SubmitJob(command_id="job-1", workflow=workflow, reply_to="submitter")
        sock.send_multipart([b"launcher", encode(job)])
        accepted = answer(sock)
        assert isinstance(accepted, JobAccepted), accepted
        return accepted.run_id
    finally:
        sock.close(linger=0)


def wait_for(served: Served, run_id: str, kind: type, timeout: float = 60) -> None:
    """Until the run's log has an event of `kind` (the log is the engine's answer)."""
    deadline = time.monotonic() + timeout
    while not any(isinstance(r.event, kind) for r in served.events(run_id)):
        assert time.monotonic() < deadline, f"no {kind.__name__} in run {run_id}"
        time.sleep(0.05)  # not a sync: polling the log for the event


def frames_until(sock: Any, kind: bytes, timeout: float = 20.0) -> list[list[bytes]]:
    """Frames the broker sends `sock` until one of `kind` (included)."""
    got: list[list[bytes]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sock.poll(200):
            got.append(sock.recv_multipart())
            if got[-1][0] == kind:
                return got
    raise AssertionError(f"no {kind!r} within {timeout} s; got {[f[0] for f in got]}")


def test_only_the_lease_holder_reports_and_only_workers_serve(tmp_path: Path) -> None:
    rogue_public, rogue_secret = zmq.curve_keypair()
    served = Served(tmp_path, "--worker", rogue_public.decode())
    try:
        served.worker("--name", "honest")
        keys = client_keys(tmp_path)
        engine_public = keys[0]
        run_id = submit(served, napping(3.0), keys)
        wait_for(served, run_id, RunStarted)
        served.wait_logged(f"run {run_id} leased to worker honest")  # a lease the rogue lacks

        # a worker key the engine lets in, that holds no lease, forges the node's result
        rogue = dealer(served.info["workers"], (engine_public, rogue_public, rogue_secret))
        rogue.send_multipart([READY, encode(WorkerReady(name="rogue", capacity=1))])
        forged = RecordNodeResult(
            command_id="forged",
            run_id=run_id,
            version=2,
            node_id="nap",
            flow_path=["napping"],
            reply_to="continuous_executor",
            global_vars={"done": "forged"},
        )
        rogue.send_multipart([MSG, b"state_manager", encode(forged)])
        assert frames_until(rogue, BEAT)[-1] == [BEAT]  # known as a worker, all the same

        # a client's key does not get in on the worker endpoint ...
        stranger = dealer(served.info["workers"], keys)
        stranger.send_multipart([READY, encode(WorkerReady(name="stranger"))])
        served.wait_logged(keys[1].decode(), "not a key allowed on the worker endpoint")
        stranger.close(linger=0)

        # ... nor a worker's key on the client sockets (commands, catch-up, events)
        rogue_keys = (engine_public, rogue_public, rogue_secret)
        as_client = dealer(served.info["commands"], rogue_keys, "rogue-client")
        job = SubmitJob(command_id="j", workflow=napping(0.0), reply_to="rogue-client")
        as_client.send_multipart([b"launcher", encode(job)])
        served.wait_logged(rogue_public.decode(), "not a key allowed on the engine's client")

        wait_for(served, run_id, RunCompleted)
        log = EventLog(tmp_path / "weboter.db", create=False)
        try:
            assert state_at(log, run_id).globals["done"] == "honest"
        finally:
            log.close()
        assert not any(r.command_id == "forged" for r in served.events(run_id))
        assert all(f[0] != LEASE for f in frames_until(rogue, BEAT))  # it was never given one
        rogue.close(linger=0)
        as_client.close(linger=0)
    finally:
        err = served.stop()
    assert "from worker rogue, which does not hold its lease (honest does): refused" in err


def test_workers_find_a_restarted_engine_and_its_runs_complete(
    quick_heartbeat: None, served: Served
) -> None:
    """The worker finds the engine silent (three heartbeats missed: 4.5 s here), then the new
    one at the same address."""
    served.worker("--name", "steady")
    # 60 naps of 50 ms: the engine is killed right after the first, ~3 s before the last
    # (it places each node: none runs while it is away)
    run_id = submit(served, napping(0.05, loops=60), client_keys(served.home))
    wait_for(served, run_id, NodeCompleted)
    served.restart()  # SIGKILL mid-run, then a new engine on the same log and ports
    assert served.info["resumed"] == [run_id]
    wait_for(served, run_id, RunCompleted, timeout=90)  # the worker came back to it
    events = served.events(run_id)
    naps = [r.event.loop_count for r in events if isinstance(r.event, NodeCompleted)]
    assert len(naps) == 61 and len(set(naps)) == 61  # each node recorded once


def test_a_run_waiting_for_a_busy_worker_gets_its_lease_and_env(served: Served) -> None:
    served.worker("--name", "single", "--capacity", "1")
    nap = node("nap", "SleepFor", inputs={"duration": 0.3}, params={"next_node": "mark"})
    mark = node(
        "mark", "SetData", "EndFlow", inputs={"key": "$global{token}", "value": "$env{token}"}
    )
    workflow = to_workflow(flow(nap, mark, id="secretive"), "secretive")
    keys = client_keys(served.home)
    sock = dealer(served.info["commands"], keys, "two-runs")
    try:
        for i in (1, 2):  # the second waits for the worker's one slot
            job = SubmitJob(
                command_id=f"job-{i}",
                workflow=workflow,
                reply_to="two-runs",
                env={"token": f"t{i}"},
            )
            sock.send_multipart([b"launcher", encode(job)])
        runs = [m.run_id for m in (answer(sock), answer(sock)) if isinstance(m, JobAccepted)]
    finally:
        sock.close(linger=0)
    assert len(runs) == 2
    for run_id in runs:
        wait_for(served, run_id, RunCompleted)
    log = EventLog(served.home / "weboter.db", create=False)
    try:
        # each run read its client's value (it would fail on a missing one); recorded as the
        # reference, as every $env value
        assert [state_at(log, r).globals["token"] for r in runs] == ["\x00$env{token}\x00"] * 2
    finally:
        log.close()


def test_a_worker_that_stops_says_bye_and_its_run_moves_at_once(served: Served) -> None:
    leaving = served.worker("--name", "leaving")
    served.wait_logged("worker leaving ready")
    run_id = submit(served, napping(5.0), client_keys(served.home))
    served.wait_logged(f"run {run_id} leased to worker leaving")  # its node goes there now
    leaving.proc.send_signal(signal.SIGTERM)  # Ctrl-C, as a person stops it, mid-nap
    # before any heartbeat could have been missed (7.5 s): the worker said BYE
    served.wait_logged("worker leaving lost (the worker stopped)", timeout=7)
    served.worker("--name", "staying")  # the node, requeued, goes to it once it is there
    wait_for(served, run_id, RunCompleted)
    requeued = [r.event for r in served.events(run_id) if isinstance(r.event, NodeRequeued)]
    assert [(e.worker, e.reason) for e in requeued] == [("leaving", "the worker stopped")]


def test_the_heartbeat_is_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBOTER_HEARTBEAT", raising=False)
    assert worker_heartbeat() == HEARTBEAT == 2.5  # a worker silent for 7.5 s is lost
    monkeypatch.setenv("WEBOTER_HEARTBEAT", "1.5")
    assert worker_heartbeat() == 1.5
    assert Settings(db_path=Path("unused.db")).heartbeat == 1.5  # the engine's, as its workers'
    for bad in ("soon", "0", "0.1", "-1", "61", "inf", "nan"):
        monkeypatch.setenv("WEBOTER_HEARTBEAT", bad)
        with pytest.raises(UsageError, match=r"WEBOTER_HEARTBEAT=.* is not a number of seconds"):
            worker_heartbeat()


def test_connecting_to_nothing_or_with_a_bad_key_says_what_to_check(tmp_path: Path) -> None:
    flow_file = tmp_path / "flow.json"
    flow_file.write_text(msgspec.json.encode(napping(0.0)).decode())
    port = free_ports()
    nowhere = cli("run", str(flow_file), "--engine", f"tcp://127.0.0.1:{port}", home=tmp_path)
    assert nowhere.returncode != 0
    assert "no engine answered at" in nowhere.stderr and "--server-key" in nowhere.stderr
    bad = cli("serve", "--workers", "--worker", "HO{#dW2CG", home=tmp_path)
    assert bad.returncode == 2 and "--worker 'HO{#dW2CG': not a public key" in bad.stderr
    assert "in quotes" in bad.stderr
    address = cli("worker", "--connect", "127.0.0.1:5600", home=tmp_path)
    assert address.returncode == 2 and "is not an engine's address" in address.stderr
