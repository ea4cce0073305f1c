"""The Launcher: job intake. Validates a workflow, gives the run its id, has the State Manager
create it, and hands it to an executor; also takes crash-resumes of existing runs."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import msgspec

from weboter.runtime.browser.evidence import POLICIES, keener
from weboter.runtime.core.admission import Admission
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.fork import fork_state
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.secrets import neutralise
from weboter.runtime.core.validate import validate
from weboter.runtime.errors import Finding, WeboterError, WorkflowInvalid
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import (
    CONTINUOUS_EXECUTOR,
    LAUNCHER,
    STATE_MANAGER,
    STEP_EXECUTOR,
)
from weboter.runtime.transport.seam import Transport
from weboter.schemas.context import ErrorContext, NodeModifications
from weboter.schemas.messages import (
    CommandRejected,
    Committed,
    CreateRun,
    Drive,
    ForkJob,
    JobAccepted,
    Message,
    ResumeJob,
    Step,
    SubmitJob,
)

log = logging.getLogger(__name__)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class Launcher(MessageActor):
    address = LAUNCHER

    def __init__(
        self,
        bridge: Transport,
        catalog: Catalog,
        db_path: Path,
        *,
        max_nodes: int = 0,
        env: EnvSource | None = None,
        on_error: str = "",
        evidence: str = "",
        admission: Admission | None = None,
    ) -> None:
        super().__init__(bridge)
        self.admission = admission or Admission()  # the engine's run slots and queue bound
        self.on_error = on_error  # a failing node's policy in a job that names none
        self.evidence = evidence  # the browser evidence of the runs (and forks) it makes
        self.env = env or EnvSource()  # where a job's own `$env` values are kept (in memory)
        self.max_nodes = max_nodes  # the node budget of a job that names none
        self.catalog = catalog
        self.db_path = db_path
        self.pending: dict[str, SubmitJob | ForkJob] = {}
        self._log: EventLog | None = None

    def stopping(self) -> None:
        if self._log is not None:
            self._log.close()

    def handle(self, message: Message) -> None:
        if isinstance(message, SubmitJob):
            self._submit(message)
        elif isinstance(message, ForkJob):
            self._fork(message)
        elif isinstance(message, ResumeJob):
            self.env.give(message.run_id, message.env)
            target = STEP_EXECUTOR if message.mode == "step" else CONTINUOUS_EXECUTOR
            if message.mode == "step":
                self.send(
                    target,
                    Step(
                        command_id=message.command_id,
                        run_id=message.run_id,
                        reply_to=message.reply_to,
                        resume=True,
                        expect_version=message.expect_version,
                    ),
                )
            else:
                self.send(
                    target,
                    Drive(
                        command_id=message.command_id,
                        run_id=message.run_id,
                        reply_to=message.reply_to,
                        resume=True,
                        expect_version=message.expect_version,
                    ),
                )
            self.send(
                message.reply_to, JobAccepted(command_id=message.command_id, run_id=message.run_id)
            )
        elif isinstance(message, Committed):
            self._created(message)
        elif isinstance(message, CommandRejected):
            self.admission.cancel(message.command_id)
            job = self.pending.pop(message.command_id, None)
            if job is not None:
                self.send(job.reply_to, message)
        else:
            log.warning("launcher: ignored %s", type(message).__name__)

    def _submit(self, job: SubmitJob) -> None:
        findings = validate(job.workflow, self.catalog)
        if job.evidence is not None and job.evidence not in POLICIES:
            said = f"evidence {job.evidence!r} is not one of {', '.join(POLICIES)}"
            findings = [*findings, Finding("error", "evidence", said)]
        if any(f.severity == "error" for f in findings):
            exc = WorkflowInvalid(job.source or job.workflow.id, findings)
            error = ErrorContext(kind="WorkflowInvalid", message=exc.message, hint=exc.hint)
            self.send(job.reply_to, CommandRejected(command_id=job.command_id, error=error))
            return
        if not self._room(job) or not self._track(job):
            return
        run_id = new_run_id()
        self.send(
            STATE_MANAGER,
            CreateRun(
                command_id=job.command_id,
                run_id=run_id,
                workflow=job.workflow,
                reply_to=self.address,
                variables=job.variables,
                source=job.source,
                max_nodes=self.max_nodes if job.max_nodes is None else job.max_nodes,
                client=job.client,
                on_error=self.on_error if job.on_error is None else job.on_error,
                evidence=self.evidence if job.evidence is None else job.evidence,
            ),
        )

    def _fork(self, job: ForkJob) -> None:
        """A new run from `job.run_id`'s state right after `job.at_seq`, with changes; its
        first event names the parent and the seq."""
        try:
            if self._log is None:
                self._log = EventLog(self.db_path, create=False)
            parent = state_at(self._log, job.run_id, job.at_seq)
            state = fork_state(  # the changes come from outside: no NUL may pass for a marker
                parent,
                job.at_seq,
                variables=neutralise(job.variables),
                patches=msgspec.convert(
                    neutralise(msgspec.to_builtins(job.patches)), dict[str, NodeModifications]
                ),
                max_nodes=job.max_nodes,
            )
        except WeboterError as exc:
            error = error_context(exc, None, [])
            self.send(
                job.reply_to,
                CommandRejected(command_id=job.command_id, error=error, run_id=job.run_id),
            )
            return
        if not self._room(job) or not self._track(job):
            return
        run_id = new_run_id()
        self.send(
            STATE_MANAGER,
            CreateRun(
                command_id=job.command_id,
                run_id=run_id,
                workflow=state.workflow,
                reply_to=self.address,
                source=f"fork of {job.run_id} at seq {job.at_seq}",
                parent_run=job.run_id,
                parent_seq=job.at_seq,
                initial_state=state,
                max_nodes=state.max_nodes,
                client=job.client,
                on_error=state.on_error if job.on_error is None else job.on_error,
                evidence=keener(state.evidence, self.evidence),  # the parent's or this engine's
            ),
        )

    def _room(self, job: SubmitJob | ForkJob) -> bool:
        """Back-pressure: a run to be driven needs a place in the engine (a run slot or the
        queue); with every one taken the job is refused at once, its run never created."""
        busy = None if job.start != "continuous" else self.admission.reserve(job.command_id)
        if busy is not None:
            self.send(job.reply_to, CommandRejected(command_id=job.command_id, error=busy))
        return busy is None

    def _track(self, job: SubmitJob | ForkJob) -> bool:
        """Remember a job until its run is created; a second job with the same command id
        while the first is in flight is refused (its answer would go astray)."""
        if job.command_id in self.pending:
            error = ErrorContext(
                kind="IllegalTransition",
                message=f"a job with command id {job.command_id!r} is already in flight",
                hint="give every job a new id (a UUID); repeat one only after its answer",
            )
            self.send(job.reply_to, CommandRejected(command_id=job.command_id, error=error))
            return False
        self.pending[job.command_id] = job
        return True

    def _created(self, message: Committed) -> None:
        job = self.pending.pop(message.command_id, None)
        if job is None:
            return
        run_id = message.run_id
        # the run exists now (and is the job's): its client's `$env` values, kept in memory
        self.env.give(run_id, job.env, parent=job.run_id if isinstance(job, ForkJob) else None)
        self.send(job.reply_to, JobAccepted(command_id=job.command_id, run_id=run_id))
        if message.duplicate or job.start != "continuous":
            self.admission.cancel(job.command_id)  # its place was not needed
        else:
            self.admission.rename(job.command_id, run_id)  # kept for it until it is driven
        if message.duplicate or job.start is None:
            return
        if job.start == "step":
            self.send(
                STEP_EXECUTOR,
                Step(command_id=uuid.uuid4().hex, run_id=run_id, reply_to=job.reply_to),
            )
        else:
            self.send(
                CONTINUOUS_EXECUTOR,
                Drive(command_id=uuid.uuid4().hex, run_id=run_id, reply_to=job.reply_to),
            )
