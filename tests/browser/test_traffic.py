"""A step's network requests and console messages (runtime/browser/traffic.py): those since
the step began, in order, also after older entries were let go — in a real Chromium."""

from __future__ import annotations

import asyncio

import pytest

from tests.recording_server import RecordingServer
from weboter.runtime.browser import traffic
from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser

pytestmark = pytest.mark.timeout(60)

PAGE = """<!doctype html><title>t</title><script>
console.warn("loaded"); const x = new XMLHttpRequest(); x.open("GET", "/data", false); x.send();
</script>"""


def test_a_step_sees_its_own_requests_and_messages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traffic, "LIMIT", 5)  # small, so older entries go during the test

    async def go(url: str) -> list[tuple[list[dict], list[dict]]]:
        from playwright.async_api import async_playwright  # noqa: PLC0415

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
            context = await browser.new_context()
            seen = traffic.watch(context)
            page = await context.new_page()
            steps = []
            for n in range(4):  # each load: 2 requests, 1 console message
                mark = seen.mark()
                await page.goto(f"{url}/page{n}")
                await page.evaluate("console.log('step', 1)")
                steps.append(seen.since(mark))
            await browser.close()
            return steps

    with RecordingServer(PAGE) as site:
        steps = asyncio.run(go(site.url))
    for n, (requests, console) in enumerate(steps):
        assert [r["url"].rsplit("/", 1)[1] for r in requests] == [f"page{n}", "data"]
        assert all(r["status"] == 200 and r["method"] == "GET" for r in requests)
        assert [(m["type"], m["text"]) for m in console] == [
            ("warning", "loaded"),
            ("log", "step 1"),
        ]


def test_a_borrowed_watch_sees_its_own_tabs_only_and_lets_go() -> None:
    """An item run of a FanOut watches its parent's context for its own tabs only (the list it
    is given, as it grows), and stops listening when it ends."""

    async def go(url: str) -> tuple[list[str], list[str], int]:
        from playwright.async_api import async_playwright  # noqa: PLC0415

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
            context = await browser.new_context()
            mine: list = []
            seen = traffic.watch(context, mine)
            other = await context.new_page()
            mine.append(await context.new_page())
            await other.goto(f"{url}/theirs")
            await mine[0].goto(f"{url}/mine")
            got = [r["url"].rsplit("/", 1)[1] for r in seen.requests]
            traffic.unwatch(context, seen)
            await mine[0].goto(f"{url}/later")
            after = [r["url"].rsplit("/", 1)[1] for r in seen.requests]
            listeners = len(seen.listeners)
            await browser.close()
            return got, after, listeners

    with RecordingServer(PAGE) as site:
        got, after, listeners = asyncio.run(go(site.url))
    assert got == ["mine", "data"]
    assert after == got and listeners == 0
