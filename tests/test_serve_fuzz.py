"""`weboter serve` under a stream of malformed messages from many sockets: every one answered
(one `CommandRejected` each), the engine alive and serving, its open files and memory back
within 10% of where they were (measured once the engine has settled, after two bursts that
warm ZeroMQ's and the allocator's pools)."""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.test_serve import free_ports, start_server, stop_server, submit
from weboter.runtime.transport.security import client_keys, connect_client

pytestmark = pytest.mark.timeout(240)


def footprint(pid: int) -> tuple[int, int]:
    """(resident memory in kB, open file descriptors) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def malformed(rng: random.Random, k: int) -> list[bytes]:
    kind = k % 6
    if kind == 0:
        return [b"launcher", rng.randbytes(rng.randint(1, 200))]  # not msgpack, mostly
    if kind == 1:
        return [b"nowhere", msgspec.msgpack.encode({"type": "Drive", "command_id": str(k)})]
    if kind == 2:
        return [b"launcher", msgspec.msgpack.encode({"type": "SubmitJob", "command_id": str(k)})]
    if kind == 3:
        return [rng.randbytes(8)]  # one frame where two are needed
    if kind == 4:
        return [b"state_manager", msgspec.msgpack.encode([k, "x" * rng.randint(0, 500)])]
    return [b"launcher", msgspec.msgpack.encode({"type": "Nothing", "command_id": str(k)})]


def burst(ctx: zmq.Context[Any], endpoint: str, keys: Any, count: int, sockets: int) -> int:
    """Send `count` malformed messages over `sockets` new DEALERs; the answers received."""
    rng = random.Random(count)
    socks = []
    for i in range(sockets):
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        # new identities each burst: ZeroMQ ignores a connection whose identity is still held
        sock.setsockopt_string(zmq.IDENTITY, f"fuzz-{uuid.uuid4().hex[:8]}-{i}")
        connect_client(sock, *keys)
        sock.connect(endpoint)
        socks.append(sock)
    answers = 0
    try:
        for k in range(count):
            socks[k % sockets].send_multipart(malformed(rng, k))
        for sock in socks:  # each socket's answers; every read bounded
            while answers < count and sock.poll(3000):
                reply = msgspec.msgpack.decode(sock.recv_multipart()[-1])
                assert reply["type"] == "CommandRejected", reply
                answers += 1
                if answers % (count // sockets) == 0:
                    break
    finally:
        for sock in socks:
            sock.close(linger=0)
    return answers


def settled(pid: int) -> tuple[int, int]:
    """The footprint once the engine has closed what the last burst opened: the same fd count
    three reads in a row (bounded: 15 s)."""
    deadline = time.monotonic() + 15
    seen = [footprint(pid)]
    while time.monotonic() < deadline:
        time.sleep(0.1)  # not a sync: the interval between two reads of /proc
        seen.append(footprint(pid))
        if len({fds for _, fds in seen[-3:]}) == 1 and len(seen) >= 3:
            break
    return seen[-1]


def test_ten_thousand_malformed_messages_leave_the_engine_as_it_was(tmp_path: Path) -> None:
    proc, info = start_server(tmp_path, "--bind", f"tcp://127.0.0.1:{free_ports()}")
    ctx = zmq.Context()
    try:
        keys = client_keys(tmp_path)
        for _ in range(2):  # warms ZeroMQ's, CURVE's and the allocator's pools
            assert burst(ctx, info["commands"], keys, 10_000, 20) == 10_000
        before = settled(proc.pid)
        assert burst(ctx, info["commands"], keys, 10_000, 20) == 10_000
        after = settled(proc.pid)
        assert submit(info["commands"], "after-fuzz", keys) == ["JobAccepted", "RunEnded"]
    finally:
        ctx.term()
        stop_server(proc)
    print(f"rss {before[0]} -> {after[0]} kB, fds {before[1]} -> {after[1]}")
    assert after[0] <= before[0] * 1.10
    assert after[1] <= before[1] * 1.10
