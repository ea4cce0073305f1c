"""The repair memory checks before it acts: the locator an earlier heal gave a node is used
only while the element it finds now says the same as, and is alike to, the element the node
acted on before. A later release that gives that id to another element (here the username
field) must never have that element typed into — the node then goes as written and heals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import async_playwright

from weboter.runtime.browser.heal import same_element
from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser
from weboter.runtime.browser.support import FINGERPRINT_JS

pytestmark = pytest.mark.timeout(60)

RECORDED = """<form><label for="username">Username</label> <input id="username" name="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
</form>"""
HEALED = RECORDED.replace('"password"', '"pw"')  # the release the heal was made on
SWAPPED = (  # the next release: #pw is now the username field
    RECORDED.replace('"username"', '"pw"')
    .replace('for="password"', 'for="secret"')
    .replace('id="password"', 'id="secret"')
)


class _Browser:
    def __init__(self, page: Any) -> None:
        self.page = page

    async def scope(self) -> Any:
        return self.page


class _Context:  # what same_element reads of an action's context: the browser's scope
    def __init__(self, page: Any) -> None:
        self.browser = _Browser(page)


async def _checks() -> tuple[bool, bool, bool]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            await page.set_content(RECORDED)
            print_ = await page.eval_on_selector("#password", f"(el) => ({FINGERPRINT_JS})(el)")
            remembered = {"locator": {"element": "#pw", "type": "css"}, "timeout": 3000}
            ctx = _Context(page)
            await page.set_content(HEALED)
            healed = await same_element(ctx, remembered, [print_])  # type: ignore[arg-type]
            await page.set_content(SWAPPED)
            swapped = await same_element(ctx, remembered, [print_])  # type: ignore[arg-type]
            gone = await same_element(ctx, remembered, [])  # type: ignore[arg-type]
            return healed, swapped, gone
        finally:
            await browser.close()


def test_a_remembered_locator_that_now_finds_another_element_is_not_used() -> None:
    healed, swapped, nothing_recorded = asyncio.run(_checks())
    assert healed  # the password field under its new id: used
    assert not swapped  # the username field answers to #pw now: not acted on
    assert not nothing_recorded  # nothing to compare with: not used blind
