"""Secrets in URLs: never in the log or its artifacts, in clear or encoded; a run whose page
URL holds one is restored (captured state) with the secret put back, encoded as it stood."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.browser.conftest import chain
from tests.conftest import node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog

pytestmark = pytest.mark.timeout(120)

SECRET = "p@ss w/rd&<1>"


def engine(db: Path) -> Engine:
    env = EnvSource({"bank": {"key": SECRET}}, use_os=False)
    return Engine(Settings(db_path=db, evidence="every_node"), env=env).start()


def test_a_secret_in_the_url_never_reaches_the_log_and_restores(
    tmp_path: Path, pages_url: str
) -> None:
    db = tmp_path / "weboter.db"
    flow = chain(
        node("open", "OpenPage", inputs={"url": f"{pages_url}/second.html?k=$env{{bank.key}}"}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "h1", "timeout": 2000},
            outputs=[{"src": "data", "name": "page", "pos": "global"}],
        ),
    )
    first = engine(db)
    try:
        with first.client() as client:
            run_id = client.submit(to_workflow(flow, "t"))
            done = client.wait(run_id, timeout=60)
            assert done.status == "COMPLETED", done.error
    finally:
        first.stop()
    forms = {SECRET, quote(SECRET, safe=""), quote(SECRET), quote_plus(SECRET)}
    forms.add(base64.b64encode(SECRET.encode()).decode())
    forms.add("p@ss%20w/rd&%3C1%3E")  # as Chromium reports it in page.url
    log = EventLog(db)
    opened = next(e for e in log.read_stored(run_id) if e.type == "NodeCompleted")
    for stored in log.read_stored():
        for form in forms:
            assert form.encode() not in stored.payload, (stored.type, form)
    kept = [a for a in (tmp_path / "artifacts").rglob("*") if a.is_file()]
    # the step's network requests are kept too (the page's URL among them), redacted
    assert any(a.suffix == ".jsonl" and b"$env{" in a.read_bytes() for a in kept)
    for artifact in kept:
        data = artifact.read_bytes()
        for form in forms:
            assert form.encode() not in data, (artifact.name, form)
    log.close()

    # a fork right after `open`, in another engine: the page comes back from captured state,
    # its URL's secret put back percent-encoded, and the fork reads the same page
    second = engine(db)
    try:
        with second.client() as client:
            fork = client.fork(run_id, opened.seq)
            ended = client.wait(fork, timeout=60)
    finally:
        second.stop()
    assert ended.status == "COMPLETED", ended.error
    log = EventLog(db)
    pages = [e for e in log.read(fork) if type(e.event).__name__ == "NodeCompleted"]
    log.close()
    assert pages[-1].event.global_vars["page"] == "Second page"


def test_a_secret_read_by_a_data_node_is_redacted_from_the_browser_s_artifacts(
    tmp_path: Path,
) -> None:
    """A data node (run by the State Manager, not the Node Runner) writes a secret into a page
    the next node opens: the Node Runner still knows to redact it from the page's evidence."""
    db = tmp_path / "weboter.db"
    token = "tok-9f8e7d6c5b4a"  # nothing HTML would escape: the DOM holds it as it is
    secret_page = tmp_path / "workspace" / "s.html"
    flow = chain(
        node(
            "write",
            "WriteTextFile",
            inputs={"path": "s.html", "content": "<h1>$env{bank.token}</h1>"},
        ),
        node("open", "OpenPage", inputs={"url": secret_page.as_uri()}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "h1", "timeout": 2000},
            outputs=[{"src": "data", "name": "page", "pos": "global"}],
        ),
    )
    env = EnvSource({"bank": {"token": token}}, use_os=False)
    running = Engine(Settings(db_path=db, evidence="every_node"), env=env).start()
    try:
        with running.client() as client:
            run_id = client.submit(to_workflow(flow, "t"))
            done = client.wait(run_id, timeout=60)
            assert done.status == "COMPLETED", done.error
    finally:
        running.stop()
    log = EventLog(db)
    try:
        assert all(token.encode() not in e.payload for e in log.read_stored(run_id))
    finally:
        log.close()
    kept = [a for a in (tmp_path / "artifacts").rglob("*") if a.is_file()]
    assert kept, "evidence every_node left no artifact"
    for artifact in kept:
        assert token.encode() not in artifact.read_bytes(), artifact.name
