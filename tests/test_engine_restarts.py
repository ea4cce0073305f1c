"""An engine restart loses no client and no run. `weboter serve` is killed (SIGKILL) or
stopped (SIGTERM) while a `weboter run --engine` client waits on one of its runs, then started
again on the same log (or not): the client reports the run's end as the log has it, or says
that the engine is gone; a stopped engine takes up, when started again, the runs it was
driving (and only those), each node of them recorded once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.incli import cli
from tests.test_serve import free_ports, start_server, stop_server
from tests.test_serve_restart import LOOPS, SLOW_LOOP, completed, status
from weboter.runtime.engine.settings import engine_gone_after
from weboter.runtime.errors import UsageError
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import client_keys, connect_client
from weboter.runtime.transport.subscriber import EventStream
from weboter.schemas.messages import JobAccepted, SubmitJob
from weboter.schemas.workflow import Workflow

pytestmark = pytest.mark.timeout(150)

GONE_AFTER = 6.0  # what the client of the "gone" test waits (WEBOTER_ENGINE_GONE_AFTER)


def naps(loops: int) -> Workflow:
    """SLOW_LOOP with `loops` naps of 20 ms."""
    return msgspec.structs.replace(
        SLOW_LOOP,
        nodes=[
            msgspec.structs.replace(
                SLOW_LOOP.nodes[0], params={**SLOW_LOOP.nodes[0].params, "loop_tries": loops - 1}
            )
        ],
    )


@contextmanager
def serving(home: Path, bind: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """`weboter serve` as a real process; killed if the test leaves it running."""
    proc, info = start_server(home, "--bind", bind)
    try:
        yield proc, info
    finally:
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)


@contextmanager
def waiting_client(home: Path, bind: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    """`weboter run SLOW_LOOP --engine BIND --json` as a real process (`env` added to its
    environment); killed if the test leaves it running."""
    flow_file = home / "slow.json"
    flow_file.write_text(msgspec.json.encode(SLOW_LOOP).decode(), encoding="utf-8")
    command = ["run", str(flow_file), "--engine", bind, "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", *command],
        env={**os.environ, "WEBOTER_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=20)


def progressed(stream: EventStream, nodes: int = 5, run_id: str | None = None) -> str:
    """The run (`run_id`, or any) that has completed `nodes` nodes (waits on the stream)."""
    counts: dict[str, int] = {}
    for event in stream.follow(timeout=60):
        if event.type == "NodeCompleted" and run_id in (None, event.run_id):
            counts[event.run_id] = counts.get(event.run_id, 0) + 1
            if counts[event.run_id] >= nodes:
                return event.run_id
    pytest.fail(f"no run completed {nodes} node(s) within 60 s")


def stop(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    proc.send_signal(sig)
    proc.wait(20)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]


def progressed_run(info: dict[str, Any], home: Path) -> str:
    """The run the waiting client started, once it has made progress (from the stream)."""
    stream = EventStream(info["events"], info["catchup"], curve=client_keys(home))
    try:
        return progressed(stream)
    finally:
        stream.close()


def test_a_client_waits_through_a_killed_engine_started_again(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    with serving(tmp_path, bind) as (proc, info), waiting_client(tmp_path, bind) as client:
        run = progressed_run(info, tmp_path)
        stop(proc, signal.SIGKILL)
        before = completed(db, run)
        assert status(db, run) == "RUNNING"  # as the killed engine left it
        with serving(tmp_path, bind) as (again, restarted):
            assert restarted["resumed"] == [run]
            out, err = client.communicate(timeout=90)
            stop_server(again)
    assert client.returncode == 0, err[-3000:]
    reported = json.loads(out)
    assert (reported["run_id"], reported["status"]) == (run, "COMPLETED")
    after = completed(db, run)
    assert after[: len(before)] == before and len(after) == LOOPS  # each node once
    assert reported["nodes"] == LOOPS


def test_a_client_says_the_engine_is_gone_when_it_does_not_come_back(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    gone_after = {"WEBOTER_ENGINE_GONE_AFTER": f"{GONE_AFTER:g}"}
    with (
        serving(tmp_path, bind) as (proc, info),
        waiting_client(tmp_path, bind, **gone_after) as client,
    ):
        run = progressed_run(info, tmp_path)
        stop(proc, signal.SIGKILL)
        killed = time.monotonic()
        try:
            _out, err = client.communicate(timeout=GONE_AFTER + 30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the client still waits {GONE_AFTER + 30:g} s after the kill")
        took = time.monotonic() - killed
    assert client.returncode not in (0, None)
    assert took <= GONE_AFTER + 10, f"said so only after {took:.1f} s"
    assert f"the engine at {bind} is gone: nothing heard from it for 6 s" in err, err[-3000:]
    assert "weboter serve" in err  # what to do: start it again
    assert run in err
    assert status(db, run) == "RUNNING"  # nothing lost: a restarted engine takes it up


def submitted(commands: str, home: Path, workflow: Workflow) -> str:
    """A run submitted over a DEALER of this process (nobody waits on it)."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, "restarts-submitter")
    connect_client(sock, *client_keys(home))
    sock.connect(commands)
    try:
        job = SubmitJob(command_id="kept-1", workflow=workflow, reply_to="restarts-submitter")
        sock.send_multipart([b"launcher", encode(job)])
        assert sock.poll(20_000), "the engine did not accept the job within 20 s"
        accepted = message_decoder.decode(sock.recv())
        assert isinstance(accepted, JobAccepted), accepted
        return accepted.run_id
    finally:
        sock.close(linger=0)


def paused(stream: EventStream, run_id: str) -> None:
    for event in stream.follow(timeout=60):
        if event.run_id == run_id and event.type == "RunPaused":
            return
    pytest.fail(f"run {run_id} did not pause within 60 s")


def test_a_stopped_engine_started_again_goes_on_with_the_runs_it_drove(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    with serving(tmp_path, bind) as (proc, info):
        stream = EventStream(info["events"], info["catchup"], curve=client_keys(tmp_path))
        try:
            # a run a person paused (from another shell) stays paused across the restart
            kept = submitted(info["commands"], tmp_path, naps(LOOPS * 20))
            progressed(stream, 1, kept)
            asked = cli("pause", kept, home=tmp_path)
            assert asked.returncode == 0, asked.stderr
            paused(stream, kept)
            with waiting_client(tmp_path, bind) as client:
                run = progressed(stream)
                stream.close()
                stop(proc, signal.SIGTERM)
                before = completed(db, run)
                assert status(db, run) == "PAUSED"  # "the engine stopped"
                with serving(tmp_path, bind) as (again, restarted):
                    assert restarted["resumed"] == [run]
                    out, err = client.communicate(timeout=90)
                    stop_server(again)
        finally:
            stream.close()
    assert client.returncode == 0, err[-3000:]
    assert json.loads(out)["status"] == "COMPLETED"
    assert status(db, run) == "COMPLETED"
    assert status(db, kept) == "PAUSED"
    after = completed(db, run)
    assert after[: len(before)] == before  # what was committed before the stop is kept
    assert len(after) == LOOPS  # each node completed once: nothing recorded twice
    log = EventLog(db, create=False)
    try:
        resumed = [to_record(r).event for r in log.stored_of_types(run, ("RunResumed",))]
    finally:
        log.close()
    assert [r.reason for r in resumed] == ["restart"]  # type: ignore[union-attr]


def test_how_long_a_client_waits_for_a_silent_engine_is_set_in_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEBOTER_ENGINE_GONE_AFTER", raising=False)
    assert engine_gone_after() == 20.0  # under the 30 s a waiting user is promised
    monkeypatch.setenv("WEBOTER_ENGINE_GONE_AFTER", "120")
    assert engine_gone_after() == 120.0
    for bad in ("soon", "1", "-5", "inf", "nan"):
        monkeypatch.setenv("WEBOTER_ENGINE_GONE_AFTER", bad)
        with pytest.raises(UsageError, match=r"WEBOTER_ENGINE_GONE_AFTER=.* is not a number"):
            engine_gone_after()
