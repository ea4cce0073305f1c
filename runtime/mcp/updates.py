"""Resource updates for MCP subscribers, fed from the log: whoever drives a run (this server,
`weboter run` in a shell, `serve`), each node it completes, fails or pauses at, and each start
and end, tell a client listening to `weboter://runs/{run_id}/snapshot` to read it again (and
listeners to `weboter://runs` that the list changed): a listener of the 2026-07-28 protocol
through the SDK's bus, a client of an earlier one that sent `resources/subscribe` through
`Subscribers` (runtime/mcp/legacy.py).

The log is the one place every process writes to, so the server follows its tail: it reads
the events after the last one it saw, every `POLL_SECONDS`, in a worker thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import SubscriptionBus
from mcp.shared.subscriptions import ResourceUpdated

from weboter.runtime.errors import WeboterError
from weboter.runtime.mcp.legacy import Subscribers
from weboter.runtime.store.reading import Reader

POLL_SECONDS = 0.2
NOTIFIED = {  # the events that change what a snapshot shows
    "RunCreated",
    "RunStarted",
    "RunResumed",
    "NodeCompleted",
    "NodeFailed",
    "SubFlowEntered",
    "SubFlowReturned",
    "RunPaused",
    "RunCompleted",
    "RunFailed",
    "RunStopped",
    "VariableSet",
    "RunRewound",
    "JumpedTo",
}


def following(db: Path, bus: SubscriptionBus, legacy: Subscribers) -> Any:
    """The server's lifespan: follow the log's tail while the server runs, publishing on
    `bus` (the server's subscription bus) and to `legacy` subscribers."""

    @contextlib.asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as group:
            group.start_soon(_follow, bus, legacy, db)
            try:
                yield {}
            finally:
                group.cancel_scope.cancel()

    return lifespan


async def _follow(bus: SubscriptionBus, legacy: Subscribers, db: Path) -> None:
    last = await anyio.to_thread.run_sync(_last_seq, db)
    while True:
        await anyio.sleep(POLL_SECONDS)  # not a sync: the pace of following the log's tail
        try:
            rows = await anyio.to_thread.run_sync(_after, db, last)
        except WeboterError:  # the log is busy or gone for a moment: try again later
            continue
        for seq, run_id, type_ in rows:
            last = seq
            if type_ in NOTIFIED:
                await _updated(bus, legacy, f"weboter://runs/{run_id}/snapshot")
            if type_ in ("RunCreated", "RunCompleted", "RunFailed", "RunStopped"):
                await _updated(bus, legacy, "weboter://runs")


async def _updated(bus: SubscriptionBus, legacy: Subscribers, uri: str) -> None:
    await bus.publish(ResourceUpdated(uri=uri))
    await legacy.updated(uri)


def _last_seq(db: Path) -> int:
    with Reader(db) as log:
        return log.last_seq()


def _after(db: Path, seq: int) -> list[tuple[int, str, str]]:
    with Reader(db) as log:
        return [(r.seq, r.run_id, r.type) for r in log.events(after=seq, limit=1000)]
