"""A browser node's post-condition: what must hold after its action, or the node fails
(PostConditionFailed) — a replay on a page that went elsewhere stops in ERROR instead of
going on as if it had worked. `expect_url`: the page's URL after the action (waited for, up to
the node's `timeout`: a click's navigation takes a moment). An agent's session records it for
every act after which the page's URL changed (runtime/mcp/session.py)."""

from __future__ import annotations

from typing import Any

from weboter.runtime.browser.support import timeout_ms
from weboter.runtime.errors import PostConditionFailed

EXPECT_MS = 10_000


async def check(session: Any, inputs: dict[str, Any]) -> None:
    """PostConditionFailed unless the node's `expect_url` holds within its `timeout` (ms),
    else EXPECT_MS."""
    expected = inputs.get("expect_url")
    if not expected:
        return
    page = await session.page()
    try:
        await page.wait_for_url(
            lambda url: url == str(expected), timeout=timeout_ms(inputs, EXPECT_MS)
        )
    except Exception as exc:
        raise PostConditionFailed(
            f"after the action the page is at {page.url}, not at {expected} (expect_url)",
            hint="the site took another way: look at the page (evidence); if the new URL is "
            "right, patch the node's expect_url",
        ) from exc
