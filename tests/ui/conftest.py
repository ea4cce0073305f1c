"""The dev UI under test: `weboter ui` as a real subprocess on loopback, and a real Chromium
(through the project's Playwright) looking at it. Screenshots of the views land in
`test-artifacts/ui/` (or $WEBOTER_TEST_ARTIFACTS/ui)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser
from weboter.runtime.demo.run import PASSWORD, USER

ROOT = Path(__file__).resolve().parents[2]
# what a page shows may take a while on a busy machine: wait for it (never sleep) up to 30 s
expect.set_options(timeout=30_000)
ARTIFACTS = Path(os.environ.get("WEBOTER_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "ui"
DOC_SHOTS = ROOT / "docs" / "images" / "ui"  # the screenshots docs/ui.md shows


@dataclass
class UI:
    url: str
    token: str
    home: Path
    proc: subprocess.Popen[str]

    @property
    def db_path(self) -> Path:
        return self.home / "weboter.db"


def launch(home: Path, *extra: str, env: dict[str, str] | None = None) -> UI:
    """`weboter ui` with its log in `home`, the demo shop's login in its env file."""
    mine = {k: v for k, v in os.environ.items() if not k.startswith("WEBOTER_AI_")}  # no model
    env_file = home / "env.yaml"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    with (home / "ui.stderr").open("w") as stderr:  # a file: a chatty server never blocks
        proc = subprocess.Popen(  # (the child keeps its own copy of the file)
            [
                *(sys.executable, "-m", "weboter.runtime.cli.main", "ui", "--json", "--no-open"),
                *("--env-file", str(env_file), *extra),
            ],
            env={**mine, "WEBOTER_HOME": str(home), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert proc.stdout is not None
    text = ""
    for line in proc.stdout:  # the JSON document it prints once it listens
        text += line
        if line.rstrip() == "}":
            break
    if not text.rstrip().endswith("}"):
        proc.kill()
        proc.wait(20)
        pytest.fail(f"weboter ui exited {proc.returncode}: {errors_of(home)}")
    info = json.loads(text)
    return UI(url=info["url"], token=info["token"], home=home, proc=proc)


def shutdown(ui: UI) -> None:
    """SIGTERM, as Ctrl-C: it pauses what it drives, closes its Chromium and exits 0."""
    ui.proc.send_signal(signal.SIGTERM)
    try:
        code = ui.proc.wait(30)
    finally:
        ui.proc.kill()
        ui.proc.communicate(timeout=10)
    assert code == 0, errors_of(ui.home)


def errors_of(home: Path) -> str:
    return (home / "ui.stderr").read_text(errors="replace")[-2000:]


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UI]:
    started = launch(tmp_path)
    try:
        yield started
    finally:
        shutdown(started)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """The person's browser: one per module (a launch is seconds); each test has a context
    of its own (its own cookies and storage), as a new browser profile would."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        view = context.new_page()
        view.set_default_timeout(30_000)
        yield view
    finally:
        context.close()


def keep(page: Page, name: str, *, doc: bool = False) -> None:
    """A screenshot of the view as a test artifact; `doc`: one docs/ui.md shows, written to
    docs/images/ui/ too when WEBOTER_DOC_SHOTS=1 (`just doc-shots`), so the docs show the
    page as it is."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if doc and os.environ.get("WEBOTER_DOC_SHOTS") == "1":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SHOTS / f"{name}.png"))


def request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request as a script sends it (no browser): status, headers, body."""
    where = urlsplit(url)
    # bounded; 60 s: a model call through the UI on a machine kept busy can take half of it
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        data = (
            None
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        conn.request(method, path, body=data, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def post(ui: UI, path: str, body: Any, **headers: str) -> tuple[int, Any]:
    """A POST with the UI's token (unless the headers give another), as JSON both ways."""
    sent = {"Content-Type": "application/json", "X-Weboter-Token": ui.token, **headers}
    status, _, data = request(ui.url, "POST", path, body, sent)
    return status, json.loads(data)


def get(ui: UI, path: str, **headers: str) -> tuple[int, Any]:
    """A GET with the UI's token (unless the headers give another), answered as JSON."""
    status, _, data = request(ui.url, "GET", path, None, {"X-Weboter-Token": ui.token, **headers})
    return status, json.loads(data)
