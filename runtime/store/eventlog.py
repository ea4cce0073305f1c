"""The event log: an SQLite file or a PostgreSQL database (runtime/store/location.py says
which, runtime/store/database.py what each gives); writers go through RunStore
(runtime/store/runstore.py), any number of readers.

Storage rules (each one a test in tests/store/test_log_contract.py, run on both databases):
1. `seq` is global, assigned at append, never reused (AUTOINCREMENT; an identity column);
   commit order = seq order (one writer at a time: `BEGIN IMMEDIATE`; the `events` lock).
2. `(run_id, run_version)` is unique: a run's events are totally ordered, with no gaps.
3. All events of one command are appended in one transaction, or, with
   durability `batch`, in one savepoint of a transaction that groups commands until it is
   due or the writer commits it (runtime/store/transactions.py). A crash loses at most that
   uncommitted group, never part of a command.
4. A command id that already produced events produces none again (`commands` has its id as
   primary key, inserted in the same transaction); the earlier events are returned instead.
   The one exception is a command its writer made itself and never sent (the result of a node
   the State Manager ran inline): nobody can send it again, so its id is not kept.
5. Payloads are msgpack of tagged Structs; `schema_version` says how to read them (upcast.py).
6. Events are never updated or deleted. Snapshots are a cache: dropping them loses nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from weboter.runtime.errors import LogCorrupt, LogUnavailable
from weboter.runtime.store.database import Database
from weboter.runtime.store.listing import RunListing
from weboter.runtime.store.location import postgres_url
from weboter.runtime.store.runs import LEASE_SECONDS, this_host
from weboter.runtime.store.transactions import Transactions
from weboter.runtime.store.upcast import upcast
from weboter.schemas.events import SCHEMA_VERSIONS, Event, EventRecord
from weboter.schemas.messages import StoredEvent
from weboter.schemas.state import RunState

Durability = Literal["sync", "full", "batch"]

ROWS_PER_INSERT = 500  # events per INSERT statement (SQLite allows 32766 parameters)
_encoder = msgspec.msgpack.Encoder()
_event_decoder = msgspec.msgpack.Decoder(Event)
_state_decoder = msgspec.msgpack.Decoder(RunState)


class DuplicateCommand(Exception):
    """The command id already produced events; nothing was appended (rule 4). Internal to the
    store: RunStore answers with the earlier events."""


class VersionConflict(Exception):
    """Another writer appended to the run first (rule 2); nothing was appended. Internal to
    the store: RunStore reads the run again and decides again."""

    def __init__(self, run_id: str, version: int) -> None:
        super().__init__(f"run {run_id} already has version {version}")
        self.run_id = run_id


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(type_: str, schema_version: int, payload: bytes) -> Event:
    if schema_version == SCHEMA_VERSIONS.get(type_):
        return _event_decoder.decode(payload)
    data = upcast(type_, schema_version, msgspec.msgpack.decode(payload))
    return msgspec.convert(data, Event)


def to_record(stored: StoredEvent) -> EventRecord:
    """The stored row with its payload decoded (and upcast). LogCorrupt, naming the seq, if the
    payload does not decode: msgspec's errors never reach a caller."""
    try:
        event = decode_event(stored.type, stored.schema_version, stored.payload)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError) as exc:
        raise LogCorrupt(
            f"event seq {stored.seq} of run {stored.run_id} ({stored.type}) cannot be read: {exc}",
            hint="the log was changed by something other than Weboter; `weboter history RUN` "
            "shows the events around it",
        ) from exc
    return EventRecord(
        seq=stored.seq,
        run_id=stored.run_id,
        run_version=stored.run_version,
        type=stored.type,
        schema_version=stored.schema_version,
        command_id=stored.command_id,
        recorded_at=stored.recorded_at,
        event=event,
    )


class EventLog(RunListing):
    """Open (creating if needed) the log at `path`. Raises LogError subclasses, never sqlite's."""

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability = "sync",
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        self.durability = durability
        self._db = open_database(self.path, create=create, full=durability == "full")
        self._tx = Transactions(self._db, grouped=durability == "batch")

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()

    @property
    def database(self) -> Database:
        """The connection itself: for `weboter log copy` (runtime/store/copy.py) only."""
        return self._db

    @property
    def pending(self) -> bool:
        """True while a group of appended commands is not committed yet (`batch` only)."""
        return self._tx.pending

    @property
    def due(self) -> bool:
        """True when the open group (`batch`) is full or old enough to be committed now."""
        return self._tx.due

    def commit(self) -> None:
        """Commit the open group of commands, if any (`batch`; otherwise a no-op); GroupLost
        if that fails (runtime/store/transactions.py)."""
        self._tx.commit()

    # --- writing (State Manager only) --------------------------------------------------------

    def events_of_command(self, command_id: str) -> list[StoredEvent]:
        """The events an earlier command produced (empty if it produced none)."""
        found = self._one(
            "SELECT run_id, first_seq, last_seq FROM commands WHERE command_id = ?", (command_id,)
        )
        if found is None:
            return []
        run_id, first, last = found
        return self.read_stored(run_id, after_seq=first - 1, until_seq=last)

    def append(
        self,
        run_id: str,
        base_version: int,
        payloads: list[tuple[str, bytes]],
        *,
        command_id: str,
        status: str | None = None,
        driver: bool = False,
        listed: dict[str, str | None] | None = None,
        snapshot: Callable[[list[StoredEvent]], tuple[int, int, bytes] | None] | None = None,
        repeatable: bool = True,
    ) -> list[StoredEvent]:
        """Append encoded events (type, payload) after `base_version` in one transaction.

        `status`: the run's status after them, as the fold says (None: unchanged); it is what
        `runs` lists. `driver`: this process drives the run from now on (it started or
        resumed it), or parked it to go on with it when it starts again (a stopping engine:
        `ENGINE_STOPPED`); without it, a status that is not RUNNING/STEPPING clears the driver.
        `listed`: other columns of the row the runs list shows that these events change
        (`error`, `worker`: runtime/store/listing.py). `snapshot(stored)` may return
        (run_version, seq, state bytes) to store.
        VersionConflict if another writer appended to the run since `base_version`;
        DuplicateCommand if `command_id` already produced events. `repeatable=False`: the
        command was never sent, so its id is not kept for idempotence (rule 4).
        """
        db = self._db
        now = time.time()
        stored: list[StoredEvent] = []
        try:
            self._tx.begin()
        except db.busy as exc:
            raise _unavailable(db, exc) from exc
        try:
            stored = self._insert(run_id, base_version, payloads, command_id, now)
            if repeatable:
                self._record_command(command_id, run_id, stored)
            if status is not None or listed:
                self._track_status(run_id, status, stored, now, driver, listed or {})
            taken = snapshot(stored) if snapshot is not None else None
            if taken is not None:
                db.execute(
                    "INSERT INTO snapshots (run_id, run_version, seq, state) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (run_id, run_version) DO UPDATE SET seq = excluded.seq, "
                    "state = excluded.state",
                    (run_id, *taken),
                )
            self._tx.end()
        except BaseException as exc:
            self._tx.undo()  # this command only (GroupLost if the database dropped the group)
            if isinstance(exc, db.busy):
                raise _unavailable(db, exc) from exc
            if isinstance(exc, db.broken):
                raise LogCorrupt(
                    f"the event log {db.where} is damaged ({exc}); nothing was appended",
                    hint=db.check_hint,
                ) from exc
            raise
        return stored

    def _insert(
        self,
        run_id: str,
        base_version: int,
        payloads: list[tuple[str, bytes]],
        command_id: str,
        now: float,
    ) -> list[StoredEvent]:
        """The command's events, in one statement (one round trip to a database server)."""
        rows = [
            (run_id, base_version + n, type_, SCHEMA_VERSIONS[type_], command_id, payload, now)
            for n, (type_, payload) in enumerate(payloads, 1)
        ]
        seqs: dict[int, int] = {}  # (the order RETURNING gives rows in is not promised)
        for start in range(0, len(rows), ROWS_PER_INSERT):
            part = rows[start : start + ROWS_PER_INSERT]
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(part))
            try:
                seqs.update(
                    self._db.execute(
                        "INSERT INTO events (run_id, run_version, type, schema_version, "
                        f"command_id, payload, recorded_at) VALUES {marks} "
                        "RETURNING run_version, seq",
                        [value for row in part for value in row],
                    ).fetchall()
                )
            except self._db.conflict as exc:  # UNIQUE(run_id, run_version): another writer
                raise VersionConflict(run_id, part[0][1]) from exc
        return [
            StoredEvent(seqs[version], run_id, version, type_, schema, command_id, now, payload)
            for run_id, version, type_, schema, command_id, payload, now in rows
        ]

    def _record_command(self, command_id: str, run_id: str, stored: list[StoredEvent]) -> None:
        try:
            self._db.execute(
                "INSERT INTO commands (command_id, run_id, first_seq, last_seq) "
                "VALUES (?, ?, ?, ?)",
                (command_id, run_id, stored[0].seq, stored[-1].seq),
            )
        except self._db.conflict as exc:
            raise DuplicateCommand(command_id) from exc

    def _track_status(
        self,
        run_id: str,
        status: str | None,
        stored: list[StoredEvent],
        now: float,
        driver: bool,
        listed: dict[str, str | None],
    ) -> None:
        if stored[0].type == "RunCreated" and status is not None:
            created: Any = _event_decoder.decode(stored[0].payload)
            self._db.execute(
                "INSERT INTO runs (run_id, workflow_id, name, source, status, created_at, "
                "updated_at, parent_run, parent_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    created.workflow.id,
                    created.workflow.name,
                    created.source,
                    status,
                    now,
                    now,
                    created.parent_run,
                    created.parent_seq,
                ),
            )
            return
        sets: dict[str, Any] = {
            name: listed[name] for name in ("error", "worker") if name in listed
        }
        if status is not None:
            sets.update(status=status, updated_at=now)
        # who drives a running run (refuses a second driver on this host), or parked it; the
        # engine named for the runs list stays when it lets go
        if status is not None and (driver or status not in ("RUNNING", "STEPPING")):
            pid, host = (os.getpid(), this_host()) if driver else (None, None)
            sets.update(owner_pid=pid, owner_host=host)
            if driver:
                sets["engine"] = f"{host}:{pid}"
        marks = ", ".join(f"{name} = ?" for name in sets)
        lease = f", lease_until = {self._db.clock} + {LEASE_SECONDS}" if "owner_pid" in sets else ""
        self._db.execute(  # a driver holds the run's lease from now (runs.renew_leases)
            f"UPDATE runs SET {marks}{lease} WHERE run_id = ?", (*sets.values(), run_id)
        )

    # --- reading -----------------------------------------------------------------------------

    def read_stored(
        self,
        run_id: str | None = None,
        *,
        after_seq: int = 0,
        until_seq: int | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        clauses, params = ["seq > ?"], [after_seq]
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)  # type: ignore[arg-type]
        if until_seq is not None:
            clauses.append("seq <= ?")
            params.append(until_seq)
        sql = (
            "SELECT seq, run_id, run_version, type, schema_version, command_id, recorded_at, "
            f"payload FROM events WHERE {' AND '.join(clauses)} ORDER BY seq"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [StoredEvent(*row) for row in self._read(sql, params)]

    def read(
        self,
        run_id: str | None = None,
        *,
        after_seq: int = 0,
        until_seq: int | None = None,
        batch: int = 2000,
    ) -> Iterator[EventRecord]:
        """Decoded events in seq order, read in batches (memory stays flat)."""
        cursor = after_seq
        while True:
            rows = self.read_stored(run_id, after_seq=cursor, until_seq=until_seq, limit=batch)
            for row in rows:
                yield to_record(row)
            if len(rows) < batch:
                return
            cursor = rows[-1].seq

    def last_seq(self, run_id: str | None = None) -> int:
        if run_id is None:
            row = self._one("SELECT MAX(seq) FROM events")
        else:
            row = self._one("SELECT MAX(seq) FROM events WHERE run_id = ?", (run_id,))
        return int(row[0] or 0)

    def snapshot_before(self, run_id: str, seq: int | None = None) -> RunState | None:
        """The newest snapshot of `run_id` taken at or before `seq` (or the newest of all)."""
        if seq is None:
            row = self._one(
                "SELECT state FROM snapshots WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
            )
        else:
            row = self._one(
                "SELECT state FROM snapshots WHERE run_id = ? AND seq <= ? "
                "ORDER BY seq DESC LIMIT 1",
                (run_id, seq),
            )
        if row is None:
            return None
        try:
            return _state_decoder.decode(row[0])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None  # snapshots are a cache (rule 6): fold from the events instead


def open_database(path: Path, *, create: bool, full: bool = False) -> Database:
    """The database `path` names: PostgreSQL if it stands for a URL
    (runtime/store/location.py), else the SQLite file."""
    url = postgres_url(path)
    if url is not None:
        from weboter.runtime.store.postgres import PostgresDatabase  # noqa: PLC0415

        return PostgresDatabase(url, create=create)
    from weboter.runtime.store.sqlite import SQLiteDatabase  # noqa: PLC0415

    return SQLiteDatabase(path, create=create, full=full)


def _unavailable(db: Database, exc: BaseException) -> LogUnavailable:
    return LogUnavailable(
        f"the event log {db.where} cannot be written now ({exc})",
        hint="another process holds it for too long, or the disk is full or read-only; "
        "try again, or check the file",
    )
