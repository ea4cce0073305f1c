"""Putting a run's browser back in a Node Runner that has no context for it (the run was
resumed, rewound, forked, or goes on in another process), and capturing what to put back.

Three modes (setting `browser_restore`, `--restore`; docs/debugging.md):
- captured: a new context with the recorded cookies and storage, the recorded tabs opened,
  their form fields filled and scrolled as they were (runtime/browser/snapshot.py);
- redrive: do the run's recorded browser actions again, in order (those that may change the
  session; secrets resolved again from `$env`);
- auto (the default): captured, unless the snapshot says the page held something it could not
  capture or the restored page differs from the recorded one; then redrive.

Either way the page is then checked against the snapshot (URL, fields, text). The outcome is a
`RestoreReport` (recorded as a BrowserRestored event); with differences left, the node fails
with RestoreMismatch and the run pauses in ERROR — it never goes on with a page that differs.
A recorded page that does not open at all (the site is down) fails the node the same way, at
once, saying which URL did not answer; the half-made context is dropped, so a retry restores
again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weboter.runtime.browser.host import BrowserHost, RunSession
from weboter.runtime.browser.lean import collect_garbage
from weboter.runtime.browser.snapshot import NotOpened, differences, put_back, take
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Catalog
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import MISSING, EnvSource, Resolver
from weboter.runtime.core.secrets import redact
from weboter.runtime.errors import RestoreMismatch
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.reading import Reader
from weboter.schemas.state import BrowserState, RestoreReport

log = logging.getLogger(__name__)

MODES = ("auto", "captured", "redrive")
# how Chromium and Playwright say that a site did not answer a navigation
NO_ANSWER = re.compile(
    r"net::ERR_(?:CONNECTION_\w+|TIMED_OUT|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|"
    r"INTERNET_DISCONNECTED|EMPTY_RESPONSE|NETWORK_CHANGED)"
)
TIMED_OUT = re.compile(r"Timeout (\d+)ms exceeded")  # a page.goto that got no page in time

# calls one action with the node's timeout: (spec, ctx, inputs) -> outputs
Call = Callable[[ActionSpec, ActionContext, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class BrowserRestore:
    host: BrowserHost
    artifacts: ArtifactStore
    catalog: Catalog
    env: EnvSource
    mode: str = "auto"  # or "captured", "redrive"
    db_path: Path | None = None

    async def session(
        self, run_id: str, recorded: BrowserState | None, call: Call
    ) -> tuple[RunSession, RestoreReport | None, dict[str, str]]:
        """The run's browser session: the live one, or one put back from what was recorded
        (with the report of how, and how the page differs from the recorded one), and the
        secrets the restore put into the page (the run's nodes must redact them from now on:
        this process may never have seen them). RestoreMismatch when a recorded page cannot
        be opened again (the site is down): nothing half put back stays for the next try."""
        if self.host.has_session(run_id) or recorded is None:
            return await self.host.session(run_id), None, {}
        try:
            return await self._put_back(run_id, recorded, call)
        except NotOpened as gone:
            await self.host.discard(run_id)
            raise not_opened(run_id, gone) from None

    async def _put_back(
        self, run_id: str, recorded: BrowserState, call: Call
    ) -> tuple[RunSession, RestoreReport, dict[str, str]]:
        started = time.perf_counter()
        snapshot = self._snapshot(run_id, recorded)
        resolver = Resolver(self.env.for_run(run_id))
        secrets = self._secrets(run_id, snapshot)
        fallback: list[str] = []
        if self.mode in ("captured", "auto"):
            storage = {k: snapshot.get(k) or [] for k in ("cookies", "origins")}
            session = await self.host.session(run_id, ("", resolver.unmark(storage)))
            found = list(snapshot.get("uncaptured") or [])
            found += await put_back(session, snapshot, resolver)
            found += await differences(session, snapshot, resolver, secrets)
            if not found or self.mode == "captured":
                report = _report("captured", found, [], started)
                return session, report, {**secrets, **resolver.secrets}
            fallback = found
            await self.host.discard(run_id)
        session = await self.host.session(run_id)
        await self._redrive(run_id, session, call, resolver)
        found = await differences(session, snapshot, resolver, secrets)
        return (
            session,
            _report("redrive", found, fallback, started),
            {**secrets, **resolver.secrets},
        )

    def recorded(self, run_id: str) -> tuple[BrowserState | None, list[str] | None]:
        """The run's browser as its log last recorded it (None: no page yet), and its
        workflow's allow_hosts (None, None: this process has no log)."""
        if self.db_path is None:
            return None, None
        with Reader(self.db_path) as reader:
            state = reader.state(run_id)
        return state.browser, state.workflow.allow_hosts

    def _snapshot(self, run_id: str, recorded: BrowserState) -> dict[str, Any]:
        """The recorded snapshot (markers left in); an older log's has only the active tab."""
        snapshot: dict[str, Any] = {}
        if recorded.storage:
            try:
                snapshot = json.loads(self.artifacts.get(recorded.storage))
            except (OSError, ValueError):
                log.warning(
                    "run %s: stored browser state %s is unreadable", run_id, recorded.storage
                )
                snapshot = {"uncaptured": ["the stored browser state is unreadable"]}
        if "tabs" not in snapshot and recorded.url:
            snapshot["tabs"] = [{"url": recorded.url}]
        return snapshot

    def _secrets(self, run_id: str, snapshot: dict[str, Any]) -> dict[str, str]:
        """The secrets the snapshot's text fingerprint was taken without, read again."""
        env = self.env.for_run(run_id)
        found = {ref: env.get(ref) for ref in snapshot.get("secrets") or []}
        return {ref: str(value) for ref, value in found.items() if value is not MISSING}

    async def _redrive(
        self, run_id: str, session: RunSession, call: Call, resolver: Resolver
    ) -> None:
        if self.db_path is None:
            return
        with Reader(self.db_path) as reader:
            steps = reader.history(run_id)
            index = index_for(reader.state(run_id).workflow)
        for step in steps:
            node = index.node(step.flow_path, step.node_id)
            spec = self.catalog.find_action(node.action) if node else None
            if spec is None or not spec.browser or spec.reads_only:
                continue
            ctx = ActionContext(
                run_id=run_id,
                node_id=step.node_id,
                flow_vars={},
                globals={},
                session=session,
                artifacts=self.artifacts,
            )
            inputs = resolver.unmark(step.inputs)
            try:
                await call(spec, ctx, inputs)
            except Exception as exc:  # a step that does not replay shows in the check after
                code = NO_ANSWER.search(str(exc))
                if code is not None:  # unless the site is gone: the next steps would wait
                    url = str(inputs.get("url") or "its site")
                    raise NotOpened(url, code[0], step.node_id) from None
                log.warning("run %s: re-driving %s failed: %s", run_id, step.node_id, exc)

    async def capture(
        self,
        session: RunSession,
        spec: ActionSpec,
        before: BrowserState | None,
        secrets: dict[str, str],
        run_id: str,
    ) -> BrowserState | None:
        """The page after a browser node (redacted), to restore the run later. After an
        action that only reads the page, the snapshot taken before is carried over. Every
        few pages the run's tabs loaded, their garbage is collected (runtime/browser/lean.py)."""
        if session.loads.due():
            await collect_garbage(session.context, list(session.context.pages))
        if spec.reads_only and before is not None:
            page = session.current
            url = page.url if page is not None and not page.is_closed() else before.url
            return BrowserState(url=url, storage=before.storage)
        try:
            snapshot, cookies = await asyncio.gather(
                take(session, secrets), session.context.cookies()
            )
            snapshot["cookies"] = cookies
        except Exception as exc:
            log.info("run %s: browser state not captured: %s", run_id, exc)
            return None
        page = session.current
        url = page.url if page is not None and not page.is_closed() else ""
        text = json.dumps(redact(snapshot, secrets), sort_keys=True)
        return BrowserState(url=url, storage=self.artifacts.put(text.encode(), ".json"))


def not_opened(run_id: str, gone: NotOpened) -> RestoreMismatch:
    """The error of a restore whose recorded page did not open again: which URL, why, and
    what to do (the run waits in ERROR: runtime/core/recover.py)."""
    how = f"re-driving its step {gone.step!r}" if gone.step else "opening its recorded page"
    answer, late = NO_ANSWER.search(gone.reason), TIMED_OUT.search(gone.reason)
    if answer:
        why = f"the site did not answer at {gone.url} ({answer[0]})"
    elif late:
        why = f"the site did not answer at {gone.url} within {int(late[1]) / 1000:g} s"
    else:
        why = f"{gone.url} did not open ({gone.reason})"
    other = (
        "`--restore captured` opens the recorded pages instead of doing the run's browser "
        "steps again"
        if gone.step
        else "`--restore redrive` does the run's browser steps again instead of opening the "
        "recorded page"
    )
    return RestoreMismatch(
        f"the run's browser could not be put back ({how}): {why}",
        hint=f"start the site (or check that this machine reaches it), then `weboter retry "
        f"{run_id[:8]}` puts the browser back again; {other} (--restore on retry, continue or "
        'fork; docs/debugging.md, "Browser restore")',
    )


def _report(mode: str, found: list[str], fallback: list[str], started: float) -> RestoreReport:
    return RestoreReport(
        mode=mode,
        differences=found,
        fallback=fallback,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
