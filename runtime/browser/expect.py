"""A browser node's post-condition: what must hold after its action, or the node fails
(PostConditionFailed) — a replay on a page that went elsewhere, or on which the act's effect
did not show, stops in ERROR instead of going on as if it had worked.

- `expect_url`: the page's URL after the action (waited for, up to the node's `timeout`: a
  click's navigation takes a moment);
- `expect_visible`: a locator of an element that must be visible after it (a message, a
  dialog, a heading the act brought up).

An agent's session records `expect_url` for every act after which the URL changed, else
`expect_visible` for what appeared (runtime/mcp/session.py, runtime/browser/appeared.py)."""

from __future__ import annotations

from typing import Any

from weboter.runtime.browser.locators import build, describe
from weboter.runtime.browser.support import timeout_ms
from weboter.runtime.errors import PostConditionFailed

EXPECT_MS = 10_000


async def check(session: Any, inputs: dict[str, Any]) -> None:
    """PostConditionFailed unless the node's `expect_url` and `expect_visible` hold within
    its `timeout` (ms), else EXPECT_MS."""
    expected, visible = inputs.get("expect_url"), inputs.get("expect_visible")
    if not expected and not visible:
        return
    page = await session.page()
    wait = timeout_ms(inputs, EXPECT_MS)
    if expected:
        try:
            await page.wait_for_url(lambda url: url == str(expected), timeout=wait)
        except Exception as exc:
            raise PostConditionFailed(
                f"after the action the page is at {page.url}, not at {expected} (expect_url)",
                hint="the site took another way: look at the page (evidence); if the new URL "
                "is right, patch the node's expect_url",
            ) from exc
    if visible:
        try:
            await build(page, visible, "expect_visible").first.wait_for(
                state="visible", timeout=wait
            )
        except Exception as exc:
            raise PostConditionFailed(
                f"after the action {describe(visible)} is not on the page (expect_visible)",
                hint="the act did not have its effect: look at the page (evidence); if the "
                "page is right as it is, patch the node's expect_visible",
            ) from exc
