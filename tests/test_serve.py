"""`weboter serve`: a real engine process; a client in this process submits over ZeroMQ,
follows the event stream, and the server stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zmq

from tests.conftest import flow, node
from tests.incli import cli
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import CurveConfig, client_keys, connect_client
from weboter.runtime.transport.subscriber import EventStream
from weboter.schemas.messages import RunEnded, SubmitJob
from weboter.schemas.workflow import Workflow

pytestmark = pytest.mark.timeout(90)

WF = to_workflow(
    flow(node("a", "SetData", "EndFlow", inputs={"key": "$global{x}", "value": 7})), "t"
)


def free_ports() -> int:
    """A port P with P .. P+3 free on loopback (serve binds four with --workers)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port > 65000:
            continue
        try:
            for extra in (1, 2, 3):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port + extra))
            return port
        except OSError:
            continue
    raise RuntimeError("no free ports")


def start_server(home: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", "serve", "--json", *args],
        env={**os.environ, "WEBOTER_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    text = ""
    for line in proc.stdout:
        text += line
        if line.rstrip() == "}":
            break
    if not text.rstrip().endswith("}"):  # it exited: say why rather than fail on the JSON
        proc.kill()
        _, err = proc.communicate(timeout=20)
        pytest.fail(f"weboter serve exited {proc.returncode}: {err[-2000:]}")
    return proc, json.loads(text)


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]


def submit(
    endpoint: str,
    identity: str,
    curve: tuple[bytes, bytes, bytes] | None = None,
    workflow: Workflow = WF,
    ended: list[RunEnded] | None = None,
) -> list[str]:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, identity)
    if curve is not None:
        connect_client(sock, *curve)
    sock.connect(endpoint)
    sock.send_multipart(
        [
            b"launcher",
            encode(SubmitJob(command_id=identity, workflow=workflow, reply_to=identity)),
        ]
    )
    kinds = []
    while sock.poll(3000):
        message = message_decoder.decode(sock.recv())
        kinds.append(type(message).__name__)
        if isinstance(message, RunEnded):
            if ended is not None:
                ended.append(message)
            break
    sock.close(linger=0)
    return kinds


def test_serve_takes_jobs_and_streams_events(tmp_path: Path) -> None:
    port = free_ports()
    proc, info = start_server(tmp_path, "--bind", f"tcp://127.0.0.1:{port}")
    try:
        assert info["commands"] == f"tcp://127.0.0.1:{port}"
        keys = client_keys(tmp_path)  # made by the server in its home, mode 0600
        assert (tmp_path / "keys" / "client.json").stat().st_mode & 0o777 == 0o600
        assert info["server_public_key"] == keys[0].decode()
        assert submit(info["commands"], "no-key") == []  # loopback too: no key, no answer
        stream = EventStream(info["events"], info["catchup"], curve=keys)
        try:
            assert submit(info["commands"], "client-1", keys) == ["JobAccepted", "RunEnded"]
            types = [e.type for e in stream.follow(timeout=10, idle=1.0)]
        finally:
            stream.close()
        assert types[0] == "RunCreated"
        assert types[-1] == "RunCompleted"
    finally:
        stop_server(proc)
    runs = json.loads(cli("runs", "--json", home=tmp_path).stdout)
    assert [r["status"] for r in runs] == ["COMPLETED"]


def test_serve_with_curve_lets_in_only_allowed_keys(tmp_path: Path) -> None:
    server = CurveConfig.generate()
    key_file = tmp_path / "server.json"
    key_file.write_text(
        json.dumps({"public": server.public_key.decode(), "secret": server.secret_key.decode()})
    )
    friend, stranger = zmq.curve_keypair(), zmq.curve_keypair()
    port = free_ports()
    proc, info = start_server(
        tmp_path,
        "--bind",
        f"tcp://127.0.0.1:{port}",
        "--curve-key",
        str(key_file),
        "--allow",
        friend[0].decode(),
    )
    try:
        assert info["server_public_key"] == server.public_key.decode()
        assert submit(info["commands"], "stranger", (server.public_key, *stranger)) == []
        assert submit(info["commands"], "friend", (server.public_key, *friend)) == [
            "JobAccepted",
            "RunEnded",
        ]
    finally:
        stop_server(proc)


def test_serve_on_a_taken_port_says_so_and_exits(tmp_path: Path) -> None:
    ctx = zmq.Context.instance()
    taken = ctx.socket(zmq.PUB)
    taken.setsockopt(zmq.LINGER, 0)
    port = free_ports()
    taken.bind(f"tcp://127.0.0.1:{port + 2}")  # the events port: bound last, by the bus
    try:
        result = cli("serve", "--bind", f"tcp://127.0.0.1:{port}", home=tmp_path)
    finally:
        taken.close()
    assert result.returncode == 1
    assert f"tcp://127.0.0.1:{port + 2} is already in use" in result.stderr
    assert "choose other ports" in result.stderr


def test_serve_refuses_other_hosts_without_keys(tmp_path: Path) -> None:
    result = cli("serve", "--bind", f"tcp://0.0.0.0:{free_ports()}", home=tmp_path)
    assert result.returncode == 2
    assert "refusing to listen on" in result.stderr
    assert "--curve-key" in result.stderr


def test_served_workflows_see_only_the_environment_the_engine_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_SECRET", "do-not-leak-this")
    monkeypatch.setenv("SHOP_TOKEN", "shop-token-123")
    reader = to_workflow(
        flow(
            node(
                "read",
                "SetData",
                "EndFlow",
                inputs={"key": "$global{got}", "value": "$env{ENGINE_SECRET}"},
            )
        ),
        "t",
    )
    allowed = to_workflow(
        flow(
            node(
                "read",
                "SetData",
                "EndFlow",
                inputs={"key": "$global{got}", "value": "$env{SHOP_TOKEN}"},
            )
        ),
        "t",
    )
    port = free_ports()
    proc, info = start_server(tmp_path, "--bind", f"tcp://127.0.0.1:{port}", "--env-allow", "SHOP_")
    try:
        keys = client_keys(tmp_path)
        ended: list[RunEnded] = []
        submit(info["commands"], "c1", keys, reader, ended)
        submit(info["commands"], "c2", keys, allowed, ended)
    finally:
        stop_server(proc)
    assert ended[0].status == "FAILED"
    assert ended[0].error is not None
    assert "ENGINE_SECRET" in ended[0].error.message
    assert ended[1].status == "COMPLETED"


def test_a_key_that_starts_with_a_dash_is_a_key() -> None:
    from weboter.runtime.cli.serving import keys_attached  # noqa: PLC0415

    assert keys_attached(["serve", "--allow", "-abc", "--operator", "--x", "--json"]) == [
        "serve",
        "--allow=-abc",
        "--operator=--x",
        "--json",
    ]
