"""The one read path: every question the front ends (the CLI, the terminal debugger, the dev UI,
MCP), the engine's helpers and the browser layer ask of the log, answered by one `Reader`.

    with Reader(db_path) as log:
        run = log.run_id("5be0")          # a unique prefix is enough
        state = log.state(run, at=176)    # right after the event at seq 176
        steps = log.history(run)

A Reader opens the log for as long as the `with` lasts (one request, one tool call, one
command) and never writes. Events are named by their seq, the log's one numbering: it counts
across every run in the file, and it is what `--at`, forks, rewinds and the UI take and show.
Writers go through RunStore (runtime/store/runstore.py), never through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import EnvSource, display
from weboter.runtime.errors import RunNotFound, UsageError
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.listing import ListedRun, RunFilter, RunPage
from weboter.runtime.store.projection import context_snapshot, state_at
from weboter.runtime.store.runs import RunSummary
from weboter.runtime.store.verify import Comparison, Divergence, Step, diff, history, step_back
from weboter.runtime.store.verify import verify as verify_run
from weboter.schemas.context import ContextSnapshot
from weboter.schemas.events import EventRecord, NodeCompleted, NodePatched, RunCreated
from weboter.schemas.messages import StoredEvent
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Workflow

STEPS = ("NodeCompleted", "NodeFailed")  # a node ran: where evidence and fingerprints are
FINGERPRINT_RUNS = 20  # the most recent runs of a workflow whose fingerprints count
FINGERPRINTS = 50  # at most this many per node
REVERTED = "heal reverted"  # a RepairRejected's reason: `weboter heal RUN --revert NODE`


@dataclass(frozen=True)
class Evidence:
    """What a node step kept of its page (secrets as references; never the storage)."""

    seq: int  # the step's event
    node_id: str
    kept: dict[str, Any]  # url, title, screenshot, dom, aria: those it kept
    later: int = 0  # browser steps of the run after it (its page may have changed since)


class Reader:
    """The log at `path`, opened for reading: `with Reader(path) as log:`. LogUnavailable when
    there is none; `create=True` makes it first (a page or a tool that works from the start)."""

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self.path = Path(path)
        self._log = EventLog(self.path, create=create)

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._log.close()

    # --- runs --------------------------------------------------------------------------------

    def run_id(self, prefix: str) -> str:
        """The one run whose id starts with `prefix` (RunNotFound: none, or several)."""
        return self._log.resolve_run_id(prefix)

    def runs(self, limit: int = 100) -> list[RunSummary]:
        """The newest runs, newest first."""
        return self._log.runs(limit)

    def runs_page(self, found: RunFilter, limit: int, offset: int = 0) -> RunPage:
        """A page of the runs list: the runs `found` finds, newest first, `limit` of them after
        the first `offset`, with how many it finds in all (runtime/store/listing.py)."""
        return self._log.runs_page(found, limit, offset)

    def listed(self, run_id: str) -> ListedRun:
        """The run's row of the runs list: how long it ran, who drives it or drove it."""
        found = self._log.runs_page(RunFilter(run_id=run_id), 1).runs
        if not found:
            raise RunNotFound(f"no run {run_id!r} in this log", hint="`weboter runs` lists them")
        return found[0]

    def children(self, run_id: str) -> list[str]:
        """The runs forked from `run_id`, oldest first."""
        return self._log.children_of(run_id)

    def present(self, run_ids: list[str]) -> set[str]:
        """Which of `run_ids` the log has."""
        return self._log.present(run_ids)

    def driver(self, run_id: str) -> tuple[int, str] | None:
        """(pid, host) of the live process of this host that drives the run, if any."""
        return self._log.driver(run_id)

    def driven_here(self, *, queued: bool = False) -> list[str]:
        """The runs this process drives now (`queued`: and those it queued)."""
        return self._log.driven_here(queued=queued)

    def orphaned(self, *, starting: bool = True) -> list[str]:
        """Runs whose driving process is gone (EventLog.orphaned says which)."""
        return self._log.orphaned(starting=starting)

    def queued(self) -> list[tuple[str, int]]:
        """The QUEUED runs in queue order, each with the runs ahead of it (its engine's)."""
        return self._log.queued()

    # --- a run at a point: its state, history, snapshot ----------------------------------------

    def last_seq(self, run_id: str | None = None) -> int:
        """The seq of the log's newest event (of `run_id`'s, if given); 0 when there is none."""
        return self._log.last_seq(run_id)

    def state(self, run_id: str, at: int | None = None) -> RunState:
        """The run right after the event at seq `at` (its latest state without)."""
        return state_at(self._log, run_id, at)

    def snapshot(
        self, run_id: str, at: int | None = None, *, steps: bool = True
    ) -> ContextSnapshot:
        """The run at seq `at` as clients read it: status, variables, and (with `steps`) the
        nodes it ran."""
        return context_snapshot(self._log, run_id, at, history=steps)

    def history(self, run_id: str, until: int | None = None) -> list[Step]:
        """The run's executed steps as they stand (a fork's begin with its parent's)."""
        return history(self._log, run_id, until)

    def step_back(self, run_id: str) -> tuple[int, str]:
        """(the seq right before the run's last executed node, that node's id)."""
        return step_back(self._log, run_id)

    def verify(
        self, run_id: str, catalog: Catalog, env: EnvSource, workflow: Workflow | None = None
    ) -> tuple[int, Divergence | None]:
        """The run's control decisions replayed: (checked, the first divergence or None)."""
        return verify_run(self._log, run_id, catalog, env, workflow)

    def diff(self, run_a: str, run_b: str) -> Comparison:
        """Two runs side by side, step by step."""
        return diff(self._log, run_a, run_b)

    # --- events, by seq ------------------------------------------------------------------------

    def events(
        self,
        run_id: str | None = None,
        *,
        after: int = 0,
        until: int | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """Stored events with `after` < seq <= `until`, oldest first (of one run, if given)."""
        return self._log.read_stored(run_id, after_seq=after, until_seq=until, limit=limit)

    def records(
        self, run_id: str | None = None, *, after: int = 0, until: int | None = None
    ) -> Iterator[EventRecord]:
        """The same, decoded, read in batches (memory stays flat on a long run)."""
        return self._log.read(run_id, after_seq=after, until_seq=until)

    def of_types(
        self,
        run_id: str,
        types: tuple[str, ...],
        *,
        after: int = 0,
        until: int | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """A run's stored events of these types (oldest first, unless `newest_first`)."""
        return self._log.stored_of_types(
            run_id, types, after_seq=after, until_seq=until, newest_first=newest_first, limit=limit
        )

    @staticmethod
    def decoded(rows: list[StoredEvent]) -> list[EventRecord]:
        """Stored events with their payloads decoded (LogCorrupt, naming the seq, if one does
        not decode)."""
        return [to_record(row) for row in rows]

    def event_at(self, run_id: str, seq: Any) -> StoredEvent:
        """The run's event at seq `seq`, or its last one before it (a point between two of its
        events, as a slider gives). UsageError, saying the run's first and last seq, for a
        point outside them."""
        first, last = self.first_seq(run_id), self.last_seq(run_id)
        if isinstance(seq, bool) or not isinstance(seq, int) or not first <= seq <= last:
            raise UsageError(
                f"run {run_id} has events from seq {first} to seq {last}; there is none of it "
                f"at seq {seq}",
                hint="pick a point on the timeline (a seq `weboter history RUN` lists)",
            )
        return self._log.stored_before(run_id, seq + 1, 1)[0]

    def first_seq(self, run_id: str) -> int:
        """The seq of the run's first event (0 when it has none)."""
        found = self._log.read_stored(run_id, limit=1)
        return found[0].seq if found else 0

    def around(self, run_id: str, seq: int, count: int) -> list[StoredEvent]:
        """The run's event at `seq` with up to `count` of its events on each side, oldest
        first."""
        before = self._log.stored_before(run_id, seq, count)
        return [
            *reversed(before),
            *self._log.read_stored(run_id, after_seq=seq - 1, limit=count + 1),
        ]

    # --- evidence, fingerprints --------------------------------------------------------------

    def evidence(self, run_id: str, at: int | None = None, *, steps: int = 1) -> Evidence | None:
        """The page kept by the newest of the run's last `steps` node steps at or before seq
        `at` that kept any (None: none of them did)."""
        later = 0
        for row in self.of_types(run_id, STEPS, until=at, newest_first=True, limit=steps):
            event: Any = to_record(row).event
            found = getattr(event, "evidence", None) or getattr(
                getattr(event, "error", None), "evidence", None
            )
            kept = {k: v for k, v in (found or {}).items() if k != "storage" and v}
            if kept:  # cookies and storage: never shown
                return Evidence(row.seq, event.node_id, display(kept), later)
            later += getattr(event, "browser", None) is not None
        return None

    def fingerprints(
        self, workflow_id: str, flow_path: list[str], node_id: str
    ) -> list[dict[str, Any]]:
        """The elements this node (same workflow, flow and id) acted on when it succeeded in
        the workflow's most recent runs, newest first: what the healer matches a page with."""
        found: list[dict[str, Any]] = []
        runs = [r.run_id for r in self._log.runs(500) if r.workflow_id == workflow_id]
        for run_id in runs[:FINGERPRINT_RUNS]:
            for row in self.of_types(run_id, ("NodeCompleted",), newest_first=True):
                event = to_record(row).event
                if (
                    isinstance(event, NodeCompleted)
                    and event.node_id == node_id
                    and event.flow_path == flow_path
                ):
                    found += [e for e in event.elements if e]
                if len(found) >= FINGERPRINTS:
                    return found
        return found

    def remembered(
        self, workflow_id: str, flow_path: list[str], node_id: str
    ) -> tuple[Any, Any, str] | None:
        """The workflow's repair memory for one node: (the locator it was written with, the
        locator a heal or an applied repair gave it, the run that found it), from the
        workflow's most recent run that changed it (and did not reject that change later) —
        None when none did."""
        runs = [r.run_id for r in self._log.runs(500) if r.workflow_id == workflow_id]
        undone = _reverted(self, runs[:FINGERPRINT_RUNS], node_id)  # in any run: never again
        for run_id in runs[:FINGERPRINT_RUNS]:
            rejected = self.decoded(self.of_types(run_id, ("RepairRejected",)))
            reverted = max(  # `weboter heal RUN --revert NODE`: the memory stops there
                (
                    r.seq
                    for r in rejected
                    if getattr(r.event, "node_id", None) == node_id
                    and str(getattr(r.event, "reason", "")).startswith(REVERTED)
                ),
                default=0,
            )
            patched = [
                (row.seq, event)
                for row in self.of_types(run_id, ("NodePatched",), newest_first=True)
                if isinstance(event := to_record(row).event, NodePatched)
                and event.node_id == node_id
                and event.flow_path == flow_path
                and event.changes.inputs
                and event.changes.inputs.get("locator") is not None
            ]
            if reverted and not any(seq > reverted for seq, _ in patched):
                return None
            for _seq, event in patched:
                assert event.changes.inputs is not None
                was = _written(self, run_id, flow_path, node_id)
                now = event.changes.inputs["locator"]
                if was is not None and was != now and now not in undone:
                    return was, now, run_id
        return None


def _written(log: Reader, run_id: str, flow_path: list[str], node_id: str) -> Any:
    """The node's locator as the run's workflow was written (its RunCreated)."""
    created = log.of_types(run_id, ("RunCreated",), limit=1)
    if not created:
        return None
    event = to_record(created[0]).event
    if not isinstance(event, RunCreated):
        return None
    node = index_for(event.workflow).node(flow_path, node_id)
    return node.inputs.get("locator") if node is not None else None


def _reverted(log: Reader, runs: list[str], node_id: str) -> list[Any]:
    """The locators a person reverted a heal of `node_id` to not be, in any of `runs`."""
    found = []
    for run_id in runs:
        for record in log.decoded(log.of_types(run_id, ("RepairRejected",))):
            event = record.event
            if (
                getattr(event, "node_id", None) == node_id
                and str(getattr(event, "reason", "")).startswith(REVERTED)
                and event.action.modifications is not None  # type: ignore[union-attr]
                and event.action.modifications.inputs  # type: ignore[union-attr]
            ):
                found.append(event.action.modifications.inputs.get("locator"))  # type: ignore[union-attr]
    return found
