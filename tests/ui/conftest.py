"""The dev UI under test: `weboter ui` as a real subprocess on loopback, and a real Chromium
(through the project's Playwright) looking at it. Screenshots of the views land in
`test-artifacts/ui/` (or $WEBOTER_TEST_ARTIFACTS/ui)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser
from weboter.runtime.demo.run import PASSWORD, USER

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("WEBOTER_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "ui"


@dataclass
class UI:
    url: str
    token: str
    home: Path
    proc: subprocess.Popen[str]

    @property
    def db_path(self) -> Path:
        return self.home / "weboter.db"


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UI]:
    """`weboter ui` with its log in tmp_path, the demo shop's login in its env file."""
    env_file = tmp_path / "env.yaml"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "weboter.runtime.cli.main", "ui", "--json", "--no-open"),
            *("--env-file", str(env_file)),
        ],
        env={**os.environ, "WEBOTER_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
        _, err = proc.communicate(timeout=20)
        pytest.fail(f"weboter ui exited {proc.returncode}: {err[-2000:]}")
    info = json.loads(text)
    started = UI(url=info["url"], token=info["token"], home=tmp_path, proc=proc)
    try:
        yield started
    finally:
        proc.send_signal(signal.SIGTERM)  # it pauses what it drives and closes its Chromium
        try:
            code = proc.wait(30)
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=10)
        assert code == 0, err[-2000:]


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
        try:
            view = browser.new_page(viewport={"width": 1400, "height": 1000})
            view.set_default_timeout(30_000)
            yield view
        finally:
            browser.close()


def keep(page: Page, name: str) -> None:
    """A screenshot of the view as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def post(
    ui: UI, path: str, body: dict[str, Any], *, token: str | None = None, **headers: str
) -> Any:
    """A POST as a script would send it (urllib, no browser)."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(
        ui.url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Weboter-Token": token or ui.token,
            **headers,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
