"""Evidence of a browser node: screenshot, DOM, the page as accessibility text, URL/title,
storage state — kept in the artifact store and referenced from the node's event by hash. A
reader that must not load the page again (a read-only MCP client) sees the page from these.

Policy (setting `evidence`, and each run's own, which its engine gives it when it is made):
`none`, `on_error` (default: only when a browser node fails), or `every_node` — then a step
also keeps the page as it was before it (a screenshot), and the network requests and console
messages of its pages while it ran (runtime/browser/traffic.py). Text evidence is redacted
with the run's secrets before it is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from weboter.runtime.browser.traffic import cut, watch
from weboter.runtime.core.secrets import redact
from weboter.runtime.store.artifacts import ArtifactStore

log = logging.getLogger(__name__)

EvidencePolicy = Literal["none", "on_error", "every_node"]
POLICIES: tuple[str, ...] = ("none", "on_error", "every_node")  # from less to more kept


def keener(*policies: str) -> str:
    """The policy that keeps the most of those given ("": none given)."""
    known = [p for p in policies if p in POLICIES]
    return max(known, key=POLICIES.index) if known else ""


@dataclass(frozen=True)
class StepStart:
    """A browser step as it began (evidence at every node): the page's screenshot then, and
    where its context's traffic stood."""

    before: str  # the screenshot's address ("" when no page was open yet)
    mark: tuple[int, int]


async def begin(session: Any, artifacts: ArtifactStore) -> StepStart | None:
    """Watch the session's context (once) and screenshot its page before the step; never
    raises (None: nothing could be taken)."""
    try:
        if session.traffic is None:
            session.traffic = watch(session.context, session.pages if session.borrowed else None)
        before = ""
        page = session.current
        if page is not None and not page.is_closed() and page.url != "about:blank":
            before = artifacts.put(await page.screenshot(timeout=5000), ".png")
        return StepStart(before, session.traffic.mark())
    except Exception as exc:  # the step runs anyway; its evidence says less
        log.info("evidence before the step not taken: %s", exc)
        return None


async def capture(
    session: Any,
    artifacts: ArtifactStore,
    secrets: Mapping[str, str],
    start: StepStart | None = None,
) -> dict[str, str]:
    """Whatever can be captured of the session's current page (and, with `start`, of the
    step since it began); never raises."""
    found: dict[str, str] = {}
    if start is not None:
        found.update(_during(session, artifacts, secrets, start))
    try:
        page = session.current
        if page is None or page.is_closed():
            return found
        found["url"] = page.url
        found["title"] = await page.title()
        found["screenshot"] = artifacts.put(await page.screenshot(timeout=5000), ".png")
        dom = redact(await page.content(), secrets)
        found["dom"] = artifacts.put(dom.encode(), ".html")
        storage = redact(json.dumps(await session.context.storage_state()), secrets)
        found["storage"] = artifacts.put(storage.encode(), ".json")
        aria = await page.locator("body").aria_snapshot(timeout=5000)
        found["aria"] = artifacts.put(redact(aria, secrets).encode(), ".txt")
    except Exception as exc:  # a crashed page still gets a node error, with what we have
        log.info("evidence capture incomplete: %s", exc)
    return found


def _during(
    session: Any, artifacts: ArtifactStore, secrets: Mapping[str, str], start: StepStart
) -> dict[str, str]:
    """The step's before-screenshot, and its requests and console messages (as JSON lines)."""
    found = {"before": start.before} if start.before else {}
    if session.traffic is None:
        return found
    requests, console = session.traffic.since(start.mark)
    for key, entries in (("network", requests), ("console", console)):
        if entries:  # redacted whole, then cut: no part of a secret is left at the cut
            kept = [cut(redact(e, secrets)) for e in entries]
            text = "\n".join(json.dumps(e, ensure_ascii=False) for e in kept)
            found[key] = artifacts.put(text.encode(), ".jsonl")
    return found


def describe(evidence: Mapping[str, str], artifacts: ArtifactStore) -> str:
    """Where a person finds the evidence: `screenshot: /path/…png, DOM: /path/…html`."""
    parts = []
    for key, label in (("screenshot", "screenshot"), ("dom", "DOM")):
        if key in evidence:
            parts.append(f"{label}: {artifacts.shown(evidence[key])}")
    return ", ".join(parts)
