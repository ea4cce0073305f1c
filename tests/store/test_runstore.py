"""The write path with two writers on one log (two RunStores, as two processes would have):
conflicts are decided again on what the log says, never refused on a stale memory — on both
backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_decide_table import WF
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import IllegalTransition
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.runstore import RunStore
from weboter.schemas.messages import (
    CreateRun,
    PauseRun,
    RecordNodeResult,
    SetBreakpoint,
    StartRun,
)
from weboter.schemas.state import Breakpoint


def stores(path: Path) -> tuple[RunStore, RunStore]:
    return (
        RunStore(EventLog(path), default_catalog(), EnvSource({})),
        RunStore(EventLog(path), default_catalog(), EnvSource({})),
    )


def cmd(cls: type, n: str, **fields: object) -> object:
    return cls(command_id=n, run_id="r", reply_to="", **fields)


def test_a_refusal_on_a_remembered_state_is_checked_against_the_log(log_path: Path) -> None:
    a, b = stores(log_path)
    a.execute(cmd(CreateRun, "c1", workflow=WF))  # a remembers the run LOADED
    b.execute(cmd(StartRun, "c2"))  # b starts it: RUNNING
    outcome = a.execute(cmd(PauseRun, "c3"))  # allowed: the log says RUNNING
    assert [e.type for e in outcome.events] == ["PauseRequested"]


def test_a_conflict_is_decided_again_and_the_node_result_still_stands(log_path: Path) -> None:
    a, b = stores(log_path)
    a.execute(cmd(CreateRun, "c1", workflow=WF))
    started = a.execute(cmd(StartRun, "c2")).state
    # another process sets a breakpoint before b while a's node a is in flight
    other = b.execute(cmd(SetBreakpoint, "c3", breakpoint=Breakpoint(id="bp", node_id="b")))
    result = cmd(
        RecordNodeResult,
        "c4",
        version=started.version,
        node_id="a",
        flow_path=["t"],
    )
    outcome = a.execute(result)  # a's append conflicts; it reads the log and decides again
    assert [e.type for e in outcome.events] == ["NodeCompleted", "RunPaused"]
    assert outcome.state.pause_reason == "breakpoint"
    # what the new events follow in the log: the other process's event, so a subscriber of
    # this engine's stream sees the gap and catches up
    assert outcome.prev_seq == other.events[-1].seq


def test_a_repeated_create_returns_the_first_outcome(log_path: Path) -> None:
    a, _ = stores(log_path)
    first = a.execute(cmd(CreateRun, "c1", workflow=WF))
    again = RunStore(a.log, default_catalog(), EnvSource({})).execute(
        cmd(CreateRun, "c1", workflow=WF)
    )
    assert again.duplicate
    assert again.events == first.events
    with pytest.raises(IllegalTransition, match="already exists"):
        a.execute(cmd(CreateRun, "c9", workflow=WF))
