"""What a run's page shows, for a person or a model: URL, title, the accessibility tree as
text (Playwright's ARIA snapshot) and a screenshot kept beside the log. Every secret the run
knows is taken out of the text whatever its length (`scrub`: this text goes to models), shown
as its `$env{name}` reference."""

from __future__ import annotations

from typing import Any

from weboter.runtime.browser.host import RunSession
from weboter.runtime.core.untrusted import scrub
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
        "url": scrub(page.url, secrets),
        "title": scrub(await page.title(), secrets),
        "aria": scrub(aria, secrets),
        "screenshot": artifacts.put(shot, ".png"),
    }
