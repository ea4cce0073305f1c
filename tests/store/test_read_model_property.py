"""One read model: whatever commands a run went through (starts, steps, node results and
errors, on the engine or on a worker, pauses, variables, rewinds, forks, stops), the `runs`
list says the status the fold says, the failure it is searched by while it is ERROR or FAILED,
and the worker that ran its newest node (none when the engine ran it). Hypothesis drives the
write path (RunStore) directly on a real SQLite file (and a PostgreSQL database)."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import postgres_database
from tests.core.test_decide_table import ERR, WF
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.decide import Command
from weboter.runtime.core.fork import fork_state
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import IllegalTransition
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.listing import RunFilter, error_text
from weboter.runtime.store.location import log_location
from weboter.runtime.store.postgres import close_pools
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.runstore import RunStore
from weboter.schemas.events import NodeCompleted, NodeFailed
from weboter.schemas.messages import (
    CreateRun,
    FailRun,
    JumpTo,
    PauseRun,
    QueueRun,
    RecordNodeResult,
    Rewind,
    SetVariable,
    StartRun,
    StopRun,
)

STEPS = [
    *("start", "step", "ok", "error", "pause", "set", "rewind", "fork", "stop", "fail", "jump"),
    *("queue", "dequeue"),  # waiting for a run slot (runtime/core/admission.py), then started
]


def command(store: RunStore, run_id: str, step: str, pick: int) -> Command | None:
    state = store.state(run_id)
    assert state is not None
    base = {"command_id": uuid.uuid4().hex, "run_id": run_id, "reply_to": ""}
    node = state.current_node or ""
    match step:
        case "start" | "step":
            return StartRun(**base, mode="step" if step == "step" else "continuous")
        case "ok" | "error":
            return RecordNodeResult(
                **base,
                version=state.version,
                node_id=node,
                flow_path=state.frame.flow_path,
                error=ERR if step == "error" else None,
                worker=("", "w1", "w2")[pick % 3],  # the broker names the worker, if any
            )
        case "queue":
            return QueueRun(**base, resume=pick % 2 == 1)
        case "dequeue":
            return StartRun(**base, queued=True, resume=pick % 2 == 1)
        case "pause":
            return PauseRun(**base)
        case "set":
            return SetVariable(**base, name="n", value=pick, scope="global")
        case "rewind":
            return Rewind(**base, to_seq=1 + pick % max(state.seq, 1))
        case "stop":
            return StopRun(**base)
        case "fail":
            return FailRun(**base, error=ERR)
        case "jump":
            return JumpTo(**base, node_id="ab"[pick % 2])
    return None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 50)), max_size=25))
def test_runs_status_always_equals_the_fold(tmp_path: Path, steps: list[tuple[str, int]]) -> None:
    check(EventLog(tmp_path / f"{uuid.uuid4().hex}.db"), steps)


@settings(  # fewer examples: each makes a database on the server
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 50)), max_size=25))
def test_runs_status_always_equals_the_fold_on_postgresql(
    tmp_path: Path, steps: list[tuple[str, int]]
) -> None:
    check(EventLog(log_location(postgres_database(), home=tmp_path)), steps)


def check(log: EventLog, steps: list[tuple[str, int]]) -> None:
    """The `runs` row of every run says the status the fold gives, after each step."""
    store = RunStore(log, default_catalog(), EnvSource({}))
    try:
        runs = [uuid.uuid4().hex[:8]]
        store.execute(CreateRun(command_id="c0", run_id=runs[0], reply_to="", workflow=WF))
        for step, pick in steps:
            run_id = runs[pick % len(runs)]
            try:
                if step == "fork":
                    runs.append(fork(store, log, run_id, pick))
                else:
                    cmd = command(store, run_id, step, pick)
                    assert cmd is not None
                    store.execute(cmd)
            except IllegalTransition:
                pass  # refused: nothing changed, and the check below still holds
            listed = {r.run_id: r.status for r in log.runs(limit=1000)}
            rows = {r.run_id: r for r in log.runs_page(RunFilter(), 1000).runs}
            for known in runs:
                state = state_at(log, known)
                assert listed[known] == rows[known].status == str(state.status)
                failing = state.error is not None and listed[known] in ("ERROR", "FAILED")
                error = error_text(state.error.kind, state.error.message) if failing else None  # type: ignore[union-attr]
                assert rows[known].error == error
                assert rows[known].worker == worker_of(log, known)
    finally:
        log.close()
        close_pools()


def worker_of(log: EventLog, run_id: str) -> str | None:
    """The worker that ran the run's newest node run, from its events: none when the engine
    ran it (a run taken back from its workers no longer names one)."""
    ran = [to_record(r).event for r in log.read_stored(run_id)]
    found = [
        e.worker
        for e in ran
        if isinstance(e, NodeFailed) or (isinstance(e, NodeCompleted) and e.attempts)
    ]
    return (found[-1] or None) if found else None


def fork(store: RunStore, log: EventLog, run_id: str, pick: int) -> str:
    seqs = [e.seq for e in log.read_stored(run_id)]
    at = seqs[pick % len(seqs)]
    state = fork_state(state_at(log, run_id, at), at, variables={"n": pick})
    child = uuid.uuid4().hex[:8]
    store.execute(
        CreateRun(
            command_id=uuid.uuid4().hex,
            run_id=child,
            reply_to="",
            workflow=state.workflow,
            parent_run=run_id,
            parent_seq=at,
            initial_state=state,
        )
    )
    return child
