"""The `runs` read model: one row per run (status, parent, who drives it), kept by the write
path in the same transaction as the run's events, with the status the fold gives (one place
decides a status: runtime/core/fold.py)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from weboter.runtime.errors import LogCorrupt, LogUnavailable, RunNotFound
from weboter.runtime.store.database import Database
from weboter.schemas.events import ENGINE_STOPPED
from weboter.schemas.messages import StoredEvent

_COLUMNS = "seq, run_id, run_version, type, schema_version, command_id, recorded_at, payload"


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    workflow_id: str
    name: str
    source: str
    status: str
    created_at: float
    updated_at: float
    events: int
    last_seq: int
    parent_run: str | None


class RunQueries:
    """Questions about runs, answered from the `runs` table (a part of EventLog)."""

    path: Path
    _db: Database

    def _read(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        """Every row of a query; the database's errors as LogErrors (the store seam)."""
        db = self._db
        try:
            return db.execute(sql, params).fetchall()
        except db.busy as exc:
            raise LogUnavailable(
                f"the event log {db.where} cannot be read now ({exc})",
                hint="another process may hold it for too long; try again",
            ) from exc
        except db.broken as exc:
            raise LogCorrupt(
                f"the event log {db.where} is damaged ({exc})", hint=db.check_hint
            ) from exc

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    def runs(self, limit: int = 100) -> list[RunSummary]:
        """The newest runs; `events` is a run's last version (its events are numbered 1 … N,
        so this is their count, read from the unique index instead of counted)."""
        rows = self._read(
            "SELECT r.run_id, r.workflow_id, r.name, r.source, r.status, r.created_at, "
            "r.updated_at, (SELECT MAX(run_version) FROM events e WHERE e.run_id = r.run_id), "
            "(SELECT MAX(seq) FROM events e WHERE e.run_id = r.run_id), r.parent_run "
            "FROM runs r ORDER BY r.created_at DESC LIMIT ?",
            (limit,),
        )
        return [RunSummary(*row) for row in rows]

    def driver(self, run_id: str) -> tuple[int, str] | None:
        """(pid, host) of a live process on this host that drives the run (or queued it to),
        if any."""
        row = self._one(
            "SELECT owner_pid, owner_host FROM runs WHERE run_id = ? AND status IN "
            "('RUNNING', 'STEPPING', 'QUEUED')",
            (run_id,),
        )
        if row is None or row[0] is None or row[1] != this_host():
            return None
        return (int(row[0]), str(row[1])) if _alive(int(row[0])) else None

    def driven_here(self, *, queued: bool = False) -> list[str]:
        """The runs this process drives now (RUNNING or STEPPING, owned by its pid here;
        `queued`: and those it queued)."""
        statuses = "('RUNNING', 'STEPPING', 'QUEUED')" if queued else "('RUNNING', 'STEPPING')"
        rows = self._read(
            f"SELECT run_id FROM runs WHERE status IN {statuses} "
            "AND owner_pid = ? AND owner_host = ?",
            (os.getpid(), this_host()),
        )
        return [str(r[0]) for r in rows]

    def renew_leases(self) -> int:
        """Extend the lease of every run this process drives (or queued) by LEASE_SECONDS
        (engines that share a log renew theirs every few seconds: runtime/store/leases.py);
        how many."""
        db = self._db
        try:
            rows = db.execute(
                f"UPDATE runs SET lease_until = {db.clock} + ? WHERE owner_pid = ? AND "
                "owner_host = ? AND status IN ('RUNNING', 'STEPPING', 'QUEUED') "
                "RETURNING run_id",
                (LEASE_SECONDS, os.getpid(), this_host()),
            ).fetchall()
        except db.busy as exc:
            raise LogUnavailable(f"the event log {db.where} cannot be written now ({exc})") from exc
        return len(rows)

    def orphaned(self, *, starting: bool = True) -> list[str]:
        """Runs whose driving process is gone (oldest first), left as it was driving them:
        RUNNING or STEPPING (it died), or PAUSED by its own stop (a stopping engine parks its
        runs, and the row keeps naming it: `ENGINE_STOPPED`). Gone means: a process of this
        host that no longer lives, or — on another host, which cannot be asked — one whose
        lease ran out (it stopped renewing it). What `serve` takes up; a pause anybody else
        recorded cleared the row's driver. `starting`: this process has just started, so a
        row naming its pid is a predecessor's (a container restarted under the same pid);
        later (a shared log's engine looking every second), those runs are its own."""
        rows = self._read(
            f"SELECT run_id, owner_pid, owner_host, status, "
            f"COALESCE(lease_until, 0) < {self._db.clock} FROM runs "
            "WHERE owner_pid IS NOT NULL "
            "AND status IN ('RUNNING', 'STEPPING', 'PAUSED', 'QUEUED') "
            "ORDER BY created_at",
        )
        here = this_host()
        return [
            str(run_id)
            for run_id, pid, host, status, expired in rows
            if (_gone(int(pid), starting) if host == here else bool(expired))
            and (status != "PAUSED" or self._parked(str(run_id)))
        ]

    def queued(self) -> list[tuple[str, int]]:
        """The QUEUED runs in queue order (the seq of the RunQueued that put each there), each
        with how many runs its engine (the row's driver) queued before it."""
        rows = self._read(
            "SELECT r.run_id, r.owner_pid, r.owner_host, (SELECT MAX(e.seq) FROM events e "
            "WHERE e.run_id = r.run_id AND e.type = 'RunQueued') AS q FROM runs r "
            "WHERE r.status = 'QUEUED' ORDER BY q"
        )
        ahead: dict[tuple[Any, Any], int] = {}
        found = []
        for run_id, pid, host, _seq in rows:
            found.append((str(run_id), ahead.get((pid, host), 0)))
            ahead[pid, host] = ahead.get((pid, host), 0) + 1
        return found

    def _parked(self, run_id: str) -> bool:
        """Whether the run's newest pause is a stopping engine's (not a person's, a step's)."""
        row = self._one(
            "SELECT payload FROM events WHERE run_id = ? AND type = 'RunPaused' "
            "ORDER BY seq DESC LIMIT 1",
            (run_id,),
        )
        if row is None:
            return False
        try:
            paused = msgspec.msgpack.decode(row[0])
        except msgspec.DecodeError:
            return False
        return isinstance(paused, dict) and paused.get("reason") == ENGINE_STOPPED

    def resolve_run_id(self, prefix: str) -> str:
        """The one run whose id starts with `prefix`."""
        rows = self._read(
            "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 6",
            (prefix, prefix + "\uffff"),
        )
        if not rows:
            raise RunNotFound(
                f"no run with id {prefix!r} in {self._db.where}",
                hint="`weboter runs` lists the runs in this log",
            )
        if len(rows) > 1 and rows[0][0] != prefix:
            shown = ", ".join(r[0] for r in rows[:5])
            raise RunNotFound(
                f"run id {prefix!r} is ambiguous: {shown}", hint="give more characters of the id"
            )
        return str(rows[0][0])

    # --- a run's events: by run version (the State Manager's), by seq (everybody's) ----------

    def last_version(self, run_id: str) -> int:
        row = self._one("SELECT MAX(run_version) FROM events WHERE run_id = ?", (run_id,))
        return int(row[0] or 0)

    def stored_at_version(self, run_id: str, version: int) -> StoredEvent:
        row = self._one(
            f"SELECT {_COLUMNS} FROM events WHERE run_id = ? AND run_version = ?",
            (run_id, version),
        )
        if row is None:
            raise RunNotFound(
                f"run {run_id} has no event number {version}",
                hint=f"its events are numbered 1 to {self.last_version(run_id)}",
            )
        return StoredEvent(*row)

    def stored_before(self, run_id: str, seq: int, limit: int) -> list[StoredEvent]:
        """The run's last `limit` events before seq `seq`, newest first."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM events WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (run_id, seq, limit),
        )
        return [StoredEvent(*r) for r in rows]

    def stored_of_types(
        self,
        run_id: str,
        types: tuple[str, ...],
        *,
        after_seq: int = 0,
        until_seq: int | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """A run's events of these types (oldest first, unless `newest_first`)."""
        marks = ", ".join("?" for _ in types)
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE run_id = ? AND seq > ? AND seq <= ? "
            f"AND type IN ({marks}) ORDER BY seq {'DESC' if newest_first else 'ASC'}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        params = [run_id, after_seq, until_seq if until_seq is not None else 2**63 - 1, *types]
        return [StoredEvent(*r) for r in self._read(sql, params)]

    def present(self, run_ids: list[str]) -> set[str]:
        """Which of `run_ids` the log has (one query per 500: a FanOut's item runs)."""
        found: set[str] = set()
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._read(f"SELECT run_id FROM runs WHERE run_id IN ({marks})", chunk)
            found.update(str(r[0]) for r in rows)
        return found

    def children_of(self, run_id: str) -> list[str]:
        """The runs forked from `run_id`, oldest first."""
        rows = self._read(
            "SELECT run_id FROM runs WHERE parent_run = ? ORDER BY created_at", (run_id,)
        )
        return [str(r[0]) for r in rows]


LEASE_SECONDS = 5.0  # a driver on another host that renews nothing for this long is gone


def this_host() -> str:
    """The name this process's host has in the log: $WEBOTER_HOST, else its host name (give
    each engine's host its own name where containers share one)."""
    return os.environ.get("WEBOTER_HOST") or socket.gethostname()


def _gone(pid: int, starting: bool) -> bool:
    """Whether process `pid` of this host no longer drives its runs."""
    if pid == os.getpid():
        return starting
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether process `pid` of this host lives (this process's own pid counts as gone: a
    process restarted under the same pid, in a container, is not its own predecessor)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False  # that process died: its runs can be taken up
    except PermissionError:
        pass  # alive, someone else's
    return True
