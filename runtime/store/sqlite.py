"""The log in an SQLite file (the embedded default): opening it (made 0600 before SQLite opens
it, runtime/store/private.py), checking that it is a Weboter log of a schema this Weboter
knows, and migrating an older one (runtime/store/schema.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from weboter.runtime.errors import LogCorrupt, LogTooNew, LogUnavailable
from weboter.runtime.store.private import create_log_file, private_folder, tighten_log
from weboter.runtime.store.schema import APPLICATION_ID, LOG_SCHEMA, migrate


class SQLiteDatabase:
    begin_write: tuple[str, ...] = ("BEGIN IMMEDIATE",)  # one writer: commits in seq order
    begin_snapshot: tuple[str, ...] = ("BEGIN",)  # WAL: a reader sees the log as it began
    after_copy: tuple[str, ...] = ()  # AUTOINCREMENT follows the seqs written
    clock = "((julianday('now') - 2440587.5) * 86400.0)"  # seconds since 1970, as time.time()
    conflict: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    busy: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
    broken: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)
    check_hint = "copy it away and check it: sqlite3 FILE 'PRAGMA integrity_check'"

    def __init__(self, path: Path, *, create: bool, full: bool) -> None:
        self.where = str(path)
        self.conn = _connect(path, create=create)
        self.execute = self.conn.execute  # type: ignore[method-assign,assignment]  # hot path
        try:
            _prepare(self.conn, path, full=full)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LogCorrupt(
                f"{path} is not a usable SQLite database ({exc})",
                hint="point --db at a Weboter log, or move this file away and start a new one",
            ) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:  # replaced in __init__
        return self.conn.execute(sql, params)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def close(self) -> None:
        self.conn.close()


def _prepare(conn: sqlite3.Connection, path: Path, *, full: bool) -> None:
    conn.execute("PRAGMA busy_timeout=5000")  # another process may be creating it now
    # one read transaction: what another process creates is seen whole or not at all
    conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.execute("COMMIT")
    if app_id != APPLICATION_ID and tables:
        raise LogCorrupt(
            f"{path} is an SQLite database, but not a Weboter log "
            f"(it has tables: {', '.join(sorted(tables)[:5])})",
            hint="use another --db path; Weboter will not write into foreign databases",
        )
    if version > LOG_SCHEMA:
        raise LogTooNew(
            f"{path} was written by a newer Weboter (log schema {version}, "
            f"this one knows up to {LOG_SCHEMA})",
            hint="upgrade weboter (pip install -U weboter), or use another --db",
        )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=5000")
    if version < LOG_SCHEMA:
        migrate(conn, version)


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.exists():
        raise LogUnavailable(
            f"there is no event log at {path}",
            hint="run a workflow first (`weboter run FILE`), or pass --db PATH",
        )
    try:
        private_folder(path.parent)
    except OSError as exc:
        raise LogUnavailable(
            f"cannot create the directory for the event log {path}: {exc.strerror}",
            hint="pass --db with a writable path, or set WEBOTER_HOME",
        ) from exc
    if path.exists() and path.is_dir():
        raise LogUnavailable(
            f"{path} is a directory, not an event log file", hint="pass --db with a file path"
        )
    try:  # 0600 before SQLite opens it: its -wal and -shm files copy the log file's mode
        if create:
            create_log_file(path)
        tighten_log(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise LogCorrupt(
            f"{path} is not an SQLite database ({exc})",
            hint="point --db at a Weboter log, or move this file away and start a new one",
        ) from exc
    except OSError as exc:
        raise LogUnavailable(
            f"cannot open the event log {path}: {exc}", hint="pass --db with a writable path"
        ) from exc
    return conn
