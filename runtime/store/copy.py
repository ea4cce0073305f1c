"""`weboter log copy SRC DST`: a whole log moved to another database — SQLite to PostgreSQL
and back — as it is: every event with its seq, run id and run version, the runs (with their
fork lineage), the commands that made them (idempotence goes on working), the snapshots, and
the artifacts the events refer to.

The source is read in one snapshot (what an engine appends meanwhile is not in the copy); the
destination must hold no event, and gets everything in one transaction (a copy that fails
leaves it empty). Then the copy is read back and checked: the number of events of every run,
and a SHA-256 over each run's events (seq, version, type, schema, command, time, payload),
must be the source's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from weboter.runtime.errors import LogUnavailable, UsageError
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.database import Database
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.location import log_label

BATCH = 2000  # rows read and written at a time (memory stays flat on a long log)
EVENT_COLUMNS = "seq, run_id, run_version, type, schema_version, command_id, payload, recorded_at"
TABLES = {  # table: (its columns, the key it is read in order of)
    "runs": (
        "run_id, workflow_id, name, source, status, created_at, updated_at, parent_run, "
        "parent_seq, owner_pid, owner_host, error, engine, worker",
        "run_id",
    ),
    "commands": ("command_id, run_id, first_seq, last_seq", "command_id"),
    "snapshots": ("run_id, run_version, seq, state", "run_id, run_version"),
}


@dataclass
class Copied:
    events: int = 0
    runs: int = 0
    artifacts: int = 0
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)  # run: (events, sha256)


def copy_log(
    source: Path, destination: Path, progress: Callable[[str], None] = lambda _: None
) -> Copied:
    """Copy the log `source` into the empty log `destination`, then check the copy (counts
    and a hash of every run's events). UsageError if the destination holds events or the
    check fails."""
    if log_label(source) == log_label(destination):
        raise UsageError(
            "the source and the destination are the same log",
            hint="give as DST a new file or an empty database",
        )
    try:
        src = EventLog(source, create=False)
    except LogUnavailable as exc:
        raise LogUnavailable(
            f"SRC: {exc.message}", hint="SRC is the log to copy: a Weboter log file or database"
        ) from exc
    try:
        dst = EventLog(destination)
        try:
            if dst.last_seq() or dst.database.execute("SELECT COUNT(*) FROM runs").fetchone()[0]:
                raise UsageError(
                    f"{log_label(destination)} already holds runs: a log is copied only into an "
                    "empty one",
                    hint="give a new file or an empty database (a copy never merges two logs)",
                )
            copied = _copy(src.database, dst.database, progress)
            progress(f"checking the copy: {copied.runs} run(s), {copied.events} event(s)")
            again = _digests(dst.database)
        finally:
            dst.close()
    finally:
        src.close()
    if again != copied.digests:
        wrong = sorted(
            r for r in copied.digests.keys() | again.keys() if copied.digests.get(r) != again.get(r)
        )
        raise UsageError(
            f"the copy in {log_label(destination)} differs from the source in run(s) "
            f"{', '.join(wrong[:5])}",
            hint="do not use the copy; empty the destination and copy again",
        )
    copied.artifacts = _copy_artifacts(source, destination)
    return copied


def _copy(src: Database, dst: Database, progress: Callable[[str], None]) -> Copied:
    copied = Copied()
    for statement in src.begin_snapshot:
        src.execute(statement)
    try:
        for statement in dst.begin_write:
            dst.execute(statement)
        try:
            for table, (columns, key) in TABLES.items():
                marks = ", ".join("?" for _ in columns.split(","))
                for rows in _batches(src, f"SELECT {columns} FROM {table} ORDER BY {key}"):
                    _insert_all(dst, f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
                    copied.runs += len(rows) if table == "runs" else 0
            hashes: dict[str, Any] = {}
            counts: dict[str, int] = {}
            marks = ", ".join("?" for _ in EVENT_COLUMNS.split(","))
            for rows in _events(src):
                _insert_all(dst, f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({marks})", rows)
                _fold_digests(rows, hashes, counts)
                copied.events += len(rows)
                progress(f"copied {copied.events} event(s), up to seq {rows[-1][0]}")
            for statement in dst.after_copy:  # PostgreSQL: its seq counter goes on after ours
                dst.execute(statement)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
    finally:
        src.execute("COMMIT")
    copied.digests = {run: (counts[run], hashes[run].hexdigest()) for run in hashes}
    return copied


def _batches(db: Database, sql: str) -> Iterator[list[Any]]:
    """The rows of `sql`, BATCH at a time (by offset: the source is one snapshot)."""
    offset = 0
    while True:
        rows = db.execute(f"{sql} LIMIT {BATCH} OFFSET {offset}").fetchall()
        if rows:
            yield [tuple(r) for r in rows]
        if len(rows) < BATCH:
            return
        offset += BATCH


def _events(db: Database) -> Iterator[list[Any]]:
    """Every event, in seq order, BATCH at a time (by seq: no offset to skip over)."""
    after = 0
    while True:
        rows = db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT {BATCH}",
            (after,),
        ).fetchall()
        if rows:
            yield [tuple(r) for r in rows]
            after = rows[-1][0]
        if len(rows) < BATCH:
            return


def _insert_all(db: Database, sql: str, rows: list[Any]) -> None:
    for row in rows:
        db.execute(sql, row)


def _fold_digests(rows: list[Any], hashes: dict[str, Any], counts: dict[str, int]) -> None:
    for seq, run_id, version, type_, schema, command, payload, at in rows:
        digest = hashes.setdefault(run_id, hashlib.sha256())
        digest.update(msgspec.msgpack.encode([seq, version, type_, schema, command, at]))
        digest.update(bytes(payload))
        counts[run_id] = counts.get(run_id, 0) + 1


def _digests(db: Database) -> dict[str, tuple[int, str]]:
    """Every run's (events, sha256) as the log `db` holds them now."""
    hashes: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for rows in _events(db):
        _fold_digests(rows, hashes, counts)
    return {run: (counts[run], hashes[run].hexdigest()) for run in hashes}


def _copy_artifacts(source: Path, destination: Path) -> int:
    """The artifacts of `source` that `destination` lacks (none when both logs keep theirs in
    one folder): files beside an SQLite log, rows of a PostgreSQL one."""
    mine, theirs = ArtifactStore.beside(source), ArtifactStore.beside(destination)
    have = set(theirs.addresses())
    count = 0
    for address in mine.addresses():
        if address not in have:
            theirs.put(mine.get(address), address[64:])  # (after the 64 hex digits: ".png")
            count += 1
    return count
