"""Many runs in a log, fast: written through the store's write path (RunStore), as an engine
writes them, without running any workflow. For tests of the runs list."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.conftest import flow, node
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.runstore import RunStore
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import CreateRun, FailRun, RecordNodeResult, StartRun
from weboter.schemas.workflow import Workflow

SHOP = to_workflow(
    flow(
        node("open", params={"next_node": "read"}),
        node("read", control="EndFlow"),
        id="shop",
        name="Shop scrape",
    ),
    "shop",
)
COUNTER = to_workflow(flow(node("init", control="EndFlow"), id="counter", name="Count"), "count")


class Writer:
    """The write path on the log at `path` (`with Writer(path) as w:`)."""

    def __init__(self, path: Path) -> None:
        self.log = EventLog(path)
        self.store = RunStore(self.log, default_catalog(), EnvSource({}))

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *_: object) -> None:
        self.log.close()

    def create(self, workflow: Workflow = SHOP, number: int = 0) -> str:
        """A new run (LOADED); its id begins with `number` in hex (ids sort as they were made)."""
        run_id = f"{number:04x}{uuid.uuid4().hex[:12]}"
        self.store.execute(
            CreateRun(command_id=_new(), run_id=run_id, reply_to="", workflow=workflow)
        )
        return run_id

    def fail(self, run_id: str, message: str, kind: str = "ActionTimeout") -> None:
        """The run FAILED with this error (as `weboter stop` of a broken run records it)."""
        error = ErrorContext(kind=kind, message=message)
        self.store.execute(FailRun(command_id=_new(), run_id=run_id, reply_to="", error=error))

    def start(self, run_id: str) -> None:
        """This process drives the run from now on (RUNNING at its first node)."""
        self.store.execute(StartRun(command_id=_new(), run_id=run_id, reply_to=""))

    def node_done(self, run_id: str, worker: str = "") -> None:
        """Its current node completed (on `worker`, or in this process: "")."""
        state = self.store.state(run_id)
        assert state is not None and state.current_node is not None
        self.store.execute(
            RecordNodeResult(
                command_id=_new(),
                run_id=run_id,
                reply_to="",
                version=state.version,
                node_id=state.current_node,
                flow_path=state.frame.flow_path,
                worker=worker,
            )
        )

    def node_failed(self, run_id: str, message: str, worker: str = "") -> None:
        """Its current node failed (on `worker`, as the broker names it): the run FAILED (its
        on_error policy is the default, fail)."""
        state = self.store.state(run_id)
        assert state is not None and state.current_node is not None
        self.store.execute(
            RecordNodeResult(
                command_id=_new(),
                run_id=run_id,
                reply_to="",
                version=state.version,
                node_id=state.current_node,
                flow_path=state.frame.flow_path,
                error=ErrorContext(kind="ActionError", message=message),
                worker=worker,
            )
        )


def make_runs(path: Path, count: int, failed: dict[int, str] | None = None) -> list[str]:
    """`count` runs, oldest first, every third of the workflow "Count" (the others "Shop
    scrape"):
    LOADED, or FAILED with the message `failed[i]` for run i."""
    made = []
    with Writer(path) as writer:
        for i in range(count):
            run_id = writer.create(COUNTER if i % 3 == 2 else SHOP, i)
            if failed and i in failed:
                writer.fail(run_id, failed[i])
            made.append(run_id)
    return made


def _new() -> str:
    return uuid.uuid4().hex
