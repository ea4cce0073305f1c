"""What a run's page shows, for a person or a model: URL, title, the accessibility tree as
text (Playwright's ARIA snapshot; secrets redacted) and a screenshot kept beside the log."""

from __future__ import annotations

from typing import Any

from weboter.runtime.browser.host import RunSession
from weboter.runtime.core.secrets import redact
from weboter.runtime.store.artifacts import ArtifactStore

LOOK_TIMEOUT_MS = 10_000


async def look(
    session: RunSession, artifacts: ArtifactStore, secrets: dict[str, str]
) -> dict[str, Any]:
    """{url, title, aria, screenshot}: the run's current page (a blank one if it has none)."""
    page = await session.page()
    aria = await page.locator("body").aria_snapshot(timeout=LOOK_TIMEOUT_MS)
    shot = await page.screenshot(type="png", timeout=LOOK_TIMEOUT_MS)
    return {
        "url": redact(page.url, secrets),
        "title": redact(await page.title(), secrets),
        "aria": redact(aria, secrets),
        "screenshot": artifacts.put(shot, ".png"),
    }
