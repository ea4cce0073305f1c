"""The Node Runner: carries out one node — inputs, action, outputs, control — and reports.

Quick synchronous actions (data, expressions, SetData) run right in the actor's thread.
Async actions (I/O: the browser, HTTP, sleeping) and anything with retries run on the runner's
own asyncio loop thread, with the node's timeout. The runner owns one Chromium (launched on
first use) with a browser context per run, closed when the run ends. Either way the result
goes to the State Manager as one `RecordNodeResult`, addressed to reply to the executor.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from weboter.runtime.actions.inline import (
    Inline,
    context_for,
    failed,
    recordable,
    run_inline,
    runs_inline,
)
from weboter.runtime.browser.evidence import (
    EvidencePolicy,
    StepStart,
    begin,
    capture,
    describe,
)
from weboter.runtime.browser.expect import check
from weboter.runtime.browser.heal import acting
from weboter.runtime.browser.host import BrowserHost
from weboter.runtime.browser.look import look
from weboter.runtime.browser.pin import pin
from weboter.runtime.browser.restore import BrowserRestore
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Catalog
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.node import resolve_inputs
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.results import completed
from weboter.runtime.core.untrusted import scrub
from weboter.runtime.core.validate import MAX_ATTEMPTS
from weboter.runtime.errors import (
    ActionError,
    ActionTimeout,
    ReferenceError_,
    RestoreMismatch,
    WorkflowError,
)
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.workspace import Workspace
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import NODE_RUNNER, STATE_MANAGER
from weboter.runtime.transport.bridge import encode
from weboter.runtime.transport.seam import Transport
from weboter.schemas.messages import (
    CancelNode,
    ExecuteNode,
    LookAtPage,
    Message,
    PageLooked,
    RecordAttempt,
    RecordNodeResult,
    ReleaseRun,
)
from weboter.schemas.state import RestoreReport

log = logging.getLogger(__name__)

# the same input fails the same way again
NOT_RETRIED = (ReferenceError_, WorkflowError, RestoreMismatch)


class NodeRunner(MessageActor):
    address = NODE_RUNNER

    def __init__(
        self,
        bridge: Transport,
        catalog: Catalog,
        env: EnvSource,
        *,
        artifacts: ArtifactStore,
        evidence: EvidencePolicy = "on_error",
        browser: BrowserHost | None = None,
        restore: str = "auto",
        db_path: Path | None = None,
        workspace: Workspace | None = None,
        node_timeout: float | None = None,
        forget_env: bool = True,
    ) -> None:
        super().__init__(bridge)
        self.forget_env = forget_env  # a run's $env values go when it is released
        self.catalog = catalog
        self.env = env
        self.artifacts = artifacts
        self.evidence = evidence
        self.browser = browser or BrowserHost()
        self.restore = BrowserRestore(
            self.browser, artifacts, catalog, env, mode=restore, db_path=db_path
        )
        self.workspace = workspace
        self.inline = Inline(catalog, env, artifacts, workspace)
        self.node_timeout = node_timeout  # for a node without a timeout that does not run inline
        self.run_secrets: dict[str, dict[str, str]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._tasks: dict[asyncio.Task[None], str] = {}

    def started(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._run_loop, name="weboter-runner-loop", daemon=True
        )
        self._loop_thread.start()

    def _run_loop(self) -> None:
        assert self.loop is not None
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.bridge.close_outbox()

    def stopping(self) -> None:
        if self.loop is None or self._loop_thread is None:
            return
        loop = self.loop

        async def drain() -> None:
            # Only our node tasks: Playwright's own tasks must live to close the browser.
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.browser.close()  # no Chromium outlives the engine

        try:
            asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout=20)
        except Exception:
            log.exception("node runner: closing the browser failed")
        loop.call_soon_threadsafe(loop.stop)
        self._loop_thread.join(5)
        loop.close()

    def handle(self, message: Message) -> None:
        assert self.loop is not None
        if isinstance(message, ReleaseRun):
            self.run_secrets.pop(message.run_id, None)
            if self.forget_env:  # the values its client sent: gone with the run
                self.env.forget(message.run_id)
            asyncio.run_coroutine_threadsafe(self.browser.close_run(message.run_id), self.loop)
            return
        if isinstance(message, LookAtPage):
            asyncio.run_coroutine_threadsafe(self._look(message), self.loop)
            return
        if isinstance(message, CancelNode):
            self.loop.call_soon_threadsafe(self._cancel, message.run_id)
            return
        if not isinstance(message, ExecuteNode):
            log.warning("node runner: ignored %s", type(message).__name__)
            return
        if message.secrets:  # read by nodes the State Manager ran: redacted here too
            self.run_secrets.setdefault(message.run_id, {}).update(message.secrets)
        spec = self.catalog.find_action(message.node.action)
        if spec is not None and runs_inline(message.node, spec):
            # inline, in this thread: the common case and the fast one (a builtin, bounded by
            # the limits on values and expressions); a node with a `timeout`, or an action that
            # may not end on its own (a plugin's), goes to the loop and its timeout
            self._report(message, run_inline(message, spec, self.inline))
            return
        asyncio.run_coroutine_threadsafe(
            self._tracked(message.run_id, self._run_async(message, spec)), self.loop
        )

    async def _look(self, message: LookAtPage) -> None:
        """What the run's page shows (its browser put back first if this runner has none)."""
        found: dict[str, Any] = {}
        error = None
        try:
            recorded, hosts = self.restore.recorded(message.run_id)
            recorded = message.browser or recorded
            # the run's host rule holds while its page is looked at, too: the workflow's hosts
            # from the log (a worker has none: the engine's broker sends them)
            self.browser.limit(message.run_id, hosts if hosts is not None else message.allow_hosts)
            if recorded is None and not self.restore.host.has_session(message.run_id):
                raise ActionError(
                    f"run {message.run_id} has no page: none of its nodes has opened one"
                )
            session, report, put_back = await self.restore.session(
                message.run_id, recorded, self._replay
            )
            secrets = self.run_secrets.setdefault(message.run_id, {})
            secrets.update(put_back)
            if message.ref:  # which locator finds this element of the agent's last snapshot
                found = await pin(await session.page(), message.ref)
                found["element"] = scrub(found["element"], secrets)
            else:
                found = await look(
                    session,
                    self.artifacts,
                    secrets,
                    refs=message.refs,
                    screenshot=message.screenshot,
                )
            found["differences"] = report.differences if report else []
        except Exception as exc:  # said to the one who asked; the runner goes on
            error = error_context(exc, None, [])
        reply = PageLooked(
            command_id=message.command_id, run_id=message.run_id, error=error, **found
        )
        self.bridge.outbox().send(message.reply_to, reply)

    async def _replay(
        self, spec: ActionSpec, ctx: ActionContext, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """One recorded browser action again, within the engine's node timeout."""
        produced = spec.fn(ctx, inputs)
        if not inspect.isawaitable(produced):
            return produced
        return await asyncio.wait_for(produced, self.node_timeout)

    async def _tracked(self, run_id: str, coro: Awaitable[None]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = run_id
        try:
            await coro
        except asyncio.CancelledError:
            log.info("node runner: the action of run %s was cancelled", run_id)
        finally:
            self._tasks.pop(task, None)

    def _cancel(self, run_id: str) -> None:
        for task, owner in list(self._tasks.items()):
            if owner == run_id:
                task.cancel()

    # --- one node --------------------------------------------------------------------------

    async def _run_async(self, task: ExecuteNode, spec: ActionSpec | None) -> None:
        self._report(task, await self._attempts(task, spec))

    def _report(self, task: ExecuteNode, result: RecordNodeResult) -> None:
        """Send the result from whichever thread produced it; values that cannot be encoded
        (live objects) turn the node into a failure instead of a lost message."""
        self.run_secrets.setdefault(task.run_id, {}).update(result.secrets)
        payload = recordable(task, result, self.env)[1]
        self.bridge.outbox().send_raw(STATE_MANAGER, payload)

    async def _attempts(self, task: ExecuteNode, spec: ActionSpec | None) -> RecordNodeResult:
        started = time.perf_counter()
        policy = task.node.retry
        attempts = min(max(policy.attempts if policy else 1, 1), MAX_ATTEMPTS)
        delay = policy.backoff if policy else 0.0
        restored: RestoreReport | None = None
        for attempt in range(1, attempts + 1):
            ctx, resolver = self._context(task)
            start: StepStart | None = None
            inputs: dict[str, Any] = {}  # as resolved, for the failure's record too
            try:
                if spec is None:
                    spec = self.catalog.action(task.node.action)
                if spec.browser:
                    self.browser.lend(task.run_id, task.browser_of)  # an item run: its parent's
                    ctx.session, report, put_back = await self.restore.session(
                        task.run_id, task.browser, partial(self._call, task=task)
                    )
                    restored = report or restored
                    self.run_secrets.setdefault(task.run_id, {}).update(put_back)
                    resolver.secrets.update(self.run_secrets[task.run_id])  # redact them
                    if report is not None and report.differences:
                        raise RestoreMismatch(
                            f"node {task.node.id!r}: the run's browser came back "
                            f"({report.mode}) on a page unlike the recorded one: "
                            + "; ".join(report.differences),
                            hint="look at the page (evidence); to re-drive the run's browser "
                            "steps: `weboter continue RUN --restore redrive`; to go on with the "
                            "page as it is: `continue` in the same `weboter debug` session",
                        )
                    start = await self._begin(ctx, task)
                inputs = resolve_inputs(task.node, spec, resolver)
                inputs, outputs, healed = await acting(
                    partial(self._call, task=task), spec, ctx, inputs, task, self.restore.db_path
                )
                if spec.browser:
                    await check(ctx.browser, inputs)  # its post-condition, if it has one
                evidence = await self._evidence(ctx, spec, task, resolver, start, failed=False)
                result = self._complete(
                    task, ctx, resolver, (inputs, outputs), started, attempt, evidence
                )
                if spec.browser:
                    secrets = {**self.run_secrets.get(task.run_id, {}), **resolver.secrets}
                    browser = await self.restore.capture(
                        ctx.browser, spec, task.browser, secrets, task.run_id
                    )
                    result = msgspec.structs.replace(result, browser=browser)
                return msgspec.structs.replace(result, restored=restored, healed=healed)
            except Exception as exc:
                last = attempt == attempts or isinstance(exc, NOT_RETRIED)
                evidence = await self._evidence(ctx, spec, task, resolver, start, failed=last)
                if last:
                    failed = self._failed(task, resolver, exc, started, attempt, evidence)
                    return msgspec.structs.replace(failed, restored=restored, inputs=inputs)
                self._attempt_failed(task, resolver, exc, attempt)
                await asyncio.sleep(delay)
                delay *= policy.factor if policy else 1.0
        raise AssertionError("unreachable")

    def _attempt_failed(
        self, task: ExecuteNode, resolver: Resolver, exc: BaseException, attempt: int
    ) -> None:
        """Record a failed attempt now (it will be tried again): the log shows a long retry."""
        report = RecordAttempt(
            command_id=f"{task.command_id}-{attempt}",
            run_id=task.run_id,
            version=task.version,
            node_id=task.node.id,
            error=error_context(exc, task.node.id, task.flow_path, attempt),
            secrets=dict(resolver.secrets),
        )
        self.bridge.outbox().send_raw(STATE_MANAGER, encode(report))

    async def _evidence(
        self,
        ctx: ActionContext,
        spec: ActionSpec | None,
        task: ExecuteNode,
        resolver: Resolver,
        start: StepStart | None,
        *,
        failed: bool,
    ) -> dict[str, str]:
        policy = task.evidence or self.evidence  # the run's, else this process's
        if ctx.session is None or spec is None or not spec.browser or policy == "none":
            return {}
        if not failed and policy != "every_node":
            return {}
        secrets = {**self.run_secrets.get(task.run_id, {}), **resolver.secrets}
        return await capture(ctx.session, self.artifacts, secrets, start)

    async def _begin(self, ctx: ActionContext, task: ExecuteNode) -> StepStart | None:
        """At every node's evidence: the page before the step, and its traffic from now."""
        if ctx.session is None or (task.evidence or self.evidence) != "every_node":
            return None
        return await begin(ctx.session, self.artifacts)

    async def _call(
        self, spec: ActionSpec, ctx: ActionContext, inputs: dict[str, Any], *, task: ExecuteNode
    ) -> dict[str, Any]:
        timeout = task.node.timeout or self.node_timeout
        if not spec.is_async:  # in a thread, so the node's timeout holds however it is written
            produced: Any = asyncio.to_thread(spec.fn, ctx, inputs)
        else:
            produced = spec.fn(ctx, inputs)
            if not inspect.isawaitable(produced):
                return produced
        try:
            awaited: Awaitable[dict[str, Any]] = produced
            return await asyncio.wait_for(awaited, timeout) if timeout else await awaited
        except TimeoutError as exc:
            raise ActionTimeout(
                f"node {task.node.id!r}: {spec.name} did not finish within {timeout} s",
                hint="raise the node's `timeout` (or the engine's --node-timeout), or check "
                "what it waits for",
            ) from exc

    def _context(self, task: ExecuteNode) -> tuple[ActionContext, Resolver]:
        self.browser.limit(task.run_id, task.allow_hosts)
        ctx, resolver = context_for(task, self.inline)
        ctx.hosts = self.browser.rule_of(task.run_id)  # for the HTTP actions
        return ctx, resolver

    def _complete(
        self,
        task: ExecuteNode,
        ctx: ActionContext,
        resolver: Resolver,
        done: tuple[dict[str, Any], Any],
        started: float,
        attempt: int,
        evidence: dict[str, str] | None = None,
    ) -> RecordNodeResult:
        result = completed(task, ctx, resolver, done, started, attempt)
        return msgspec.structs.replace(result, evidence=evidence or {}) if evidence else result

    def _failed(
        self,
        task: ExecuteNode,
        resolver: Resolver,
        exc: BaseException,
        started: float,
        attempt: int,
        evidence: dict[str, str] | None = None,
    ) -> RecordNodeResult:
        result = failed(task, resolver, exc, started, attempt)
        if not evidence or result.error is None:
            return result
        where = describe(evidence, self.artifacts)
        error = msgspec.structs.replace(
            result.error,
            evidence=evidence,
            message=f"{result.error.message}\n  evidence: {where}"
            if where
            else result.error.message,
        )
        return msgspec.structs.replace(result, error=error)
