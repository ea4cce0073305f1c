"""Messages of the engine's run slots (runtime/core/admission.py): a run waits for one,
QUEUED, and a run whose node waits on other runs gives its slot up meanwhile."""

from __future__ import annotations

from weboter.schemas.base import _Command, _Msg


class QueueRun(_Command, frozen=True):
    """Continuous Executor -> State Manager: every run slot is taken (`max_runs`), so the run
    waits, QUEUED (RunQueued), to be started (`StartRun(queued=True)`) when one frees.
    `resume` and `expect_version` are those of the Drive it waits to do."""

    resume: bool = False
    expect_version: int | None = None
    ahead: int = 0


class YieldSlot(_Msg, frozen=True):
    """-> Continuous Executor: the run's node `version` in flight waits on something other
    than the run's own browser (e.g. its child runs), so its run slot goes to the next queued
    run meanwhile. The run takes a slot again (ahead of the queue) before its next node;
    ignored unless that node is still in flight. docs/scaling.md, "Runs at once"."""

    run_id: str
    version: int
