"""What docs/protocol.md tells a client written from it alone, against a real `weboter serve`:
the key files (read by path, no helper of the project), the server's public key in
`keys/serving.pub`, stopping a run with `Stop` (a client's `StopRun` is refused as internal),
and `EventBatch.last_seq` to continue a catch-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.conftest import flow, node
from tests.test_serve import free_ports, start_server, stop_server

pytestmark = pytest.mark.timeout(90)

PAUSES = flow(
    node("a", "SetData", inputs={"key": "$global{x}", "value": 1}, params={"next_node": "b"}),
    node("b", "EmptyAction", "EndFlow"),
)


class Client:
    """A DEALER speaking the documented frames with plain msgpack maps."""

    def __init__(self, endpoint: str, home: Path, identity: str) -> None:
        keys = home / "keys"
        mine = json.loads((keys / "client.json").read_text())
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt_string(zmq.IDENTITY, identity)
        self.sock.curve_serverkey = (keys / "serving.pub").read_text().strip().encode()
        self.sock.curve_publickey = mine["public"].encode()
        self.sock.curve_secretkey = mine["secret"].encode()
        self.sock.connect(endpoint)
        self.identity = identity

    def send(self, *frames: Any) -> None:
        *dest, message = frames
        self.sock.send_multipart([*dest, msgspec.msgpack.encode(message)])

    def receive(self, type_: str) -> dict[str, Any]:
        """The next answer of `type_` (others skipped), within 10 s."""
        while self.sock.poll(10_000):
            answer = msgspec.msgpack.decode(self.sock.recv())
            if answer["type"] == type_:
                return answer  # type: ignore[no-any-return]
        raise AssertionError(f"no {type_} within 10 s")

    def close(self) -> None:
        self.sock.close(linger=0)


def test_a_client_from_the_docs_finds_the_key_stops_a_run_and_catches_up(tmp_path: Path) -> None:
    port = free_ports()
    proc, info = start_server(tmp_path, "--bind", f"tcp://127.0.0.1:{port}")
    me = Client(info["commands"], tmp_path, "doc-client")
    reader = Client(info["catchup"], tmp_path, "doc-reader")
    try:
        assert (tmp_path / "keys" / "serving.pub").read_text().strip() == info["server_public_key"]
        me.send(
            b"launcher",
            {
                "type": "SubmitJob",
                "command_id": "job-1",
                "reply_to": me.identity,
                "workflow": PAUSES,
                "start": None,  # created, LOADED: a breakpoint first
            },
        )
        run_id = me.receive("JobAccepted")["run_id"]
        me.send(
            b"state_manager",
            {
                "type": "SetBreakpoint",
                "command_id": "bp-1",
                "run_id": run_id,
                "reply_to": me.identity,
                "breakpoint": {"id": "at-b", "when": "before", "node_id": "b"},
            },
        )
        assert me.receive("Committed")["command_id"] == "bp-1"
        me.send(
            b"continuous_executor",
            {"type": "Drive", "command_id": "go-1", "run_id": run_id, "reply_to": me.identity},
        )
        assert me.receive("RunEnded")["status"] == "PAUSED"
        # StopRun is the engine's own: a client is refused, and the run is untouched
        me.send(
            b"state_manager",
            {"type": "StopRun", "command_id": "s-1", "run_id": run_id, "reply_to": me.identity},
        )
        refused = me.receive("CommandRejected")
        assert refused["error"]["message"].startswith("bad message:")
        # Stop, to an executor, as the docs say: the run is STOPPED
        me.send(
            b"continuous_executor",
            {"type": "Stop", "command_id": "s-2", "run_id": run_id, "reply_to": me.identity},
        )
        assert me.receive("RunEnded")["status"] == "STOPPED"
        # catch-up in batches of 2: each batch's last_seq is where the next one starts
        seqs: list[int] = []
        after = 0
        while True:
            reader.send(
                {
                    "type": "CatchUp",
                    "reply_to": reader.identity,
                    "after_seq": after,
                    "run_id": run_id,
                    "batch": 2,
                }
            )
            batch = reader.receive("EventBatch")
            got = [e["seq"] for e in batch["events"]]
            seqs += got
            assert batch["last_seq"] == (got[-1] if got else after)
            after = batch["last_seq"]
            if batch.get("done"):
                break
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) > 2
    finally:
        me.close()
        reader.close()
        stop_server(proc)
