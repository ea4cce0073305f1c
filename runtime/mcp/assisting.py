"""The MCP tools of the AI gateway: `generate_workflow` (a workflow for a task, validated by
the engine) and `suggest_repair` (a repair for a run in ERROR, recorded as RepairSuggested;
applied with `apply` only if the run has not moved on). Both need a model configured by the
server's environment (WEBOTER_AI_BASE_URL, WEBOTER_AI_MODEL); without one they say so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import msgspec
from typing_extensions import TypedDict

from weboter.runtime.ai.gateway import generate_workflow as generate
from weboter.runtime.ai.models import configured
from weboter.runtime.engine.commands import approve, modify_runtime, reject
from weboter.runtime.engine.commands import suggest_repair as suggest
from weboter.runtime.engine.shared import Engines
from weboter.runtime.mcp.common import clear_errors
from weboter.runtime.store.reading import Reader


class Generated(TypedDict):
    workflow: dict[str, Any]
    nodes: int


class Suggested(TypedDict):
    run_id: str
    suggestion_seq: int  # the suggestion's seq: approve_repair / reject_repair name it by it
    action: dict[str, Any]  # kind, reason, and what it changes
    confidence: float
    # why a person must approve it before it is applied ("": a model may apply it alone)
    needs_approval: str
    applied: bool
    why_not: str  # when `apply` was asked: the run had moved on, or it needs approval


class Assisting:
    """The AI gateway's tools over the log at `db`, with the engine of `engines` to see a
    run's page; `suggest_repair` on an `operator` server only."""

    def __init__(self, db: Path, engines: Engines, *, operator: bool) -> None:
        self.db, self.engines, self.operator = db, engines, operator

    def tools(self) -> list[Callable[..., Any]]:
        if not self.operator:
            return [self.generate_workflow]
        return [
            self.generate_workflow,
            self.suggest_repair,
            self.approve_repair,
            self.reject_repair,
        ]

    @staticmethod
    @clear_errors
    async def generate_workflow(prompt: str, tries: int = 3) -> Generated:
        """Write a workflow for `prompt` with the server's AI model; the engine validates it
        and tells the model its faults until it passes (at most `tries` replies)."""
        model = configured()
        workflow = await anyio.to_thread.run_sync(lambda: generate(model, prompt, max(tries, 1)))
        data = msgspec.to_builtins(workflow)
        nodes = len(workflow.nodes) + sum(len(f.nodes) for f in workflow.sub_flows)
        return {"workflow": data, "nodes": nodes}

    @clear_errors
    async def suggest_repair(
        self, run_id: str, apply: bool = False, look_at_page: bool = True
    ) -> Suggested:
        """Ask the server's AI model how to repair a run in ERROR (or PAUSED): retry, skip,
        patch, set_variables, jump or abort, with a reason and a confidence; checked against
        the run, recorded as RepairSuggested. The model sees the error, the node, the
        variables, the last steps and (`look_at_page`, for a run with a browser) the page's
        accessibility tree — secrets as references, fenced as untrusted data. `apply`: apply it
        at once when a model may make that change alone (a retry; the failing node's
        locators, waits, timeouts) and the run is still where it was; anything else comes back
        with `needs_approval` (why) and `suggestion_seq`: approve_repair applies exactly that
        one once you have looked at it (reject_repair records a no). Then continue_run."""
        model = configured()
        aria = await self._page_text(run_id) if look_at_page else ""
        found = await anyio.to_thread.run_sync(
            lambda: suggest(model, self.db, run_id, aria=aria, env=self.engines.env)
        )
        applied, why = False, ""
        if apply:  # nobody has seen it: only what a model may change alone is applied
            applied, why = modify_runtime(
                self.db, found.run_id, found.seq, found.action, env=self.engines.env
            )
        return {
            "run_id": found.run_id,
            "suggestion_seq": found.seq,
            "action": msgspec.to_builtins(found.action),
            "confidence": found.confidence,
            "needs_approval": found.held,
            "applied": applied,
            "why_not": why,
        }

    @clear_errors
    async def approve_repair(self, run_id: str, suggestion_seq: int) -> dict[str, Any]:
        """Apply exactly the repair suggested at `suggestion_seq` (suggest_repair's answer),
        as you reviewed it: no model is asked again. Refused when the run moved on since.
        Then continue_run."""
        applied, why = await anyio.to_thread.run_sync(
            lambda: approve(self.db, run_id, suggestion_seq, env=self.engines.env)
        )
        return {"applied": applied, "why_not": why, "suggestion_seq": suggestion_seq}

    @clear_errors
    async def reject_repair(
        self, run_id: str, suggestion_seq: int, reason: str = ""
    ) -> dict[str, Any]:
        """Record that the repair suggested at `suggestion_seq` was rejected, and why."""
        await anyio.to_thread.run_sync(
            lambda: reject(self.db, run_id, suggestion_seq, reason, env=self.engines.env)
        )
        return {"rejected": True, "suggestion_seq": suggestion_seq}

    async def _page_text(self, run_id: str) -> str:
        """The run's page as accessibility text ("" when it has no page, or it cannot be seen)."""
        with Reader(self.db) as log:
            run = log.run_id(run_id)
            browser = log.state(run).browser
        if browser is None:
            return ""

        def work() -> str:
            with self.engines.get().client(follow=False) as client:
                found = client.look(run, browser)
            return "" if found.error is not None else found.aria

        return await anyio.to_thread.run_sync(work)
