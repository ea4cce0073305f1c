"""The log's SQLite schema and its migrations (PRAGMA user_version says which one a file has).

A file is marked as a Weboter log by PRAGMA application_id. Migrations run in one transaction
when a log written by an older Weboter is opened; events are never rewritten by them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from weboter.runtime.store.listing import COLUMNS, fill_runs_list

APPLICATION_ID = 0x57424F54  # "WBOT": marks the file as a Weboter log
LOG_SCHEMA = 4  # PRAGMA user_version; bump with a migration below


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a log from schema `version` to LOG_SCHEMA, in one transaction. Another process
    may have migrated it between our look and our lock: the version is read again, locked."""
    import sqlite_utils  # noqa: PLC0415 - here, where used: ~60 ms of every command's start

    db = sqlite_utils.Database(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= LOG_SCHEMA:
            conn.execute("COMMIT")
            return
        if version < 1:
            _first_tables(db)
        if version < 2:  # who drives a running run (refuses a second driver on this host)
            db.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")
            db.execute("ALTER TABLE runs ADD COLUMN owner_host TEXT")
            db.execute("CREATE INDEX IF NOT EXISTS events_run_seq ON events (run_id, seq)")
        if version < 3:  # until when the driver's lease holds (engines sharing one log)
            db.execute("ALTER TABLE runs ADD COLUMN lease_until REAL")
        if version < 4:  # the runs list: paged, searched, with who drove each run
            for column in COLUMNS:
                db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
            db.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at)")
            fill_runs_list(conn)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={LOG_SCHEMA}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _first_tables(db: Any) -> None:
    """The tables of schema 1 (what later migrations change, they change)."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            run_version INTEGER NOT NULL,
            type TEXT NOT NULL,
            schema_version INTEGER NOT NULL,
            command_id TEXT NOT NULL,
            payload BLOB NOT NULL,
            recorded_at REAL NOT NULL,
            UNIQUE (run_id, run_version))"""
    )
    # a run's events by seq (state_at's tail, catch-up of one run)
    db.execute("CREATE INDEX IF NOT EXISTS events_run_seq ON events (run_id, seq)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS commands (
            command_id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL) WITHOUT ROWID"""
    )
    db.table("snapshots").create(
        {"run_id": str, "run_version": int, "seq": int, "state": bytes},
        pk=("run_id", "run_version"),
        if_not_exists=True,
    )
    db.table("snapshots").create_index(["run_id", "seq"], if_not_exists=True)
    db.table("runs").create(
        {
            "run_id": str,
            "workflow_id": str,
            "name": str,
            "source": str,
            "status": str,
            "created_at": float,
            "updated_at": float,
            "parent_run": str,
            "parent_seq": int,
        },
        pk="run_id",
        if_not_exists=True,
    )
