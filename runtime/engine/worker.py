"""`weboter worker`: a process that runs nodes for an engine's broker (actors/broker.py), with
its own Chromium — on the engine's machine or another.

One Node Runner actor (the same as in an all-in-one engine) on a `WorkerLink`; this loop owns
the DEALER socket to the broker (CURVE, the worker's own key): it says READY, beats every
`heartbeat` seconds, passes messages both ways, and uploads the artifacts the runner stored
before the message naming them. An engine not heard from for `LIVENESS` beats is presumed gone:
the worker drops its runs' browsers (another worker, or this one, puts them back from the
log), and connects again after 1, 2, 4 ... 32 s.

    worker = Worker(WorkerSettings(connect="tcp://10.0.0.5:5603", keys=...))
    worker.run(stop_event, ready=print)
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import zmq

from weboter.actors.node_runner import NodeRunner
from weboter.runtime.actions import default_catalog
from weboter.runtime.browser.evidence import EvidencePolicy
from weboter.runtime.browser.host import BrowserHost
from weboter.runtime.core.references import EnvSource
from weboter.runtime.store.workspace import Workspace
from weboter.runtime.transport.actor import started_ok, stop_actor
from weboter.runtime.transport.addresses import NODE_RUNNER
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.link import UploadingStore, WorkerLink
from weboter.runtime.transport.security import connect_client
from weboter.runtime.workers.reports import read
from weboter.schemas.messages import CancelNode, ReleaseRun
from weboter.schemas.workers import (
    ART,
    BEAT,
    BYE,
    GONE,
    HEARTBEAT,
    LEASE,
    LIVENESS,
    MSG,
    READY,
    RunLease,
    WorkerReady,
)

log = logging.getLogger(__name__)

BACKOFF_MAX = 32.0
NEVER_HEARD = (
    " (if `weboter serve --workers` is up there: is this worker's public key given to it with "
    "--worker, and is --server-key the server_public_key it printed? its log says when it "
    "refuses a key)"
)
_lease = msgspec.msgpack.Decoder(RunLease)


@dataclass
class WorkerSettings:
    connect: str  # the broker's endpoint (serve's base port + 3)
    home: Path  # the cache of artifacts, and the default workspace, live here
    keys: tuple[bytes, bytes, bytes] | None = None  # (engine public, own public, own secret)
    capacity: int = 4
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    env: EnvSource = field(default_factory=lambda: EnvSource(use_os=False))
    workspace: Path | None = None
    allow_paths: list[Path] = field(default_factory=list)
    allow_hosts: list[str] = field(default_factory=list)  # runs may reach only these (if any)
    browser: str | None = None
    headless: bool = True
    evidence: EvidencePolicy = "on_error"
    node_timeout: float = 600.0
    heartbeat: float = HEARTBEAT


class Worker:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.context: zmq.Context[Any] = zmq.Context()
        self.link = WorkerLink(self.context)
        self.artifacts = UploadingStore(settings.home / "worker-cache" / "artifacts")
        self.runs: set[str] = set()  # the runs leased to this worker
        self.dropped: set[str] = set()  # runs given up with a session: their reports are void
        self._unsent: collections.deque[list[bytes]] = collections.deque()

    def run(self, stop: threading.Event, ready: Callable[[dict[str, Any]], None]) -> None:
        """Serve the broker until `stop` is set; `ready(info)` once the runner is up."""
        s = self.settings
        beside = Workspace.beside(s.home / "weboter.db", s.workspace, s.allow_paths)
        # the log's files, the keys and this worker's cache are off limits to workflows
        workspace = Workspace(
            beside.root,
            beside.allowed,
            (*beside.protected, Path(os.path.realpath(self.artifacts.root.parent))),
        )
        runner = NodeRunner.start(
            self.link,
            default_catalog(),
            s.env,
            artifacts=self.artifacts,
            evidence=s.evidence,
            browser=BrowserHost(
                executable=s.browser,
                headless=s.headless,
                files=workspace,
                allow_hosts=s.allow_hosts,
                holder="this `weboter worker`",
            ),
            restore="captured",  # no log here to re-drive from: put back, or say how it differs
            workspace=workspace,
            node_timeout=s.node_timeout or None,
            forget_env=False,  # this loop gives and forgets each run's values, in order
        )
        try:
            started_ok(runner)
            ready({"worker": s.name, "connect": s.connect, "capacity": s.capacity})
            backoff, last = 1.0, ""
            while not stop.is_set():
                ended = self._session(stop)
                if ended == "gone" and last != "gone":  # it forgot us: at once, anew (once)
                    last = ended
                    continue
                last = ended
                if ended == "heard":  # it was there: start the backoff over
                    backoff = 1.0
                if stop.wait(backoff):  # not a sync: the protocol's reconnect backoff
                    break
                backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            stop_actor(runner, timeout=30)
            self.link.stop()
            self.context.term()

    def _session(self, stop: threading.Event) -> str:
        """One connection to the broker, until it is presumed gone, says GONE, or `stop`:
        "gone" (it does not know this worker), "heard" (it answered, then fell silent) or
        "silent" (it never answered)."""
        s = self.settings
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 0)  # a report waits for the connection, never dropped
        if s.keys is not None:
            connect_client(sock, *s.keys)
        sock.connect(s.connect)
        self._unsent.clear()  # a new connection: what the old one could not send is void
        self._say(sock, [READY, encode(WorkerReady(name=s.name, capacity=s.capacity))])
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self.link.wake_r, zmq.POLLIN)
        heard = time.monotonic()
        ended = "silent"
        next_beat = heard + s.heartbeat
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - heard > s.heartbeat * LIVENESS:
                    log.warning(
                        "worker: engine at %s not heard for %.0f s; reconnecting%s",
                        s.connect,
                        now - heard,
                        NEVER_HEARD if ended == "silent" else "",
                    )
                    return ended
                if now >= next_beat:
                    self._say(sock, [BEAT])
                    next_beat = now + s.heartbeat
                wait = min(next_beat - now, 0.5)  # wakes to look at `stop` too
                events = dict(poller.poll(max(int(wait * 1000), 1)))
                if self.link.wake_r in events:
                    self.link.drain_wake()
                self._send_pending(sock)
                while sock.poll(0):
                    heard, ended = time.monotonic(), "heard"
                    if self._from_broker(sock.recv_multipart()):
                        return "gone"
            self._say(sock, [BYE])  # stopping: the engine places our runs elsewhere at once
            return ended
        finally:
            self._drop_runs()
            sock.close(linger=500 if stop.is_set() else 0)  # a BYE gets half a second to go

    def _from_broker(self, frames: list[bytes]) -> bool:
        """Handle one message; True when the broker does not know this worker (start over)."""
        kind = frames[0] if frames else b""
        if kind == MSG and len(frames) == 2:
            message = message_decoder.decode(frames[1])
            if isinstance(message, ReleaseRun):
                self.runs.discard(message.run_id)
                self.settings.env.forget(message.run_id)
            self.link.deliver(NODE_RUNNER, frames[1])
        elif kind == LEASE and len(frames) == 2:
            lease = _lease.decode(frames[1])
            self.runs.add(lease.run_id)
            self.dropped.discard(lease.run_id)
            self.settings.env.give(lease.run_id, lease.env)
            for address, data in lease.artifacts.items():
                self.artifacts.keep(address, data)
        elif kind == GONE:
            log.warning("worker: the engine does not know this worker (any more); starting over")
            return True
        elif kind != BEAT:
            log.warning("worker: dropped a message of kind %r from the engine", kind[:20])
        return False

    def _send_pending(self, sock: zmq.Socket[Any]) -> None:
        for dest, payload in self.link.pending():
            if self.dropped and read(payload).run_id in self.dropped:
                continue  # a node of a run given up with an old session: nobody wants it
            for address, data in self.artifacts.fresh():
                self._say(sock, [ART, address.encode(), data])
            self._say(sock, [MSG, dest.encode(), payload])
        self._say(sock, None)  # what waits goes out as far as the connection takes it

    def _say(self, sock: zmq.Socket[Any], frames: list[bytes] | None) -> None:
        """Send without ever blocking: a connection not up yet (or a handshake refused) takes
        nothing; what it cannot take waits, in order, for this connection."""
        if frames is not None:
            self._unsent.append(frames)
        while self._unsent:
            try:
                sock.send_multipart(self._unsent[0], zmq.NOBLOCK)
            except zmq.Again:
                return
            self._unsent.popleft()

    def _drop_runs(self) -> None:
        """Give up the runs this worker held: their nodes are cancelled, their browsers
        closed, their reports void; whoever runs them next puts them back from the log."""
        for run_id in self.runs:
            self.link.deliver(NODE_RUNNER, encode(CancelNode(run_id=run_id)))
            self.link.deliver(NODE_RUNNER, encode(ReleaseRun(run_id=run_id)))
            self.settings.env.forget(run_id)
        self.dropped |= self.runs
        self.runs.clear()
        self.link.pending()  # what the runner said in the old session is void
        self.artifacts.fresh()
