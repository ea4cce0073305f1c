"""The one read path (runtime/store/reading.py) on real logs written by a real engine: a
Reader opens the log for a `with` and never makes one; it names events by seq, which counts
across every run in the log, so a run's seqs may skip other runs' events."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.conftest import Runner, counter, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.errors import LogUnavailable, UsageError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.reading import Reader

pytestmark = pytest.mark.timeout(60)


def test_a_reader_never_makes_a_log_unless_asked(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "weboter.db"
    with pytest.raises(LogUnavailable, match="no event log"):
        Reader(missing)
    assert not missing.exists()
    with Reader(missing, create=True) as log:  # a page or a tool that works from the start
        assert (log.runs(), log.last_seq()) == ([], 0)
    assert missing.exists()


def interleaved(runner: Runner) -> tuple[str, str]:
    """Run A waits (LOADED) while run B runs whole; then A runs: A's seqs skip B's."""
    waiting = runner.client.submit(to_workflow(counter(limit=3), "test"), start=None)
    other = runner.run(flow(node("a", control="EndFlow"))).run_id
    runner.client.cont(waiting)
    assert runner.client.wait(waiting, timeout=30).status == "COMPLETED"
    return waiting, other


def test_events_by_seq_across_two_runs(runner: Runner) -> None:
    run, other = interleaved(runner)
    with Reader(runner.db_path) as log:
        mine = [r.seq for r in log.events(run)]
        theirs = [r.seq for r in log.events(other)]
        assert mine[0] < theirs[0] < theirs[-1] < mine[1]  # one numbering for the whole log
        assert (log.first_seq(run), log.last_seq(run)) == (mine[0], mine[-1])
        assert log.run_id(run[:6]) == run
        # a point between two of its events is the earlier one; outside them, a clear error
        assert log.event_at(run, theirs[-1]).seq == mine[0]
        assert log.event_at(run, mine[3]).seq == mine[3]
        for outside in (mine[-1] + 1, 0, True, "3"):
            with pytest.raises(UsageError, match=f"from seq {mine[0]} to seq {mine[-1]}"):
                log.event_at(run, outside)
        assert [r.seq for r in log.around(run, mine[1], 2)] == mine[0:4]
        assert [r.seq for r in log.around(run, mine[-1], 2)] == mine[-3:]
        # the state at a seq of a second run is the fold's, with or without the Reader
        second = EventLog(runner.db_path, create=False)
        try:
            for seq in mine[1:]:
                assert msgspec.to_builtins(log.state(run, seq)) == msgspec.to_builtins(
                    state_at(second, run, seq)
                )
        finally:
            second.close()
        snapshot = log.snapshot(run, mine[-1])
        assert snapshot.seq == mine[-1]
        assert [h.seq for h in snapshot.history] == [s.seq for s in log.history(run)]


def test_runs_steps_and_comparisons_from_one_reader(runner: Runner) -> None:
    run, other = interleaved(runner)
    with Reader(runner.db_path) as log:
        assert [r.run_id for r in log.runs()] == [other, run]
        steps = log.history(run)
        assert [s.node_id for s in steps][:2] == ["init", "inc"]
        seq, node_id = log.step_back(run)
        assert node_id == steps[-1].node_id and seq < steps[-1].seq
        assert log.diff(run, run).first_divergence is None
        assert log.evidence(run) is None  # no browser step kept any page
        assert log.fingerprints("f", ["f"], "inc") == []  # nor acted on an element
        kinds = [r.type for r in log.decoded(log.of_types(run, ("NodeCompleted",)))]
        assert kinds == ["NodeCompleted"] * len(steps)
