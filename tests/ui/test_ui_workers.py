"""A run that `weboter serve --workers` drives, seen and paused in `weboter ui` on the same
log: its steps show their pages (the worker keeps the evidence the run asks for, whatever its
own setting), and a pause from the page is recorded in the log, where the engine that drives
the run pauses it — the run stays with that engine and its workers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import launch, shutdown
from tests.workers.conftest import GatedShop, Served
from tests.workers.test_failover import run_on
from weboter.runtime.store.reading import Reader
from weboter.schemas.events import NodeCompleted, PauseRequested, RunPaused

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def shop() -> Iterator[GatedShop]:
    server = GatedShop().start()
    yield server
    server.release.set()
    server.stop()


def test_a_workers_run_shows_its_pages_and_pauses_where_it_runs(
    tmp_path: Path, page: Page, shop: GatedShop
) -> None:
    served = Served(tmp_path, "--evidence", "every_node")
    ui = None
    try:
        served.worker("--name", "w1")  # its own --evidence: on_error (the default)
        shop.held = "/product/3"  # the run waits there, mid-node, on the worker
        proc = run_on(served, shop, "paused.csv")
        assert shop.arrived.wait(120), "the run never reached product 3"
        with Reader(tmp_path / "weboter.db") as log:
            run = log.runs(1)[0].run_id
        ui = launch(tmp_path)
        page.goto(f"{ui.url}#/run/{run}")
        expect(page.get_by_role("heading", name=re.compile(f"Run {run[:12]}"))).to_be_visible()
        page.get_by_role("button", name="Pause").click()
        shop.release.set()
        status = page.get_by_role("status").filter(has_text="Status:")
        expect(status).to_contain_text("PAUSED", timeout=60_000)

        actions = page.get_by_role("list", name="Actions")
        actions.get_by_role("button", name=re.compile(r"· user · ")).first.click()
        details = page.get_by_role("region", name="Step details")
        expect(details.get_by_role("img", name="After user")).to_be_visible()

        with Reader(tmp_path / "weboter.db") as log:
            events = [r.event for r in log.records(run)]
        assert any(isinstance(e, PauseRequested) for e in events)
        paused = next(i for i, e in enumerate(events) if isinstance(e, RunPaused))
        # the node in flight finished on the worker before the run paused
        assert isinstance(events[paused - 1], NodeCompleted)
        kept = [e for e in events if isinstance(e, NodeCompleted) and e.evidence]
        assert kept and all("screenshot" in e.evidence for e in kept)

        # the run stayed the served engine's: `weboter run`, its client, saw it rest there
        out, err = proc.communicate(timeout=60)
        assert json.loads(out)["status"] == "PAUSED", err[-2000:]
    finally:
        if ui is not None:
            shutdown(ui)
        served.stop()


def test_a_client_asks_for_evidence_at_every_node_and_the_worker_keeps_it(
    tmp_path: Path, shop: GatedShop
) -> None:
    """`weboter run --engine … --evidence every_node` on an engine (and a worker) left at
    their defaults: the run's browser steps keep their pages, before and after, and network."""
    served = Served(tmp_path)
    try:
        served.worker("--name", "w1")
        proc = run_on(served, shop, "kept.csv", "--evidence", "every_node")
        out, err = proc.communicate(timeout=180)
        assert json.loads(out)["status"] == "COMPLETED", err[-2000:]
        run = json.loads(out)["run_id"]
        with Reader(tmp_path / "weboter.db") as log:
            done = [r.event for r in log.records(run) if isinstance(r.event, NodeCompleted)]
        browser = [e for e in done if e.browser is not None]
        assert browser and all("screenshot" in e.evidence for e in browser)
        assert any("network" in e.evidence for e in browser)  # a step that loaded a page
        assert all(e.worker == "w1" for e in browser)
        assert any("before" in e.evidence for e in browser)
    finally:
        served.stop()
