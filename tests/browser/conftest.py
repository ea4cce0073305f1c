"""Browser tests: a real Chromium driven through the engine, against pages on loopback.

One engine (one Chromium) serves the whole module set; the shop and the test pages are
served by real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pykka
import pytest

from tests.conftest import SESSION_ACTORS, Outcome, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.shop import ShopServer
from weboter.runtime.demo.static import PAGES
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

SESSION_MARK = "WEBOTER_TEST_SESSION"  # set by tests/conftest.py; every child inherits it


def chromium_processes() -> int:
    """Living Chromium processes started by this test session: they carry its mark in their
    environment (another program's Chromium does not count). In a pytest-xdist worker, only
    those of this worker (its id is in the environment too): the other worker's tests start
    and stop browsers meanwhile."""
    marks = [f"{SESSION_MARK}={os.environ.get(SESSION_MARK, '')}".encode()]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        marks.append(f"PYTEST_XDIST_WORKER={worker}".encode())
    found = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if "chrom" in name and all(mark in environ for mark in marks):
            found += 1
    return found


class PagesHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/download/"):
            body = b"quarterly report\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Disposition", 'attachment; filename="report.txt"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/pages/"):
            self.path = self.path[len("/pages") :]
        super().do_GET()


@pytest.fixture(scope="session")
def pages_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PagesHandler, directory=str(PAGES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pages"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def shop(demo_shop: ShopServer) -> ShopServer:
    """The session's demo shop (tests/conftest.py), the one the demo was recorded against."""
    return demo_shop


class BrowserRunner:
    """Runs workflow dicts on one engine with a browser, reading outcomes from the log."""

    def __init__(
        self,
        db_path: Path,
        evidence: str = "on_error",
        restore: str = "auto",
        allow: Sequence[Path] = (),
    ) -> None:
        self.db_path = db_path
        env = EnvSource({"shop": {"user": "demo", "password": "demo-pass-123"}}, use_os=False)
        self.engine = Engine(
            Settings(  # the tests write their files beside the log: that folder is allowed
                db_path=db_path,
                evidence=evidence,  # type: ignore[arg-type]
                browser_restore=restore,  # type: ignore[arg-type]
                allow_paths=[db_path.parent, *allow],
            ),
            env=env,
        ).start()
        self.client = self.engine.client()

    def start(self, flow: dict[str, Any], variables: dict[str, Any] | None = None) -> str:
        return self.client.submit(to_workflow(flow, "test"), variables=variables)

    def outcome(self, run_id: str, timeout: float = 60) -> Outcome:
        ended = self.client.wait(run_id, timeout=timeout)
        log = EventLog(self.db_path)
        try:
            return Outcome(run_id, ended, state_at(log, run_id), list(log.read(run_id)))
        finally:
            log.close()

    def run(self, flow: dict[str, Any], variables: dict[str, Any] | None = None) -> Outcome:
        return self.outcome(self.start(flow, variables))

    def close(self) -> None:
        self.engine.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserRunner]:
    before = set(pykka.ActorRegistry.get_all())
    runner = BrowserRunner(tmp_path_factory.mktemp("browser") / "weboter.db")
    kept = set(pykka.ActorRegistry.get_all()) - before
    SESSION_ACTORS.update(kept)
    yield runner
    SESSION_ACTORS.difference_update(kept)
    runner.close()


@pytest.fixture(autouse=True)
def _stop_actors() -> None:
    """The session's engine lives across tests here (one Chromium for all of them)."""


def copy_log(source: Path, folder: Path) -> Path:
    """The log at `source` (a consistent copy, taken even while an engine writes it) and
    everything beside it (artifacts, files the runs wrote) into `folder`; the copy's path."""
    shutil.copytree(
        source.parent, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(source.name + "*")
    )
    target = folder / source.name
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    target.chmod(0o600)
    return target


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A flow that runs `nodes` in order (each node's control is set to go to the next)."""
    linked = []
    for i, n in enumerate(nodes):
        nxt = nodes[i + 1]["id"] if i + 1 < len(nodes) else "__end__"
        linked.append({**n, "control": "NextNode", "params": {"next_node": nxt}})
    return flow(*linked)


def on_playground(pages_url: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    """A flow that opens the playground page, then runs `nodes` in order."""
    return chain(node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}), *nodes)
