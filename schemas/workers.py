"""What an engine's broker and its worker processes say to each other (docs/protocol.md,
"Workers"). Frames on the worker endpoint, the first one naming the kind:

    worker -> broker   [READY, WorkerReady]   I am here, with this many slots
                       [BEAT]                 still alive (every heartbeat interval)
                       [ART, address, bytes]  an artifact the next message refers to
                       [MSG, dest, payload]   a message from the worker's Node Runner
                       [BYE]                  stopping: place my runs elsewhere now
    broker -> worker   [BEAT]                 still alive
                       [LEASE, RunLease]      a run is yours: what its nodes need
                       [MSG, payload]         a message for the worker's Node Runner
                       [GONE]                 I do not know you (any more): drop your runs,
                                              say READY again

A `payload` is a message of schemas/messages.py, encoded once by its sender, as everywhere.
"""

from __future__ import annotations

from typing import Any

import msgspec

HEARTBEAT = 2.5  # seconds between beats, both ways
LIVENESS = 3  # beats missed before the other side is presumed gone

READY = b"READY"
BEAT = b"BEAT"
ART = b"ART"
MSG = b"MSG"
LEASE = b"LEASE"
GONE = b"GONE"
BYE = b"BYE"


class WorkerReady(msgspec.Struct, frozen=True):
    """A worker announces itself: a name for the log (host:pid), and how many nodes it runs
    at once (`capacity`)."""

    name: str
    capacity: int = 4


class RunLease(msgspec.Struct, frozen=True):
    """The run is this worker's until it ends or the worker is lost: the `$env` values the
    run's client sent (kept in memory only), and the stored artifacts its browser is put back
    from (content-addressed: `address -> bytes`)."""

    run_id: str
    env: dict[str, Any] = {}
    artifacts: dict[str, bytes] = {}
