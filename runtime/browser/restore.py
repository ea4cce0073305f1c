"""Putting a run's browser back in a Node Runner that has no context for it (the run was
resumed, rewound, forked, or goes on in another process), and capturing what to put back.

Two ways (setting `browser_restore`, docs/debugging.md):
- captured: open the URL recorded after the last browser node, with its cookies and storage;
- redrive: do the run's recorded browser actions again, in order (those that may change the
  session; secrets resolved again from `$env`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weboter.runtime.browser.host import BrowserHost, RunSession
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Catalog
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.secrets import redact
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.verify import history
from weboter.schemas.state import BrowserState

log = logging.getLogger(__name__)

# calls one action with the node's timeout: (spec, ctx, inputs) -> outputs
Call = Callable[[ActionSpec, ActionContext, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class BrowserRestore:
    host: BrowserHost
    artifacts: ArtifactStore
    catalog: Catalog
    env: EnvSource
    mode: str = "captured"  # or "redrive"
    db_path: Path | None = None

    async def session(self, run_id: str, recorded: BrowserState | None, call: Call) -> RunSession:
        """The run's browser session: the live one, or one put back from what was recorded."""
        fresh = not self.host.has_session(run_id)
        redrive = fresh and self.mode == "redrive" and recorded is not None
        restore = None if redrive or not fresh else self._captured(run_id, recorded)
        session = await self.host.session(run_id, restore)
        if redrive:
            await self._redrive(run_id, session, call)
        return session

    def _captured(
        self, run_id: str, recorded: BrowserState | None
    ) -> tuple[str, dict[str, Any] | None] | None:
        if recorded is None:
            return None
        storage = None
        if recorded.storage:
            try:
                storage = json.loads(self.artifacts.get(recorded.storage))
            except (OSError, ValueError):
                log.warning(
                    "run %s: stored browser state %s is unreadable; starting clean",
                    run_id,
                    recorded.storage,
                )
        # secrets were recorded as markers: put them back, encoded as they stood
        resolver = Resolver(self.env.for_run(run_id))
        return resolver.unmark(recorded.url), resolver.unmark(storage)

    async def _redrive(self, run_id: str, session: RunSession, call: Call) -> None:
        if self.db_path is None:
            return
        events = EventLog(self.db_path, create=False)
        try:
            steps = history(events, run_id)
            index = index_for(state_at(events, run_id).workflow)
        finally:
            events.close()
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
            try:
                await call(spec, ctx, Resolver(self.env.for_run(run_id)).unmark(step.inputs))
            except Exception as exc:  # a step that does not replay is reported, not fatal
                log.warning("run %s: re-driving %s failed: %s", run_id, step.node_id, exc)

    async def capture(
        self,
        session: RunSession,
        spec: ActionSpec,
        before: BrowserState | None,
        secrets: dict[str, str],
        run_id: str,
    ) -> BrowserState | None:
        """The page and storage after a browser node (redacted), to restore the run later.
        After an action that only reads, the storage captured before is carried over."""
        if (spec.reads_only or spec.keeps_storage) and before is not None:
            page = session.current
            url = page.url if page is not None and not page.is_closed() else before.url
            return BrowserState(url=url, storage=before.storage)
        try:
            url, storage = await self.host.state_of(session)
        except Exception as exc:
            log.info("run %s: browser state not captured: %s", run_id, exc)
            return None
        text = redact(json.dumps(storage, sort_keys=True), secrets)
        return BrowserState(url=url, storage=self.artifacts.put(text.encode(), ".json"))
