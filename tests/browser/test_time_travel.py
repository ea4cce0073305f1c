"""Time travel with a real browser: a durable pause across two processes with the browser
restored, and the demo forked at the start of page 2 with a changed variable. (A fork of the
login flow restored both ways, captured without logging in again and re-driven with one
login: tests/browser/test_fork_fidelity.py forks it at every browser step.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, chain, copy_log
from tests.conftest import Recorded, node, weboter
from tests.incli import cli
from weboter.runtime.demo.shop import PER_PAGE, PRODUCTS
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.verify import diff
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(120)


def login_flow(shop_url: str) -> dict[str, Any]:
    return chain(
        node("open", "OpenPage", inputs={"url": f"{shop_url}/login"}),
        node("user", "FillInput", inputs={"locator": "#username", "text": "$env{shop.user}"}),
        node("pass", "FillInput", inputs={"locator": "#password", "text": "$env{shop.password}"}),
        node("submit", "ClickItem", inputs={"locator": "#submit"}),
        node("visit", "OpenPage", inputs={"url": f"{shop_url}/products?page=2"}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "p.page", "timeout": 2000},
            outputs=[{"src": "data", "name": "page", "pos": "global"}],
        ),
    )


def test_durable_pause_across_processes_restores_the_browser(tmp_path: Path, shop: Any) -> None:
    wf = tmp_path / "login.json"
    wf.write_text(json.dumps(login_flow(shop.url)))
    env = {"SHOP_USER": "demo", "SHOP_PASSWORD": "demo-pass-123"}
    first = weboter("run", str(wf), "--break", "visit", "--json", home=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    paused = json.loads(first.stdout)
    assert paused["status"] == "PAUSED"
    run_id = paused["run_id"]
    # ... the first process is gone; another one steps, then continues
    step = weboter("step", run_id[:6], "--json", home=tmp_path, env=env)
    assert step.returncode == 0, step.stdout + step.stderr
    assert json.loads(step.stdout)["status"] == "PAUSED"
    state = json.loads(cli("state", run_id, "--json", home=tmp_path).stdout)  # a read: here
    assert state["current_node"] == "read"
    go_on = weboter("continue", run_id, "--json", home=tmp_path, env=env)
    assert go_on.returncode == 0, go_on.stdout + go_on.stderr
    done = json.loads(go_on.stdout)
    assert done["status"] == "COMPLETED"
    assert done["variables"]["page"] == "Page 2 of 3"  # still logged in: cookies came back
    refused = cli("continue", run_id, home=tmp_path, env=env)  # a refusal: here
    assert refused.returncode == 2
    assert "COMPLETED" in refused.stderr


def test_demo_forked_at_page_two_with_a_changed_variable(
    tmp_path: Path, recorded_demo: Recorded
) -> None:
    runner = BrowserRunner(copy_log(recorded_demo.db_path, tmp_path))
    try:
        parent, first_csv, fork_csv = recorded_demo.run_id, recorded_demo.out, tmp_path / "f.csv"
        log = EventLog(runner.db_path)
        events = list(log.read(parent))
        log.close()
        page_two = next(
            r
            for r in events
            if isinstance(r.event, NodeCompleted)
            and r.event.node_id == "next"
            and r.event.next_node == "links"
        )
        child = runner.client.fork(parent, page_two.seq, variables={"out": str(fork_csv)})
        outcome = runner.outcome(child)
    finally:
        runner.close()
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    reads = [
        r.event.outputs["items"][0]["name"]
        for r in outcome.events
        if isinstance(r.event, NodeCompleted) and r.event.node_id == "read"
    ]
    assert reads == [p.name for p in PRODUCTS[PER_PAGE:]]  # page 1 was not done again
    with fork_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == [p.name for p in PRODUCTS]  # page 1 rows inherited
    log = EventLog(runner.db_path)
    compared = diff(log, parent, child)
    log.close()
    assert compared.first_divergence is not None
    export = compared.steps[-1]
    assert export["node_a"] == export["node_b"] == "export"
    assert export["changes"]["outputs"]["path"] == {"a": str(first_csv), "b": str(fork_csv)}
