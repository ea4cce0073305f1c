"""The event log's storage rules, on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.fold import fold
from weboter.runtime.errors import LogCorrupt, LogTooNew, LogUnavailable, RunNotFound
from weboter.runtime.store import upcast
from weboter.runtime.store.eventlog import EventLog, VersionConflict, encode_event
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.schema import LOG_SCHEMA
from weboter.schemas.events import SCHEMA_VERSIONS, RunCompleted, RunStarted
from weboter.schemas.state import RunState

pytestmark = pytest.mark.timeout(60)


def test_seq_is_global_and_versions_are_per_run(runner: Runner) -> None:
    wf = flow(node("a", control="EndFlow"))
    first, second = runner.run(wf), runner.run(wf)
    seqs = [r.seq for r in first.events + second.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    for outcome in (first, second):
        assert [r.run_version for r in outcome.events] == list(range(1, len(outcome.events) + 1))


def test_unique_run_version_guards_against_a_second_writer(db_path: Path) -> None:
    log = EventLog(db_path)
    payload = encode_event(RunStarted())
    log.append("r1", 0, [("RunStarted", payload)], command_id="c1")
    with pytest.raises(VersionConflict):  # never a raw sqlite3.IntegrityError
        log.append("r1", 0, [("RunStarted", payload)], command_id="c2")
    # the failed transaction left nothing behind
    assert [e.command_id for e in log.read_stored("r1")] == ["c1"]


def test_snapshots_bound_replay_and_equal_the_full_fold(runner: Runner) -> None:
    wf = flow(
        node(
            "inc",
            "PyEvalAction",
            "LoopUntil",
            inputs={"expr": "(param1 or 0) + 1", "param1": "$global{n}"},
            outputs=[{"src": "result", "name": "n", "pos": "global"}],
            params={"loop_back": "inc", "loop_out": "__end__", "var": "$global{n}", "value": 30},
        ),
    )
    outcome = runner.run(wf, {"n": 0})
    assert outcome.ended.status == "COMPLETED"
    log = EventLog(runner.db_path)
    snapshots = log._db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
    assert snapshots >= 5  # snapshot_every=5 in the test engine
    for record in outcome.events:
        from_snapshot = state_at(log, outcome.run_id, record.seq)
        full = state_at_without_snapshots(log, outcome.run_id, record.seq)
        assert msgspec.to_builtins(from_snapshot) == msgspec.to_builtins(full)
    log.close()


def state_at_without_snapshots(log: EventLog, run_id: str, seq: int) -> RunState | None:
    return fold(log.read(run_id, until_seq=seq))


def test_upcaster_reads_old_events(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = EventLog(db_path)
    # a "version 1" RunCompleted that called its field `reason`; the current version says `end`
    old = msgspec.msgpack.encode({"type": "RunCompleted", "reason": "__exit__"})
    log.append("r", 0, [("RunCompleted", old)], command_id="c")
    monkeypatch.setitem(SCHEMA_VERSIONS, "RunCompleted", 2)

    @upcast.upcaster("RunCompleted", 1)
    def _v1(payload: dict) -> dict:
        return {"type": "RunCompleted", "end": payload.get("reason", "__end__")}

    try:
        [record] = list(log.read("r"))
        assert record.event == RunCompleted(end="__exit__")
        assert record.schema_version == 1  # read upcast, never rewritten
    finally:
        upcast.UPCASTERS.pop(("RunCompleted", 1))


def test_event_of_a_newer_version_is_a_clear_error(db_path: Path) -> None:
    log = EventLog(db_path)
    log._db.execute(
        "INSERT INTO events (run_id, run_version, type, schema_version, command_id, payload, "
        "recorded_at) VALUES ('r', 1, 'RunCompleted', 9, 'c', x'80', 0)"
    )
    with pytest.raises(LogTooNew, match="upgrade"):
        list(log.read("r"))


def test_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"this is no database" * 200)
    with pytest.raises(LogCorrupt, match="not an SQLite database"):
        EventLog(path)
    assert path.read_bytes() == b"this is no database" * 200


def test_foreign_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(LogCorrupt, match="not a Weboter log"):
        EventLog(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    EventLog(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={LOG_SCHEMA + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(LogTooNew, match="newer Weboter"):
        EventLog(path)


def test_unwritable_location_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LogUnavailable, match="cannot create the directory"):
        EventLog(blocker / "sub" / "weboter.db")


def test_run_ids_by_unique_prefix(runner: Runner) -> None:
    wf = flow(node("a", control="EndFlow"))
    run_id = runner.run(wf).run_id
    log = EventLog(runner.db_path)
    assert log.resolve_run_id(run_id[:6]) == run_id
    with pytest.raises(RunNotFound):
        log.resolve_run_id("zzzz")
    log.close()


def test_a_version_1_log_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    EventLog(path).close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE runs DROP COLUMN owner_pid")
    conn.execute("ALTER TABLE runs DROP COLUMN owner_host")
    conn.execute("ALTER TABLE runs DROP COLUMN lease_until")
    for column in ("error", "engine", "worker"):  # schema 4's
        conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    log = EventLog(path)
    columns = {r[1] for r in log._db.execute("PRAGMA table_info(runs)")}
    assert {"owner_pid", "owner_host", "lease_until", "error", "engine", "worker"} <= columns
    assert log._db.execute("PRAGMA user_version").fetchone()[0] == LOG_SCHEMA
    log.close()


def test_a_payload_that_does_not_decode_names_its_seq(tmp_path: Path) -> None:
    """msgspec's errors never reach a caller: the store says which event is unreadable."""
    path = tmp_path / "log.db"
    log = EventLog(path)
    stored = log.append("r", 0, [("RunStarted", encode_event(RunStarted()))], command_id="c1")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET payload = ? WHERE seq = ?", (b"\xc1garbage", stored[0].seq))
    conn.commit()
    conn.close()
    with pytest.raises(LogCorrupt, match=f"event seq {stored[0].seq} of run r"):
        list(log.read("r"))
    log.close()
