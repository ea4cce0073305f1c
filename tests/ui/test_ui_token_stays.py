"""The dev UI's token stays with the UI: a person opens the printed URL in Chromium, then, in
the same browser, another service on another port of 127.0.0.1 (browsers share cookies between
the ports of a host, and SameSite counts every port as one site). That service must never
receive the token — not in a cookie, a header or a Referer — and the UI must go on working,
after a reload too."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import ROOT, UI

pytestmark = pytest.mark.timeout(180)
# the paths anyone can learn from weboter's own source: what a curious service would try
WELL_KNOWN = ("/", "/api/runs", "/api/stream", "/static/app.js", "/favicon.ico")


class Recorder(ThreadingHTTPServer):
    """Another local service: answers every GET with a small page, and keeps what it got."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recording)
        self.seen: list[tuple[str, list[tuple[str, str]]]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Recording(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:  # the name http.server calls
        self.server.seen.append((self.path, list(self.headers.items())))  # before it answers
        body = b"<!doctype html><title>another service</title><p>another local service</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Quiet: the test reads what was recorded."""


@contextmanager
def another_service() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def is_live(page: Page) -> None:
    """The page is the UI's, its requests are let in, and its live stream is connected."""
    expect(page.get_by_label("Workflow file")).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")


def test_another_local_service_never_receives_the_token(ui: UI, page: Page) -> None:
    page.goto(ui.url)  # the printed URL, as the person opens it
    is_live(page)
    ui_page = page.url
    assert ui.token not in ui_page  # the address bar (and so a bookmark) does not hold it
    port = urlsplit(ui.url).port
    naming_the_ui = re.compile(rf"(127\.0\.0\.1|localhost):{port}(?!\d)")

    with another_service() as other:
        for path in WELL_KNOWN:  # the same browser, the same profile: a service it opens
            page.goto(other.url + path)
            expect(page.get_by_text("another local service")).to_be_visible()
        page.goto(ui_page)  # back to the UI, which then leads to the service (a link it shows)
        is_live(page)
        page.evaluate("url => { location.href = url; }", f"{other.url}/from-the-ui")
        page.wait_for_url(f"{other.url}/from-the-ui")
        expect(page.get_by_text("another local service")).to_be_visible()
    seen = list(other.seen)

    assert {path for path, _ in seen} >= {*WELL_KNOWN, "/from-the-ui"}
    for path, headers in seen:
        assert ui.token not in path
        for name, value in headers:
            assert ui.token not in value, f"{path}: the UI's token in {name}: {value}"
            assert not naming_the_ui.search(value), f"{path}: {name} names the UI: {value}"

    # the UI goes on: the page it was on, reloaded, without the printed URL again
    page.goto(ui_page)
    page.reload()
    is_live(page)
    page.get_by_label("Workflow file").fill(str(ROOT / "examples" / "counter.json"))
    page.get_by_label("Variables").fill("target=3")
    page.get_by_label("Pause before the first node").set_checked(False)
    page.get_by_role("button", name="Start").click()  # a change: the page's header
    page.wait_for_url(re.compile(r"#/run/\w+"))
    expect(page.get_by_role("status").filter(has_text="Status:")).to_contain_text("COMPLETED")
