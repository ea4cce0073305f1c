"""A run forked (or continued elsewhere) after its site went away: the restore cannot open the
recorded page, so the node fails with RestoreMismatch and the run waits in ERROR, saying which
URL did not answer and what to do — never FAILED with Playwright's call log. Once the site is
back, a retry puts the browser back again (nothing half-made was kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, chain
from tests.conftest import node
from tests.incli import cli
from weboter.runtime.demo.shop import ShopServer
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.context import RepairAction
from weboter.schemas.events import BrowserRestored, NodeCompleted

pytestmark = pytest.mark.timeout(120)


def second_page(url: str) -> dict[str, Any]:
    """Open the site's second page, then read its heading (a browser node: a fork before it
    puts the page back first)."""
    return chain(
        node("open", "OpenPage", inputs={"url": f"{url}/pages/second.html"}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "h1"},
            outputs=[{"src": "data", "name": "heading", "pos": "global"}],
        ),
    )


def opened_at(db: Path, run_id: str) -> int:
    """The seq of the run's `open` node: a fork there restores before `read`."""
    log = EventLog(db)
    try:
        return next(
            r.seq
            for r in log.read(run_id)
            if isinstance(r.event, NodeCompleted) and r.event.node_id == "open"
        )
    finally:
        log.close()


def test_a_fork_whose_site_is_gone_waits_in_error_saying_which_url(tmp_path: Path) -> None:
    flow_file = tmp_path / "second.json"
    with ShopServer() as site:
        url = site.url
        flow_file.write_text(json.dumps(second_page(url)))
        ran = cli("run", str(flow_file), "--json", home=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    at = str(opened_at(tmp_path / "weboter.db", run_id))
    for restore, how, where in (
        ("auto", "opening its recorded page", f"{url}/pages/second.html"),
        ("redrive", "re-driving its step 'open'", f"{url}/pages/second.html"),
    ):
        forked = cli("fork", run_id, "--at", at, "--restore", restore, "--json", home=tmp_path)
        assert forked.returncode == 1, forked.stdout + forked.stderr
        said = json.loads(forked.stdout)
        assert said["status"] == "ERROR", said
        error = said["error"]
        assert error["kind"] == "RestoreMismatch"
        assert error["node_id"] == "read"
        assert error["message"] == (
            f"the run's browser could not be put back ({how}): the site did not answer at "
            f"{where} (net::ERR_CONNECTION_REFUSED)"
        )
        assert error["hint"].startswith("start the site")
        assert f"weboter retry {said['run_id'][:8]}" in error["hint"]
        assert "--restore" in error["hint"]
        assert "Call log" not in forked.stdout + forked.stderr
        human = cli("state", said["run_id"], home=tmp_path)
        assert "Call log" not in human.stdout, human.stdout
        assert "did not answer" in human.stdout


def test_once_the_site_is_back_a_retry_puts_the_browser_back(
    browser: BrowserRunner, tmp_path: Path
) -> None:
    site = ShopServer().start()
    port = site.server_address[1]
    try:
        parent = browser.run(second_page(site.url))
    finally:
        site.stop()
    assert parent.ended.status == "COMPLETED", parent.state.error
    child = browser.client.fork(parent.run_id, opened_at(browser.db_path, parent.run_id))
    waiting = browser.outcome(child)
    assert waiting.ended.status == "ERROR"
    assert waiting.state.error is not None
    assert "the site did not answer" in waiting.state.error.message
    assert not any(isinstance(r.event, BrowserRestored) for r in waiting.events)
    with ShopServer(port=port):  # the same address again: the recorded page opens
        run = RunHandle(child, through_engine(browser.client))
        run.repair(RepairAction(kind="retry", node_id="read"))
        browser.client.cont(child)
        done = browser.outcome(child)
    assert done.ended.status == "COMPLETED", done.state.error
    assert done.state.globals["heading"] == "Second page"
    restored = [r.event for r in done.events if isinstance(r.event, BrowserRestored)]
    assert [(e.mode, e.differences) for e in restored] == [("captured", [])]
