"""The run page as a trace viewer, in a real Chromium by role and name: the action list (each
step's inputs, outputs, duration, before/after screenshots, network requests and console
messages), the graph as of the time cursor, compare lined up by node with a fork at the
divergence, search in events, keyboard shortcuts, dark mode."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import flow, node
from tests.recording_server import RecordingServer
from tests.ui.conftest import ROOT, UI, get, keep, launch, post, shutdown
from weboter.runtime.demo.run import PASSWORD
from weboter.runtime.store.reading import Reader

pytestmark = pytest.mark.timeout(240)

SITE = """<!doctype html><html><head><title>Trace me</title></head><body>
<h1>Trace me</h1><label>Name <input id="name"></label>
<script>console.log("hello from the page");
const x = new XMLHttpRequest(); x.open("GET", "/ping?from=script", false); x.send();</script>
</body></html>"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    started = launch(tmp_path_factory.mktemp("ui"))
    try:
        yield started
    finally:
        shutdown(started)


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


def step_seqs(ui: UI, run: str, node_id: str) -> list[int]:
    with Reader(ui.db_path) as log:
        rows = log.decoded(log.of_types(run, ("NodeCompleted", "NodeFailed")))
        return [r.seq for r in rows if r.event.node_id == node_id]  # type: ignore[union-attr]


def test_the_action_list_shows_what_each_step_did(ui: UI, page: Page, tmp_path: Path) -> None:
    workflow = tmp_path / "trace.json"
    steps = [
        node(
            "open", "OpenPage", inputs={"url": "$global{site}/form"}, params={"next_node": "type"}
        ),
        node(
            "type",
            "FillInput",
            inputs={"locator": {"element": "Name", "type": "label"}, "text": "Ada"},
            params={"next_node": "missing"},
        ),
        node(
            "missing",
            "ClickItem",
            "EndFlow",
            inputs={"locator": {"element": "#nowhere", "type": "css"}, "timeout": 500},
        ),
    ]
    workflow.write_text(json.dumps(flow(*steps)))
    with RecordingServer(SITE) as site:
        run = start(page, ui, str(workflow), f"site={site.url}", paused=False)
        expect(status(page)).to_contain_text("ERROR at missing", timeout=60_000)
    actions = page.get_by_role("list", name="Actions")
    expect(actions.get_by_role("listitem")).to_have_count(3)
    expect(actions).to_contain_text("missing · ClickItem · failed")

    actions.get_by_role("button", name=re.compile(r"· type · .*FillInput · completed")).click()
    details = page.get_by_role("region", name="Step details")
    expect(details.get_by_role("heading")).to_have_text(re.compile(r"Step at seq \d+: type"))
    inputs = details.get_by_role("table", name="Inputs")
    expect(inputs.get_by_role("row", name=re.compile("text Ada"))).to_be_visible()
    expect(details.get_by_role("table", name="Outputs")).to_be_visible()
    expect(details.get_by_role("definition").nth(2)).to_have_text(
        re.compile(r"^\d+ ms$|^\d+\.\d\d s$")
    )
    for shot in ("Before type", "After type"):
        image = details.get_by_role("img", name=shot)
        expect(image).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.shots img')]"
        ".every(i => i.complete && i.naturalWidth)"
    )
    # the time cursor went to the step: the timeline shows its event
    typed = step_seqs(ui, run, "type")[0]
    expect(page.get_by_role("slider", name="Timeline position")).to_have_attribute(
        "aria-valuetext", f"Seq {typed}"
    )
    keep(page, "trace-step-details", doc=True)

    actions.get_by_role("button", name=re.compile(r"· open · .*OpenPage")).click()
    network = details.get_by_role("table", name="Network requests")
    expect(
        network.get_by_role("row", name=re.compile(r"GET .*\/form 200 document"))
    ).to_be_visible()
    expect(
        network.get_by_role("row", name=re.compile(r"GET .*\/ping\?from=script 200 xhr"))
    ).to_be_visible()
    console = details.get_by_role("region", name="Console messages")
    expect(console).to_contain_text("log: hello from the page")
    keep(page, "trace-network-console", doc=True)

    # the failed step: its error, and its evidence paths are links to the artifacts
    actions.get_by_role("button", name=re.compile(r"· missing · ")).click()
    expect(details).to_contain_text("ElementNotFound")
    # what it was given, and how long it tried
    expect(details.get_by_role("table", name="Inputs")).to_contain_text("#nowhere")
    expect(details.get_by_role("definition").nth(2)).to_have_text(re.compile(r"\d+ ms$|\d s$"))
    errors = page.get_by_role("region", name="Error and repairs")
    expect(errors.get_by_role("link", name=re.compile(r"[0-9a-f]{64}\.png"))).to_be_visible()
    # the failed node is the one "Node to patch" offers first
    expect(page.get_by_label("Node to patch")).to_have_value("2")  # open, type, missing


def test_the_graph_follows_the_time_cursor(ui: UI, page: Page) -> None:
    counter = str(ROOT / "examples" / "counter.json")
    run = start(page, ui, counter, "", paused=False)  # no target: inc fails, the run waits
    expect(status(page)).to_contain_text("ERROR at inc")
    inc = page.get_by_role("button", name="Node inc", exact=True)
    init = page.get_by_role("button", name="Node init", exact=True)
    expect(inc).to_have_attribute("aria-description", "failed once")
    page.get_by_label("Variable", exact=True).fill("target")
    page.get_by_label("Value", exact=True).fill("3")
    page.get_by_role("button", name="Set variable").click()
    page.get_by_role("button", name="Retry").click()
    expect(status(page)).to_contain_text("COMPLETED")
    expect(inc).to_have_attribute(
        "aria-description", re.compile(r"^ran 3 times, failed once, retried once$")
    )
    expect(page.get_by_role("button", name="Node small", exact=True)).to_have_attribute(
        "aria-description", "not run yet"
    )
    keep(page, "graph-at-the-end")

    # back to right after init ran: inc has not run, init has; the path taken is init's edge
    seq = step_seqs(ui, run, "init")[0]
    page.get_by_role("slider", name="Timeline position").fill(str(seq))
    expect(page.get_by_role("heading", name=f"Workflow as of seq {seq}")).to_be_visible()
    expect(inc).to_have_attribute("aria-description", "not run yet")
    expect(inc).to_have_attribute("aria-current", "step")  # where the run was then
    expect(init).to_have_attribute("aria-description", "ran once")
    expect(page.locator('path.edge.taken[data-edge="init->inc"]')).to_have_count(1)
    # at the failure: inc failed once, not yet retried
    failed = step_seqs(ui, run, "inc")[0]
    page.get_by_role("slider", name="Timeline position").fill(str(failed))
    expect(inc).to_have_attribute("aria-description", "failed once")
    keep(page, "graph-at-an-earlier-point", doc=True)


def test_compare_lines_steps_up_and_forks_at_the_divergence(ui: UI, page: Page) -> None:
    counter = str(ROOT / "examples" / "counter.json")
    good = start(page, ui, counter, "target=2", paused=False)
    expect(status(page)).to_contain_text("COMPLETED")
    other = start(page, ui, counter, "target=4", paused=False)
    expect(status(page)).to_contain_text("COMPLETED")
    page.goto(f"{ui.url}#/diff/{good}/{other}")
    differing = page.get_by_role("table", name="Steps that differ")
    # lined up by node: greet is compared with greet; B's two extra incs, A's small and B's
    # big stand alone
    expect(
        differing.get_by_role("row", name=re.compile(r"^— — \d+ inc seq \d+ only run B"))
    ).to_have_count(2)
    expect(
        differing.get_by_role("row", name=re.compile(r"greet seq \d+ \d+ greet seq"))
    ).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="First divergence")).to_contain_text(
        "First divergence at step 1 (A: init, B: init). 1 step only in A; 3 steps only in B."
    )
    keep(page, "compare-aligned", doc=True)
    page.get_by_role("button", name="Fork run B at the divergence with run A's values").click()
    page.wait_for_url(re.compile(r"#/run/(?!" + other + r")\w+"))
    expect(status(page)).to_contain_text("COMPLETED")
    fork = page.url.rsplit("/", 1)[1]
    with Reader(ui.db_path) as log:
        assert log.state(fork).globals["size"] == "small"  # as run A: it counted to 2
        assert log.state(fork).parent_run == other
        assert log.diff(good, fork).first_divergence is None


def test_search_shortcuts_and_dark_mode(ui: UI, page: Page) -> None:
    counter = str(ROOT / "examples" / "counter.json")
    run = start(page, ui, counter, "target=2", paused=True)
    expect(status(page)).to_contain_text("LOADED")
    page.keyboard.press("s")  # step: init runs
    expect(status(page)).to_contain_text("PAUSED at inc")
    page.keyboard.press("c")  # continue to the end
    expect(status(page)).to_contain_text("COMPLETED")
    slider = page.get_by_role("slider", name="Timeline position")
    with Reader(ui.db_path) as log:
        seqs = [r.seq for r in log.events(run)]
    expect(slider).to_have_attribute("aria-valuetext", f"Seq {seqs[-1]}")  # it follows the run
    expect(page.get_by_role("button", name="Earlier event")).to_be_enabled()  # neighbours known
    page.keyboard.press(",")
    expect(slider).to_have_attribute("aria-valuetext", f"Seq {seqs[-2]}")
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuetext", f"Seq {seqs[-1]}")

    page.get_by_role("searchbox", name="Search events").fill("counted to 2")
    page.get_by_role("button", name="Search", exact=True).click()
    found = page.get_by_role("list", name="Events found")
    expect(found.get_by_role("button")).to_have_count(2)  # say set it, greet returned it
    expect(found).to_contain_text("NodeCompleted say")
    found.get_by_role("button", name=re.compile("SubFlowReturned greet")).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^Seq \d+: "))).to_contain_text(
        "SubFlowReturned (greet)"
    )

    page.keyboard.press("?")
    help_ = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_).to_be_visible()
    expect(help_.get_by_role("row", name="c Continue")).to_be_visible()
    keep(page, "shortcuts", doc=True)
    help_.get_by_role("button", name="Close").click()
    expect(help_).to_be_hidden()

    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert dark == "rgb(20, 24, 29)", dark
    keep(page, "run-dark", doc=True)
    page.emulate_media(color_scheme="light")


def _until(ui: UI, run: str, status: str) -> dict:
    """The run's page data once it is in `status` (polled: the API is what is tested)."""
    deadline = time.monotonic() + 60
    while True:
        code, found = get(ui, f"/api/runs/{run}")
        assert code == 200, found
        if found["status"] == status:
            return found
        assert time.monotonic() < deadline, f"run {run} stayed {found['status']}"
        time.sleep(0.1)  # not a sync: polling the API for the run's status


def test_a_rewind_takes_its_steps_out_of_the_counts_from_then_on(ui: UI) -> None:
    code, started = post(
        ui,
        "/api/runs",
        {"path": str(ROOT / "examples" / "counter.json"), "variables": {"target": 3}},
    )
    assert code == 200, started
    run = started["run_id"]
    assert post(ui, f"/api/runs/{run}/breakpoint", {"node_id": "greet", "on": True})[0] == 200
    assert post(ui, f"/api/runs/{run}/continue", {})[0] == 200
    paused = _until(ui, run, "PAUSED")
    assert paused["marks"]["counter/inc"]["done"] == 3
    before_rewind = paused["seq"]
    init = step_seqs(ui, run, "init")[0]
    assert post(ui, f"/api/runs/{run}/rewind", {"seq": init})[0] == 200
    now = _until(ui, run, "PAUSED")  # back at inc, the three incs undone
    assert "counter/inc" not in now["marks"] and now["marks"]["counter/init"]["done"] == 1
    assert {"path": ["counter"], "from": "inc", "to": "inc", "times": 2} not in now["taken"]
    # as of before the rewind, they still count
    _, then = get(ui, f"/api/runs/{run}/at/{before_rewind}")
    assert then["graph"]["marks"]["counter/inc"]["done"] == 3
    assert {"path": ["counter"], "from": "inc", "to": "inc", "times": 2} in then["graph"]["taken"]
    _, listed = get(ui, f"/api/runs/{run}/steps")
    incs = [s for s in listed["steps"] if s["node_id"] == "inc"]
    assert len(incs) == 3 and all(s["undone_at"] for s in incs)
    assert listed["total"] == len(listed["steps"]) and listed["more"] is False


def test_any_two_runs_are_compared_from_a_runs_page(ui: UI, page: Page) -> None:
    counter = str(ROOT / "examples" / "counter.json")
    first = start(page, ui, counter, "target=1", paused=False)
    expect(status(page)).to_contain_text("COMPLETED")
    second = start(page, ui, counter, "target=3", paused=False)
    expect(status(page)).to_contain_text("COMPLETED")
    page.get_by_label("Compare with run").fill(first[:8])  # the start of its id is enough
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url(re.compile(rf"#/diff/{second}/{first[:8]}$"))
    expect(page.get_by_role("heading", name=re.compile("Compare runs"))).to_contain_text(
        second[:12]
    )
    expect(page.get_by_role("table", name="Steps that differ")).to_contain_text("global.target")


def test_a_secret_in_a_steps_requests_is_shown_as_its_reference(ui: UI, tmp_path: Path) -> None:
    workflow = tmp_path / "secret_url.json"
    opening = node(
        "open", "OpenPage", "EndFlow", inputs={"url": "$global{site}/in?k=$env{shop.password}"}
    )
    workflow.write_text(json.dumps(flow(opening)))
    with RecordingServer(SITE) as site:
        code, started = post(
            ui,
            "/api/runs",
            {"path": str(workflow), "variables": {"site": site.url}, "paused": False},
        )
        assert code == 200, started
        run = started["run_id"]
        _until(ui, run, "COMPLETED")
    seq = step_seqs(ui, run, "open")[0]
    code, step = get(ui, f"/api/runs/{run}/steps/{seq}")
    assert code == 200, step
    urls = [entry["url"] for entry in step["evidence"]["network"]]
    assert any(u.endswith("/in?k=$env{shop.password}") for u in urls), urls  # shown, not dropped
    assert PASSWORD not in json.dumps(step)
