"""A run's Chromium renderers stay few and small (runtime/browser/lean.py): one renderer per
run (no WebUI omnibox popup for each run's window), Playwright's own disabled features kept,
and the garbage of the pages a run's tab left collected every few pages. Real Chromium,
pages on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from weboter.runtime.browser import lean
from weboter.runtime.browser.host import BrowserHost
from weboter.runtime.browser.lean import COLLECT_EVERY, collect_garbage, features_lost


class Pages(BaseHTTPRequestHandler):
    """/N: a page with a table and a script that keeps some objects (garbage once left)."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        rows = "".join(f"<tr><td>{i}</td><td>item {i}</td></tr>" for i in range(50))
        body = (
            f"<title>{self.path}</title><h1>page {self.path}</h1><table>{rows}</table>"
            "<script>window.kept = Array.from({length: 2000}, (_, i) => ({i, s: 'x' + i}))"
            "</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def processes(host: BrowserHost) -> tuple[int, list[str]]:
    """The host's Chromium: how many renderer processes it has, and its browser UI pages."""
    cdp = await host._browser.new_browser_cdp_session()
    try:
        info = await cdp.send("SystemInfo.getProcessInfo")
        targets = await cdp.send("Target.getTargets")
    finally:
        await cdp.detach()
    renderers = sum(p["type"] == "renderer" for p in info["processInfo"])
    ui = [t["url"] for t in targets["targetInfos"] if t["type"] not in ("page", "iframe")]
    return renderers, ui


def test_one_renderer_per_run(site: str) -> None:
    """Three runs, each on a page of its own context: three renderers for their pages (and
    at most Chromium's one spare), no omnibox popup pages; Playwright's features still off."""

    async def scenario() -> tuple[int, list[str], list[str]]:
        host = BrowserHost()
        try:
            for run in ("a", "b", "c"):
                session = await host.session(run)
                await (await session.page()).goto(f"{site}/{run}")
            # not a sync: no event says "no other renderer comes"; a leftover would show by now
            await asyncio.sleep(0.5)
            renderers, ui = await processes(host)
            return renderers, ui, await features_lost(host._browser)
        finally:
            await host.close()

    renderers, ui, lost = asyncio.run(scenario())
    assert not [u for u in ui if "omnibox" in u], ui
    assert renderers <= 3 + 1, f"{renderers} renderers for 3 runs"
    assert lost == []


def test_features_playwright_adds_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Playwright that disables a feature Weboter's list does not name: the launch finds it
    lost, learns it and launches again with it."""
    shorter = [f for f in lean.PLAYWRIGHT_DISABLED if f != "MediaRouter"]
    monkeypatch.setattr(lean, "PLAYWRIGHT_DISABLED", shorter)

    async def scenario() -> list[str]:
        host = BrowserHost()
        try:
            await host._launch()
            return await features_lost(host._browser)
        finally:
            await host.close()

    assert asyncio.run(scenario()) == []
    assert "MediaRouter" in lean.PLAYWRIGHT_DISABLED
    assert set(lean.OWN_DISABLED) <= set(lean.disable_features_arg().split("=")[1].split(","))


def test_the_pages_a_tab_left_are_collected(site: str) -> None:
    """A run's tab counts the pages it loads; once due, a collection leaves one document in
    its renderer (the page it is on) and a heap far smaller than before."""

    async def scenario() -> tuple[bool, bool, dict[str, int], dict[str, int], str]:
        host = BrowserHost()
        try:
            session = await host.session("gc")
            page = await session.page()
            for i in range(COLLECT_EVERY - 1):
                await page.goto(f"{site}/{i}")
            early = session.loads.due()
            await page.goto(f"{site}/last")
            due = session.loads.due()
            before = await counters(session, page)
            await collect_garbage(session.context, list(session.context.pages))
            after = await counters(session, page)
            return early, due, before, after, await page.title()
        finally:
            await host.close()

    early, due, before, after, title = asyncio.run(scenario())
    assert not early and due
    assert after["documents"] == 1, after
    assert before["documents"] > 1 and after["used"] < before["used"], (before, after)
    assert title == "/last"  # the page itself is untouched


async def counters(session: Any, page: Any) -> dict[str, int]:
    cdp = await session.context.new_cdp_session(page)
    try:
        heap = await cdp.send("Runtime.getHeapUsage")
        dom = await cdp.send("Memory.getDOMCounters")
    finally:
        await cdp.detach()
    return {"used": int(heap["usedSize"]), "documents": int(dom["documents"])}
