"""The actors' tests run on the in-memory transport (no sockets between actors); the bus,
security and serve tests, and everything outside tests/actors, run on ZeroMQ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runner


@pytest.fixture
def runner(db_path: Path) -> Iterator[Runner]:
    r = Runner(
        db_path,
        env={"shop": {"url": "http://shop.test", "password": "hunter2-secret"}},
        transport="memory",
    )
    assert type(r.engine.bridge).__name__ == "MemoryBridge"
    yield r
    r.close()
