"""A real `weboter mcp --http` subprocess on loopback, and the SDK's client for it (with a bearer
token, or none, as a test needs)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import wait_for


def command(db: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "weboter.runtime.cli.main", "mcp", "--db", str(db), *more]


@dataclass
class Served:
    """A running server: what it printed (`--json`) and everything it wrote."""

    process: subprocess.Popen[bytes]
    info: dict[str, Any] = field(default_factory=dict)
    stdout: list[bytes] = field(default_factory=list)
    stderr: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def token(self) -> str:
        """The token, read the way a client on this host reads it: from the file named."""
        return Path(self.info["token_file"]).read_text(encoding="utf-8").strip()

    def said(self) -> bytes:
        return b"".join(self.stdout + self.stderr)


@contextlib.contextmanager
def mcp_http(db: Path, *more: str, umask: int = -1) -> Iterator[Served]:
    """`weboter mcp --http 127.0.0.1:0 --json ...`, up until the block ends (then SIGTERM)."""
    process = subprocess.Popen(
        command(db, "--http", "127.0.0.1:0", "--json", *more),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        umask=umask,
    )
    served = Served(process)
    readers = [_drain(process.stdout, served.stdout), _drain(process.stderr, served.stderr)]
    try:

        def listening() -> dict[str, Any] | None:
            if process.poll() is not None:
                raise AssertionError(f"weboter mcp ended: {served.said().decode()}")
            try:
                return json.loads(b"".join(served.stdout))  # type: ignore[no-any-return]
            except ValueError:
                return None  # not all of it printed yet

        served.info = wait_for(listening, "the MCP server's address", timeout=60)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _drain(stream: IO[bytes] | None, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        assert stream is not None
        for line in stream:
            into.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@contextlib.asynccontextmanager
async def client_of(url: str, token: str | None = None) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP, sending `Authorization: Bearer token` if given
    (how an MCP host configured with that header connects)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client
