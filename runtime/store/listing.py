"""The runs list as the dev UI pages through it: a page of runs, newest first, found by text,
status and creation date in SQL (the same SQL on both databases: runtime/store/database.py),
with how long each ran and who drove it.

Three columns of `runs` serve it, kept by the write path in the same transaction as the run's
events (EventLog.append): `error` (an ERROR or FAILED run's failure, "Kind: message", what a
search finds it by; NULL in any other status), `engine` (host:pid of the process that last
drove the run: unlike `owner_pid` it stays when the run stops or pauses) and `worker` (the
`weboter worker` that ran the run's newest node; NULL once the engine ran one itself: a run
taken back from its workers names none). A log written before
them gets them when it is opened (schema 4: `fill_runs_list`).

Paging is by LIMIT/OFFSET over the `created_at` index, not by a cursor: a page says where it is
("Runs 201-250 of 312") and a person may go back a page; `runs` has one row per run, so
skipping a few thousand of them costs little. A run created meanwhile moves later pages by one
row (the page reads them again when the log changes)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from weboter.runtime.store.runs import RunQueries, _alive, this_host

COLUMNS = ("error", "engine", "worker")  # what schema 4 adds to `runs`
MAX_ERROR = 1000  # characters of a failure kept for the list and its search
FAILING = ("ERROR", "FAILED")
DRIVEN = ("RUNNING", "STEPPING")
_SELECT = (
    "SELECT r.run_id, r.workflow_id, r.name, r.source, r.status, r.created_at, r.updated_at, "
    "(SELECT MAX(run_version) FROM events e WHERE e.run_id = r.run_id), "
    "(SELECT MAX(seq) FROM events e WHERE e.run_id = r.run_id), r.parent_run, "
    "(SELECT e.recorded_at FROM events e WHERE e.run_id = r.run_id ORDER BY e.seq DESC LIMIT 1), "
    "r.error, r.engine, r.worker, r.owner_pid, r.owner_host, "
    "COALESCE(r.lease_until, 0) >= {clock} FROM ({page}) p JOIN runs r ON r.run_id = p.run_id "
    "ORDER BY r.created_at DESC, r.run_id DESC"
)
# the page's runs first: the columns above are read for those only, not for the rows skipped
_PAGE = (
    "SELECT r.run_id FROM runs r{where} ORDER BY r.created_at DESC, r.run_id DESC LIMIT ? OFFSET ?"
)
# a search's text, in any of these (a failure's error only while it is failed)
_SEARCHED = (
    "LOWER(r.run_id) LIKE ? ESCAPE '\\'",
    "LOWER(r.workflow_id) LIKE ? ESCAPE '\\'",
    "LOWER(r.name) LIKE ? ESCAPE '\\'",
    "LOWER(r.status) LIKE ? ESCAPE '\\'",
    "(r.status IN ('ERROR', 'FAILED') AND LOWER(r.error) LIKE ? ESCAPE '\\')",
)


@dataclass(frozen=True)
class RunFilter:
    """Which runs a page lists (every one by default)."""

    text: str = ""  # in the run id, the workflow's id or name, the status, a failure's error
    status: str = ""  # exactly this status
    since: float | None = None  # created at or after (seconds since 1970)
    until: float | None = None  # created before
    run_id: str = ""  # this run only


@dataclass(frozen=True)
class ListedRun:
    """A row of the runs list."""

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
    last_at: float  # when its newest event was recorded
    error: str | None  # "Kind: message" while ERROR or FAILED
    engine: str | None  # host:pid of the process that drives it now, or last drove it
    worker: str | None  # the worker that ran its newest node run (None: the engine ran it)
    driving: bool  # that process drives it now (RUNNING or STEPPING, and alive)
    duration: float  # seconds from its creation to its newest event (driven: until now)


@dataclass(frozen=True)
class RunPage:
    runs: list[ListedRun]
    total: int  # how many runs the filter finds in all


class RunListing(RunQueries):
    """The runs list's questions (a part of EventLog)."""

    def runs_page(self, found: RunFilter, limit: int, offset: int = 0) -> RunPage:
        """The runs `found` finds, newest first: `limit` of them after the first `offset`."""
        where, params = _where(found)
        select = _SELECT.format(clock=self._db.clock, page=_PAGE.format(where=where))
        rows = self._read(select, [*params, limit, offset])
        total = self._one(f"SELECT COUNT(*) FROM runs r{where}", params)
        return RunPage([_listed(row) for row in rows], int(total[0]))


def _where(found: RunFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if found.text:
        like = "%" + _escaped(found.text.lower()) + "%"
        clauses.append("(" + " OR ".join(_SEARCHED) + ")")
        params += [like] * len(_SEARCHED)
    for clause, value in (
        ("r.status = ?", found.status),
        ("r.run_id = ?", found.run_id),
        ("r.created_at >= ?", found.since),
        ("r.created_at < ?", found.until),
    ):
        if value is not None and value != "":
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _escaped(text: str) -> str:
    """`text` matched as it is by LIKE (its `%` and `_` are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _listed(row: Any) -> ListedRun:
    """A row of _SELECT: RunSummary's columns, then the list's own."""
    status, (last_at, error, engine, worker, pid, host, leased) = row[4], row[10:]
    driving = False
    if pid is not None:  # it has a driver now (or its parking engine): that one is named
        engine = f"{host}:{pid}"
        here = host == this_host()
        alive = (int(pid) == os.getpid() or _alive(int(pid))) if here else bool(leased)
        driving = status in DRIVEN and alive
    failure = error if status in FAILING else None
    created, last_at = row[5], last_at or row[5]
    duration = max(0.0, (time.time() if driving else last_at) - created)
    summary = row[:10]  # run_id … parent_run
    return ListedRun(*summary, last_at, failure, engine, worker or None, driving, duration)  # type: ignore[call-arg]


def error_text(kind: str, message: str) -> str:
    """How the list keeps a failure: "Kind: message", cut to MAX_ERROR characters."""
    return f"{kind}: {message}"[:MAX_ERROR]


def fill_runs_list(db: Any) -> None:
    """The new columns of a log written before them (in the migration's transaction): the
    engine that drives (or parked) each run now, and the error of each run in ERROR or FAILED,
    from its newest NodeFailed or RunFailed (what the fold's error is in those statuses).
    `db`: an sqlite3 connection or a PostgresDatabase (both take `?` parameters)."""
    db.execute(
        "UPDATE runs SET engine = owner_host || ':' || CAST(owner_pid AS TEXT) "
        "WHERE owner_pid IS NOT NULL"
    )
    rows = db.execute(
        "SELECT r.run_id, (SELECT e.payload FROM events e WHERE e.run_id = r.run_id AND "
        "e.type IN ('NodeFailed', 'RunFailed') ORDER BY e.seq DESC LIMIT 1) FROM runs r "
        "WHERE r.status IN ('ERROR', 'FAILED')"
    ).fetchall()
    for run_id, payload in rows:
        try:
            error = msgspec.msgpack.decode(bytes(payload or b"")).get("error") or {}
        except (msgspec.DecodeError, AttributeError):
            continue  # not readable here: the run is found by everything but its error
        text = error_text(str(error.get("kind", "")), str(error.get("message", "")))
        db.execute("UPDATE runs SET error = ? WHERE run_id = ?", (text, run_id))
