"""The UI's live stream: the log's new events as server-sent events whose `id` is the event's
seq. Every process writes to the log (this UI's engine, `weboter run` in a shell, `serve`), so
the stream follows the log's tail; a page that reconnects sends `Last-Event-ID` (browsers do
this themselves) and gets every event after it first — a catch-up from the log, no gap.

Each event is small ({seq, run_id, type, node_id}): the page asks for what it shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgspec
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from weboter.runtime.errors import WeboterError
from weboter.runtime.store.reading import Reader

POLL_SECONDS = 0.2  # how often the tail is read when nothing new came
BATCH = 1000  # events read per query (a long catch-up comes in several)


class _Node(msgspec.Struct):
    node_id: str = ""


_node = msgspec.msgpack.Decoder(_Node)


def stream(request: Request, db_path: Path) -> EventSourceResponse:
    """`GET /api/stream[?run=ID]`: events after `Last-Event-ID` (or `?after=SEQ`; default:
    from now), then live."""
    run = request.query_params.get("run") or None
    after = request.headers.get("last-event-id") or request.query_params.get("after")
    start = int(after) if after and after.isascii() and after.isdigit() else None
    return EventSourceResponse(_events(db_path, run, start), ping=15)


async def _events(db_path: Path, run: str | None, after: int | None) -> AsyncIterator[Any]:
    last = after if after is not None else await anyio.to_thread.run_sync(_last_seq, db_path)
    yield ServerSentEvent(json.dumps({"type": "hello", "seq": last}), event="hello", id=str(last))
    while True:
        try:
            rows = await anyio.to_thread.run_sync(_after, db_path, last, run)
        except WeboterError:  # the log is busy for a moment: read again
            rows = []
        for row in rows:
            last = max(last, row["seq"])
            yield ServerSentEvent(json.dumps(row), event="log", id=str(row["seq"]))
        if not rows:
            await anyio.sleep(POLL_SECONDS)  # not a sync: the pace of reading the log's tail


def _last_seq(db_path: Path) -> int:
    with Reader(db_path) as reader:
        return reader.last_seq()


def _after(db_path: Path, seq: int, run: str | None) -> list[dict[str, Any]]:
    with Reader(db_path) as reader:
        rows = reader.events(run, after=seq, limit=BATCH)
    found = []
    for row in rows:
        try:
            node = _node.decode(row.payload).node_id
        except msgspec.DecodeError:
            node = ""
        found.append(
            {
                "seq": row.seq,
                "run_id": row.run_id,
                "type": row.type,
                "node_id": node or None,
            }
        )
    return found
