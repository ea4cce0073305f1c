"""`weboter run --engine` asks whether the engine is there with a `Ping` (docs/protocol.md):
the engine's log has no refusal for an allowed client's run, a client written from the docs
gets its `Pong`, and a client acting on another's run is still refused, named readably."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.conftest import weboter
from tests.test_serve import free_ports, start_server
from weboter.runtime.transport.peers import shown

pytestmark = pytest.mark.timeout(90)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def key_file(path: Path) -> dict[str, str]:
    public, secret = zmq.curve_keypair()
    pair = {"public": public.decode(), "secret": secret.decode()}
    path.write_text(json.dumps(pair))
    return pair


def dealer(endpoint: str, home: Path, pair: dict[str, str], identity: bytes) -> Any:
    """A DEALER as a client written from docs/protocol.md makes it (no helper of ours)."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.curve_serverkey = (home / "keys" / "serving.pub").read_text().strip().encode()
    sock.curve_publickey = pair["public"].encode()
    sock.curve_secretkey = pair["secret"].encode()
    sock.connect(endpoint)
    return sock


def answer(sock: Any, message: dict[str, Any]) -> dict[str, Any]:
    sock.send(msgspec.msgpack.encode(message))
    assert sock.poll(10_000), f"no answer to {message['type']} within 10 s"
    return msgspec.msgpack.decode(sock.recv())  # type: ignore[no-any-return]


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, and everything the engine logged."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    return err


def test_an_allowed_clients_run_leaves_no_refusal_and_a_stranger_is_named_readably(
    tmp_path: Path,
) -> None:
    home = tmp_path / "engine"
    mine, other = key_file(tmp_path / "mine.json"), key_file(tmp_path / "other.json")
    port = free_ports()
    proc, info = start_server(
        home,
        "--bind",
        f"tcp://127.0.0.1:{port}",
        *("--allow", mine["public"], "--allow", other["public"]),
    )
    try:
        run = weboter(
            *("run", "--json", str(EXAMPLES / "counter.json"), "--var", "target=3"),
            *("--engine", info["commands"], "--curve-key", str(tmp_path / "mine.json")),
            *("--server-key", str(home / "keys" / "serving.pub")),
            home=tmp_path / "client",
        )
        assert run.returncode == 0, run.stderr
        run_id = json.loads(run.stdout)["run_id"]
        # a client from the docs: Ping on the catch-up endpoint, answered without a run
        pinger = dealer(info["catchup"], home, mine, b"doc-pinger")
        pong = answer(pinger, {"type": "Ping", "reply_to": "doc-pinger"})
        assert pong["type"] == "Pong"
        assert len(pong["engine"]) == 16
        assert pong["last_seq"] >= 1
        pinger.close()
        # another allowed client may not read that run: refused, and logged by a readable id
        foreign = dealer(info["catchup"], home, other, b"foreign-1")
        refused = answer(foreign, {"type": "CatchUp", "reply_to": "foreign-1", "run_id": run_id})
        assert refused["type"] == "CommandRejected"
        assert "is not yours" in refused["error"]["message"]
        foreign.close()
        binary = dealer(info["catchup"], home, other, b"\xff\xfe\x01")
        refused = answer(binary, {"type": "CatchUp", "reply_to": "x", "run_id": run_id})
        assert (
            "reply_to must be your own socket identity (0xfffe01)" in (refused["error"]["message"])
        )
        binary.close()
    finally:
        err = stop(proc)
    refusals = [line for line in err.splitlines() if "refused" in line]
    assert len(refusals) == 2, err  # the two strangers' only: none for the allowed run
    assert f"refused a message from client foreign-1: run {run_id} is not yours" in refusals[0]
    assert "refused a message from client 0xfffe01: reply_to must be" in refusals[1]
    assert "b'" not in err and 'b"' not in err, err


def test_shown_identities_are_text_or_short_hex() -> None:
    assert shown(b"client-1a2b") == "client-1a2b"
    assert shown(b"\x00*\xe8\x01\x02") == "0x002ae80102"
    assert shown("caf\u00e9") == "caf\u00e9"
    assert shown("a\x00b") == "0x610062"
    assert shown(b"") == "(empty)"
    assert shown(b"x" * 100) == "x" * 37 + "..."
    assert len(shown(bytes(range(256)))) == 40
    assert shown(b"\xff-x".decode(errors="surrogateescape")) == "0xff2d78"
    assert shown("\ud800") == "0x5c7564383030"
