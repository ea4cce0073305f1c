"""The runs page over a log of many runs, as a person uses it in a real Chromium (controls
found by role and name) and as a script asks `GET /api/runs`: pages of 50 found by the server,
a search that reaches runs far from the first page, how long each ran and who drove it — the
worker too, when a run's nodes run on `weboter worker`s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import flow, node
from tests.made_runs import make_runs
from tests.ui.conftest import UI, get, keep, launch, shutdown
from tests.workers.conftest import Served
from tests.workers.test_roles import submit, wait_for
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.runs import this_host
from weboter.runtime.transport.security import client_keys
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(240)

COUNT = 262
DASH = "\u2013"  # the en dash of "Runs 1-50 of 262" on the page
FAILED = {7: "the shop answered 503 for page 7 (gateway timeout)"}  # an old run: page 6


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UI, list[str]]]:
    """A `weboter ui` on a log of COUNT runs (oldest first in the list given back), written
    through the store's write path before it starts."""
    home = tmp_path_factory.mktemp("runs")
    runs = make_runs(home / "weboter.db", COUNT, FAILED)
    started = launch(home)
    try:
        yield started, runs
    finally:
        shutdown(started)


def where(page: Page) -> object:
    """The line saying which runs the page shows: "Runs 201-250 of 262" (an en dash)."""
    return page.get_by_role("status").filter(has_text=re.compile(r"^(Runs \d|No runs)"))


def days(ui: UI, runs: list[str]) -> tuple[date, date]:
    """The days the oldest and the newest of `runs` were made (this machine's calendar)."""
    with Reader(ui.db_path) as log:
        first, last = (date.fromtimestamp(log.listed(r).created_at) for r in (runs[0], runs[-1]))
    return first, last


def test_page_to_the_250th_run_and_open_it(many: tuple[UI, list[str]], page: Page) -> None:
    ui, runs = many
    page.goto(ui.url)
    table = page.get_by_role("table", name="Runs, newest first")
    expect(where(page)).to_have_text(f"Runs 1{DASH}50 of {COUNT}")
    expect(table.get_by_role("row").nth(1)).to_contain_text(runs[-1][:12])  # the newest
    for header in ("Duration", "Driven by"):
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    for first in (51, 101, 151, 201):
        page.get_by_role("button", name="Next page").click()
        expect(where(page)).to_have_text(f"Runs {first}{DASH}{first + 49} of {COUNT}")
    the_250th = runs[COUNT - 250]
    rows = table.get_by_role("row")
    expect(rows).to_have_count(51)  # the header and 50 runs
    expect(rows.nth(50)).to_contain_text(the_250th[:12])
    expect(rows.nth(50)).to_contain_text("Shop scrape")
    keep(page, "runs-page-5", doc=True)
    page.get_by_role("link", name=the_250th[:12], exact=True).click()
    page.wait_for_url(re.compile(rf"#/run/{the_250th}$"))
    expect(page.get_by_role("status").filter(has_text="Status:")).to_contain_text("LOADED")
    page.get_by_role("link", name="Runs", exact=True).click()  # back: the same page
    expect(where(page)).to_have_text(f"Runs 201{DASH}250 of {COUNT}")
    page.get_by_role("button", name="Next page").click()
    expect(where(page)).to_have_text(f"Runs 251{DASH}{COUNT} of {COUNT}")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    expect(rows.last).to_contain_text(runs[0][:12])  # the oldest


def test_a_search_by_error_text_finds_a_run_far_from_the_first_page(
    many: tuple[UI, list[str]], page: Page
) -> None:
    ui, runs = many
    failed = runs[7]
    page.goto(ui.url)
    table = page.get_by_role("table", name="Runs, newest first")
    expect(where(page)).to_have_text(re.compile(rf"^Runs \d+{DASH}\d+ of {COUNT}$"))
    expect(table).not_to_contain_text(failed[:12])
    page.get_by_role("searchbox", name="Search").fill("503 for page")  # sent once typing stops
    expect(where(page)).to_have_text(f"Runs 1{DASH}1 of 1 found")
    found = table.get_by_role("row").nth(1)
    expect(found).to_contain_text(failed[:12])
    expect(found).to_contain_text("FAILED")
    expect(found).to_contain_text("ActionTimeout: the shop answered 503 for page 7")
    keep(page, "runs-search-by-error")
    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Status").select_option("FAILED")  # the status alone: the server's too
    expect(where(page)).to_have_text(f"Runs 1{DASH}1 of 1 found")
    page.get_by_role("searchbox", name="Search").fill("no run has this anywhere")
    expect(where(page)).to_have_text("No runs match.")
    expect(table).to_contain_text("No runs match.")
    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Status").select_option("")  # any
    expect(where(page)).to_have_text(f"Runs 1{DASH}50 of {COUNT}")
    first, last = days(ui, runs)
    page.get_by_label("Started from").fill(str(last + timedelta(days=1)))  # none started since
    expect(where(page)).to_have_text("No runs match.")
    page.get_by_label("Started from").fill(str(first))
    expect(where(page)).to_have_text(f"Runs 1{DASH}50 of {COUNT} found")


def test_the_api_pages_searches_and_keeps_its_old_answer(many: tuple[UI, list[str]]) -> None:
    ui, runs = many
    status, listed = get(ui, "/api/runs")  # no offset: the list of rows, as before paging
    assert status == 200
    assert [r["run_id"] for r in listed] == runs[:-201:-1]
    assert {"duration", "driver", "error", "last_at"} <= set(listed[0])
    status, page = get(ui, "/api/runs?offset=200&limit=50")
    assert status == 200
    assert [r["run_id"] for r in page["runs"]] == runs[COUNT - 201 : COUNT - 251 : -1]
    assert (page["offset"], page["limit"], page["total"], page["more"]) == (200, 50, COUNT, True)
    _, last = get(ui, "/api/runs?offset=250")
    assert (len(last["runs"]), last["more"]) == (COUNT - 250, False)
    _, found = get(ui, "/api/runs?offset=0&q=gateway%20TIMEOUT&status=failed")
    assert [r["run_id"] for r in found["runs"]] == [runs[7]]
    assert found["runs"][0]["error"] == f"ActionTimeout: {FAILED[7]}"
    first, last = days(ui, runs)
    _, those_days = get(ui, f"/api/runs?offset=0&since={first}&until={last}")
    assert those_days["total"] == COUNT  # `until` a date: to the end of that day
    _, before = get(ui, f"/api/runs?offset=0&until={first - timedelta(days=1)}")
    assert before["total"] == 0
    _, one = get(ui, f"/api/runs/{runs[5]}")
    assert one["driver"] == {"engine": None, "worker": None, "now": False, "label": ""}


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("offset=-1", "offset must be 0 or more"),
        ("offset=two", "offset must be a whole number"),
        ("offset=99999999999999999999999", "offset is out of range"),
        ("offset=0&limit=0", "limit must be 1 to 500"),
        ("offset=0&limit=501", "limit must be 1 to 500"),
        ("status=DONE", "status 'DONE' is not a run's status"),
        ("since=yesterday", "since must be a date (2026-12-07)"),
        ("until=2026-13-01", "until must be a date"),
        ("page=2", "/api/runs takes no parameter 'page'"),
        (f"q={'x' * 201}", "a search takes at most 200"),
    ],
)
def test_bad_parameters_are_400s_that_say_why(
    many: tuple[UI, list[str]], query: str, said: str
) -> None:
    status, answer = get(many[0], f"/api/runs?{query}")
    assert status == 400
    assert said in answer["error"]["message"]
    assert answer["error"]["hint"]


def test_a_run_driven_by_a_worker_shows_the_worker(tmp_path: Path, page: Page) -> None:
    served = Served(tmp_path)
    ui = None
    try:
        served.worker("--name", "runner-7")
        quick = node("quick", "SleepFor", inputs={"duration": 0.05}, params={"next_node": "long"})
        long = node("long", "SleepFor", "EndFlow", inputs={"duration": 120})
        workflow = to_workflow(flow(quick, long, id="on-a-worker"), "on-a-worker")
        run_id = submit(served, workflow, client_keys(served.home))
        wait_for(served, run_id, NodeCompleted)  # `quick` ran on runner-7; `long` runs there
        ui = launch(tmp_path)
        engine = f"{this_host()}:{served.proc.pid}"
        status, seen = get(ui, f"/api/runs/{run_id}")
        assert status == 200
        label = f"worker runner-7, engine {engine} (now)"
        assert seen["driver"] == {
            "engine": engine,
            "worker": "runner-7",
            "now": True,
            "label": label,
        }
        page.goto(ui.url)
        table = page.get_by_role("table", name="Runs, newest first")
        row = table.get_by_role("row").filter(has_text=run_id[:12])
        expect(row).to_contain_text(label)
        expect(row).to_contain_text(re.compile(r"\d s so far"))
        keep(page, "runs-driven-by-a-worker", doc=True)
        row.get_by_role("link", name=run_id[:12]).click()  # the run's page says it too
        said = page.get_by_role("status").filter(has_text="Status:")
        expect(said).to_contain_text(f"driven by {label}")
    finally:
        if ui is not None:
            shutdown(ui)
        served.stop()
