"""The event log's numbered rules (runtime/store/eventlog.py's docstring), one test each, run
against the recorder directly — on both backends: a real SQLite file and a real PostgreSQL
database (tests/pgcluster.py); no engine, no actors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from weboter.runtime.store import transactions
from weboter.runtime.store.eventlog import (
    DuplicateCommand,
    EventLog,
    VersionConflict,
    encode_event,
    to_record,
)
from weboter.runtime.store.transactions import BATCH_COMMANDS
from weboter.schemas.events import SCHEMA_VERSIONS, RunPaused, RunStarted, VariableSet

STARTED = ("RunStarted", encode_event(RunStarted()))
PAUSED = ("RunPaused", encode_event(RunPaused()))


def setting(value: int) -> tuple[str, bytes]:
    return "VariableSet", encode_event(VariableSet(name="n", value=value))


class TestLogContract:
    @pytest.fixture
    def log(self, log_path: Path) -> Iterator[EventLog]:
        found = EventLog(log_path)
        yield found
        found.close()

    def test_1_seq_is_global_increasing_and_never_reused(self, log: EventLog) -> None:
        a = log.append("a", 0, [STARTED], command_id="c1")
        b = log.append("b", 0, [STARTED, PAUSED], command_id="c2")
        c = log.append("a", 1, [PAUSED], command_id="c3")
        seqs = [e.seq for e in [*a, *b, *c]]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 4
        with pytest.raises(VersionConflict):
            log.append("a", 0, [STARTED], command_id="c4")  # refused: nothing appended
        after = log.append("b", 2, [setting(1)], command_id="c5")
        assert after[0].seq > max(seqs)

    def test_2_run_versions_are_unique_and_without_gaps(self, log: EventLog) -> None:
        log.append("r", 0, [STARTED, PAUSED], command_id="c1")
        with pytest.raises(VersionConflict):  # another writer got there first
            log.append("r", 1, [setting(1)], command_id="c2")
        log.append("r", 2, [setting(2)], command_id="c3")
        assert [e.run_version for e in log.read_stored("r")] == [1, 2, 3]

    def test_3_one_command_is_one_transaction(self, log: EventLog) -> None:
        log.append("r", 0, [STARTED], command_id="c1")
        with pytest.raises(VersionConflict):  # the second of three events collides
            log.append("r", 0, [setting(1), setting(2), setting(3)], command_id="c2")
        assert [e.command_id for e in log.read_stored("r")] == ["c1"]  # none of the three

    def test_3_appends_from_many_threads_serialise(self, log_path: Path) -> None:
        path = log_path
        EventLog(path).close()
        errors: list[BaseException] = []

        def writer(run: str) -> None:
            log = EventLog(path)
            try:
                for i in range(50):
                    log.append(run, i, [setting(i)], command_id=f"{run}-{i}")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                log.close()

        threads = [threading.Thread(target=writer, args=(f"r{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        log = EventLog(path)
        rows = log.read_stored()
        log.close()
        assert len(rows) == 200
        for n in range(4):
            assert [e.run_version for e in rows if e.run_id == f"r{n}"] == list(range(1, 51))

    def test_3_batch_groups_commands_and_fails_them_one_by_one(
        self, log_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Durability `batch`: commands share a transaction until it is due or committed;
        another reader sees none of them before; a command that fails takes only itself."""
        path = log_path
        # due by its count here, never by the clock: a busy machine's slow round trips to
        # the database server would make the group old enough before the check below
        monkeypatch.setattr(transactions, "BATCH_SECONDS", 3600.0)
        log = EventLog(path, durability="batch")
        reader = EventLog(path)
        try:
            log.append("r", 0, [STARTED], command_id="c1")
            with pytest.raises(VersionConflict):  # the second of three events collides
                log.append("r", 0, [setting(1), setting(2), setting(3)], command_id="c2")
            log.append("r", 1, [setting(4)], command_id="c3")
            assert log.pending and not log.due
            assert [e.command_id for e in log.read_stored("r")] == ["c1", "c3"]
            assert reader.read_stored("r") == []  # nothing committed yet
            log.commit()
            assert not log.pending
            assert [e.command_id for e in reader.read_stored("r")] == ["c1", "c3"]
            for version in range(2, 2 + BATCH_COMMANDS):  # full: due, RunStore commits it
                log.append("r", version, [setting(version)], command_id=f"n{version}")
            assert log.due
        finally:
            log.close()  # commits what is open
            last = reader.read_stored("r")[-1]
            reader.close()
        assert last.command_id == f"n{1 + BATCH_COMMANDS}"

    def test_4_a_command_id_produces_events_once(self, log: EventLog) -> None:
        first = log.append("r", 0, [STARTED, PAUSED], command_id="same")
        with pytest.raises(DuplicateCommand):
            log.append("r", 2, [setting(1)], command_id="same")
        assert log.events_of_command("same") == first
        assert len(log.read_stored("r")) == 2

    def test_5_payloads_are_tagged_msgpack_with_a_schema_version(self, log: EventLog) -> None:
        stored = log.append("r", 0, [setting(7)], command_id="c1")[0]
        assert stored.schema_version == SCHEMA_VERSIONS["VariableSet"]
        assert msgspec.msgpack.decode(stored.payload)["type"] == "VariableSet"
        assert to_record(stored).event == VariableSet(name="n", value=7)

    def test_6_events_are_never_changed_and_snapshots_are_a_cache(self, log: EventLog) -> None:
        stored = log.append("r", 0, [STARTED], command_id="c1")
        before = log.read_stored("r")
        log.append("r", 1, [PAUSED], command_id="c2")
        assert log.read_stored("r", until_seq=stored[-1].seq) == before
        log._db.execute("DELETE FROM snapshots")  # dropping the cache loses nothing
        assert log.snapshot_before("r") is None
        assert [e.type for e in log.read_stored("r")] == ["RunStarted", "RunPaused"]
