"""CURVE: with keys configured, only allow-listed clients reach the engine; without keys,
nothing listens beyond loopback."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import zmq

from tests.conftest import flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import TransportError
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import CurveConfig, connect_client
from weboter.schemas.messages import SubmitJob

pytestmark = pytest.mark.timeout(60)

WF = to_workflow(flow(node("a", "SetData", "EndFlow", inputs={"key": "x", "value": 1})), "t")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dealer(
    ctx: zmq.Context[Any],
    endpoint: str,
    identity: str,
    server: CurveConfig,
    keys: tuple[bytes, bytes],
) -> zmq.Socket[Any]:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, identity)
    connect_client(sock, server.public_key, *keys)
    sock.connect(endpoint)
    return sock


def test_only_allow_listed_clients_get_in(db_path: Path) -> None:
    allowed, stranger = zmq.curve_keypair(), zmq.curve_keypair()
    server = CurveConfig.generate().allowing(allowed[0])
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    settings = Settings(db_path=db_path, command_endpoint=endpoint, curve=server)
    with Engine(settings) as engine:
        ctx = zmq.Context()
        try:
            for identity, keys, expect in (
                ("stranger", stranger, False),
                ("friend", allowed, True),
            ):
                sock = dealer(ctx, endpoint, identity, server, keys)
                job = SubmitJob(command_id=identity, workflow=WF, reply_to=identity)
                sock.send_multipart([b"launcher", encode(job)])
                answered = bool(sock.poll(1500))
                assert answered == expect, identity
                if answered:
                    assert type(message_decoder.decode(sock.recv())).__name__ == "JobAccepted"
                sock.close(linger=0)
            # the engine's own in-process clients are unaffected
            client = engine.client()
            run_id = client.submit(WF)
            assert client.wait(run_id, timeout=10).status == "COMPLETED"
        finally:
            ctx.term()


def test_no_listening_beyond_loopback_without_keys(db_path: Path) -> None:
    settings = Settings(db_path=db_path, command_endpoint=f"tcp://0.0.0.0:{free_port()}")
    with pytest.raises(TransportError, match="without authentication"):
        Engine(settings).start()
