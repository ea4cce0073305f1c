"""Evidence of a browser node: screenshot, DOM, the page as accessibility text, URL/title,
storage state — kept in the artifact store and referenced from the node's event by hash. A
reader that must not load the page again (a read-only MCP client) sees the page from these.

Policy (setting `evidence`): `none`, `on_error` (default: only when a browser node fails), or
`every_node`. Text evidence is redacted with the run's secrets before it is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

from weboter.runtime.core.secrets import redact
from weboter.runtime.store.artifacts import ArtifactStore

log = logging.getLogger(__name__)

EvidencePolicy = Literal["none", "on_error", "every_node"]


async def capture(
    session: Any, artifacts: ArtifactStore, secrets: Mapping[str, str]
) -> dict[str, str]:
    """Whatever can be captured of the session's current page; never raises."""
    found: dict[str, str] = {}
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


def describe(evidence: Mapping[str, str], artifacts: ArtifactStore) -> str:
    """Where a person finds the evidence: `screenshot: /path/…png, DOM: /path/…html`."""
    parts = []
    for key, label in (("screenshot", "screenshot"), ("dom", "DOM")):
        if key in evidence:
            parts.append(f"{label}: {artifacts.shown(evidence[key])}")
    return ", ".join(parts)
