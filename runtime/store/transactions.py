"""How the event log's writer opens and ends each command's transaction: one transaction per
command (durability `sync`, `full`), or commands grouped in one transaction, each in its own
savepoint (`batch`): committed once BATCH_COMMANDS are in it or BATCH_SECONDS have passed
(`due`, checked by RunStore after each command), or whenever the writer says (`commit`).
A crash loses at most the open group, never part of a command."""

from __future__ import annotations

import time

from weboter.runtime.errors import LogUnavailable
from weboter.runtime.store.database import Database

BATCH_COMMANDS = 100  # `batch`: commands grouped in one transaction at most ...
BATCH_SECONDS = 0.02  # ... and for about this long after the first (checked after a command)


class GroupLost(LogUnavailable):
    """A group of commands (durability `batch`) could not be committed: none is recorded."""


class Transactions:
    def __init__(self, db: Database, *, grouped: bool) -> None:
        self.conn, self.grouped = db, grouped
        self._group: tuple[float, int] | None = None  # an open group: (began, commands)

    @property
    def pending(self) -> bool:
        """True while a group of appended commands is not committed yet."""
        return self._group is not None

    @property
    def due(self) -> bool:
        """True when the open group is full or old enough to be committed now."""
        if self._group is None:
            return False
        began, commands = self._group
        return commands >= BATCH_COMMANDS or time.monotonic() - began >= BATCH_SECONDS

    def begin(self) -> None:
        """Open the command's transaction, or its savepoint in the (new) group."""
        if not self.grouped:
            self._begin()
            return
        if self._group is None:
            self._begin()
            self._group = (time.monotonic(), 0)
        self.conn.execute("SAVEPOINT command")

    def _begin(self) -> None:
        self.conn.execute(self.conn.begin_write[0])
        try:
            for statement in self.conn.begin_write[1:]:  # PostgreSQL: the seq-order lock
                self.conn.execute(statement)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def end(self) -> None:
        """The command is written: commit it, or keep it in the group."""
        if not self.grouped:
            self.conn.execute("COMMIT")
            return
        self.conn.execute("RELEASE command")
        assert self._group is not None
        self._group = (self._group[0], self._group[1] + 1)

    def undo(self) -> None:
        """The command failed: roll it back (only it: the group before it stays). GroupLost
        if SQLite rolled the whole transaction back itself (a full disk, an I/O error) and
        the group held commands."""
        if not self.conn.in_transaction:  # rolled back by SQLite already
            group, self._group = self._group, None
            if group is not None and group[1]:
                raise self._lost(group[1], "the transaction was rolled back")
            return
        if not self.grouped:
            self.conn.execute("ROLLBACK")
            return
        self.conn.execute("ROLLBACK TO command")
        self.conn.execute("RELEASE command")

    def commit(self) -> None:
        """Commit the open group, if any. GroupLost if that fails: then none of it is
        recorded, and the writer must forget what it remembers of it (RunStore.commit)."""
        if self._group is None:
            return
        commands, self._group = self._group[1], None
        try:
            self.conn.execute("COMMIT")
        except self.conn.busy as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise self._lost(commands, str(exc)) from exc

    def _lost(self, commands: int, why: str) -> GroupLost:
        return GroupLost(
            f"the event log {self.conn.where} could not commit the last {commands} command(s) "
            f"({why}); they are not recorded",
            hint="free disk space or check the file; the results planned on them are refused, "
            "and the runs go on from what the log holds",
        )
