"""Which client may act on which run, when clients authenticate with CURVE keys.

A run belongs to the client whose key asked for it (`RunCreated.client`, stamped by the bridge
from the key that authenticated the connection, never taken from the client's message). A
client may stop, step, change, fork, resume and catch up only its own runs; the engine's
*operators* (the key `weboter serve` keeps for programs on its own host) may act on every run;
*readers* may only follow the stream and catch up on every run. (A worker's key does not get
in here at all: it is let in on the worker endpoint only, runtime/transport/security.py.)
An engine without CURVE has no clients to tell apart: it only listens on loopback, and every
sender is an operator.

    owners = RunOwners(db_path, operators=frozenset({local_client_key}))
    owners.refusal(client_key, message)   # None, or why it is refused
"""

from __future__ import annotations

from pathlib import Path

from weboter.runtime.errors import WeboterError
from weboter.runtime.store.reading import Reader
from weboter.schemas.events import RunCreated
from weboter.schemas.messages import CatchUp, Ping, SubmitJob


class RunOwners:
    """Looks owners up in the log (once per run: they never change). Used by one thread."""

    def __init__(
        self,
        db_path: Path | None,
        operators: frozenset[str],
        readers: frozenset[str] = frozenset(),
    ) -> None:
        self.db_path = db_path
        self.operators = operators
        self.readers = readers
        self._owners: dict[str, str] = {}
        self._log: Reader | None = None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def owner(self, run_id: str) -> str | None:
        """The key of the client that asked for `run_id` ("" : the engine's host), or None
        when the log has no such run."""
        if run_id in self._owners:
            return self._owners[run_id]
        if self.db_path is None:
            return None
        try:
            if self._log is None:
                self._log = Reader(self.db_path)
            first = next(iter(self._log.decoded(self._log.events(run_id, limit=1))), None)
        except WeboterError:
            return None
        if first is None or not isinstance(first.event, RunCreated):
            return None
        self._owners[run_id] = first.event.client
        return first.event.client

    def refusal(self, client: str, message: object) -> str | None:
        """Why `client` may not send `message`, or None when it may."""
        if isinstance(message, Ping):
            return None  # is the engine there: every client it lets in may ask; no run read
        if client and client in self.readers:
            if isinstance(message, CatchUp):
                return None  # a reader reads every run
            return (
                f"a reader may only follow the stream and catch up, not send "
                f"{type(message).__name__} (the engine's operator gives roles: serve --allow "
                "for clients, --operator for all runs)"
            )
        if not client or client in self.operators or isinstance(message, SubmitJob):
            return None
        run_id = getattr(message, "run_id", None)
        if run_id is None:
            return "only the engine's operator may read every run: name a run_id you started"
        if self.owner(run_id) != client:
            return (
                f"run {run_id} is not yours: a client may act only on the runs it started "
                "(the engine's operator may act on all)"
            )
        return None
