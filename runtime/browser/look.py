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
    session: RunSession,
    artifacts: ArtifactStore,
    secrets: dict[str, str],
    *,
    refs: bool = False,
    screenshot: bool = True,
) -> dict[str, Any]:
    """{url, title, aria, tabs, screenshot}: the run's current page (a blank one if it has
    none), and its tabs.
    `refs`: the page text with element refs (`[ref=e12]`) an agent can name to act on."""
    page = await session.page()
    if refs:
        aria = await page.aria_snapshot(mode="ai", timeout=LOOK_TIMEOUT_MS)
    else:
        aria = await page.locator("body").aria_snapshot(timeout=LOOK_TIMEOUT_MS)
    found: dict[str, Any] = {
        "url": scrub(page.url, secrets),
        "title": scrub(await page.title(), secrets),
        "aria": scrub(aria, secrets),
    }
    found["tabs"] = [
        {
            "index": index,
            "url": scrub(tab.url, secrets),
            "title": scrub(await tab.title(), secrets),
            "current": tab is page,
        }
        for index, tab in enumerate(session.pages)
    ]
    if screenshot:
        shot = await page.screenshot(type="png", timeout=LOOK_TIMEOUT_MS)
        found["screenshot"] = artifacts.put(shot, ".png")
    return found
