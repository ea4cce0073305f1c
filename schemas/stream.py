"""What a subscriber of the event stream and a catch-up client receive (docs/protocol.md).

An event has the same shape both ways: a header (`EventHeader`: seq, prev_seq, run, version,
type, ...) and the event itself, a msgpack map exactly as stored in the log. On the live
stream they are two frames; in a catch-up batch they are one `CaughtUp` item, the stored map
inlined (never bytes inside bytes).
"""

from __future__ import annotations

import msgspec

from weboter.schemas.base import _Msg


class EventHeader(msgspec.Struct, frozen=True):
    """The second frame of a published event: where it stands in the log and in its run.
    `prev_seq` is the seq of the same run's previous event (0 for its first): a subscriber
    that has seen seq S of a run and gets `prev_seq > S` missed something."""

    seq: int
    prev_seq: int
    run_id: str
    run_version: int
    type: str
    schema_version: int
    command_id: str
    recorded_at: float


class CaughtUp(EventHeader, frozen=True):
    """One committed event in a catch-up batch: the header's fields, and `event`, the
    stored event (a map with its `type`), inlined as it is in the log."""

    event: msgspec.Raw


class Heartbeat(msgspec.Struct, frozen=True):
    """Published on the topic `heartbeat` about once a second: the newest seq committed and
    published so far. A subscriber whose newest seen seq is lower lost the tail of a stream
    (or nothing was published since): it catches up after what it has. `engine` is new each
    time the engine starts: a client that sees it change knows the engine restarted, and that
    answers it was waiting for went with the old one (it reads the log instead)."""

    heartbeat: bool
    last_seq: int
    at: float
    engine: str = ""


class Ping(_Msg, frozen=True):
    """Client -> `bus`: is an engine there, and does it let me in? Any client the engine
    admits may ask (readers too); it reads no run. Answered by `Pong`."""

    reply_to: str


class Pong(_Msg, frozen=True):
    """The answer to `Ping`: the engine's id (as its heartbeats carry it, new at each start)
    and the newest seq it has committed."""

    engine: str
    last_seq: int = 0
