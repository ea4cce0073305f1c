"""The dev UI end to end, as a person uses it: a real Chromium clicks through `weboter ui`
(controls found by role and name), and what it shows is checked against the log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import ROOT, UI, keep
from weboter.runtime.demo.shop import ShopServer
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.projection import state_at, variables_of

pytestmark = pytest.mark.timeout(240)


def status(page: Page) -> object:
    return page.get_by_role("status").filter(has_text="Status:")


def start(page: Page, ui: UI, path: str, variables: str, *, paused: bool) -> str:
    page.goto(ui.url)
    page.get_by_label("Workflow file").fill(path)
    page.get_by_label("Variables").fill(variables)
    page.get_by_label("Pause before the first node").set_checked(paused)
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"#/run/\w+"))
    return page.url.rsplit("/", 1)[1]


def test_break_step_scrub_fork_and_diff_the_counter(ui: UI, page: Page) -> None:
    run = start(page, ui, str(ROOT / "examples" / "counter.json"), "target=5", paused=True)
    expect(status(page)).to_contain_text("LOADED")

    greet = page.get_by_role("button", name="Node greet", exact=True)
    greet.click()  # a breakpoint before greet
    expect(greet).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Continue").click()
    expect(status(page)).to_contain_text("PAUSED at greet")
    expect(greet).to_have_attribute("aria-current", "step")
    keep(page, "run-paused-at-breakpoint")

    page.get_by_role("button", name="Step", exact=True).click()  # into the sub-flow
    expect(status(page)).to_contain_text("PAUSED at say")
    expect(page.get_by_role("button", name="Node say", exact=True)).to_have_attribute(
        "aria-current", "step"
    )

    # scrub back three events: the variables are those of that point, as the log has them
    log = EventLog(ui.db_path, create=False)
    try:
        last = log.last_version(run)
        seq = log.stored_at_version(run, last - 3).seq
        then = variables_of(state_at(log, run, seq))
    finally:
        log.close()
    slider = page.get_by_role("slider", name="Timeline position")
    expect(page.get_by_text(f"Event {last} of {last}")).to_be_visible()
    for _ in range(3):
        page.get_by_role("button", name="Earlier event").click()
    expect(page.get_by_text(f"Event {last - 3} of {last}")).to_be_visible()
    variables = page.get_by_role("table", name="Variables")
    for scope in ("global", "flow"):
        for name, value in then[scope].items():  # type: ignore[attr-defined]
            row = variables.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
            expect(row.first).to_contain_text(str(value))
    assert then["flow"]["count"] == 5  # type: ignore[index]
    keep(page, "timeline-three-events-back")

    # fork from the second event (count is 0 there) with target=3: it counts to 3
    slider.fill("2")
    expect(page.get_by_text(f"Event 2 of {last}")).to_be_visible()
    page.get_by_label("Variable to change").fill("target")
    page.get_by_label("New value").fill("3")
    page.get_by_role("button", name="Fork from here").click()
    page.wait_for_url(re.compile(r"#/run/(?!" + run + r")\w+"))
    expect(status(page)).to_contain_text("COMPLETED")
    fork = page.url.rsplit("/", 1)[1]
    keep(page, "fork-completed")

    page.get_by_role("link", name="Compare with parent").click()
    page.wait_for_url(re.compile(rf"#/diff/{run}/{fork}"))
    expect(page.get_by_text("First divergence at step 1.")).to_be_visible()
    differing = page.get_by_role("table", name="Steps that differ")
    expect(differing).to_contain_text("variables global.target: 5 → 3")
    expect(differing.get_by_role("row").nth(1)).to_contain_text("first divergence")
    keep(page, "diff-parent-and-fork")


def test_the_screenshot_of_a_past_step_on_the_demo_shop(ui: UI, page: Page) -> None:
    with ShopServer() as shop:
        workflow = ROOT / "runtime" / "demo" / "shop_workflow.yaml"
        variables = f"base_url={shop.url}, out=products.csv, rows=[]"
        run = start(page, ui, str(workflow), variables, paused=False)
        expect(status(page)).to_contain_text("COMPLETED", timeout=120_000)
    log = EventLog(ui.db_path, create=False)
    try:
        opened = next(
            r
            for r in log.stored_of_types(run, ("NodeCompleted",))
            if to_record(r).event.node_id == "open"  # type: ignore[union-attr]
        )
    finally:
        log.close()
    page.get_by_role("slider", name="Timeline position").fill(str(opened.run_version))
    shot = page.get_by_role("img", name="Screenshot after node open")
    expect(shot).to_be_visible()
    assert shot.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.get_by_text(f"{shop.url}/login")).to_be_visible()
    keep(page, "demo-shop-past-step")
