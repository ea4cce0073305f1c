"""What the event log needs of a database connection, whichever database holds the log:
statements with `?` parameters, whether a transaction is open, how a write transaction begins
(so that commits come in seq order), and which of the driver's errors mean what. SQLite's
(runtime/store/sqlite.py) and PostgreSQL's (runtime/store/postgres.py) connections are behind
it; the log's SQL (eventlog.py, runs.py) is written once, for both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Rows(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    where: str  # how messages name the log (a file, or a URL without its password)
    begin_write: tuple[str, ...]  # statements that open a write transaction
    begin_snapshot: tuple[str, ...]  # ... a read transaction that sees one moment of the log
    after_copy: tuple[str, ...]  # what makes new seqs follow those a copy wrote
    clock: str  # SQL for the database's time (s since 1970): leases compare on one clock
    conflict: tuple[type[BaseException], ...]  # a unique key taken: another writer was first
    busy: tuple[type[BaseException], ...]  # locked, unreachable, full: try again later
    broken: tuple[type[BaseException], ...]  # any other database error: the log is damaged
    check_hint: str  # how a person checks a damaged log

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...
