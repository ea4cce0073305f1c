"""The dev UI end to end, as a person uses it: a real Chromium clicks through `weboter ui`
(controls found by role and name), and what it shows is checked against the log (and against
the CLI: a seq the page shows is one `weboter state RUN --at SEQ` takes)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import flow, node, weboter
from tests.ui.conftest import ROOT, UI, keep, launch, shutdown
from weboter.runtime.demo.shop import ShopServer
from weboter.runtime.engine.handle import RunHandle, through_log
from weboter.runtime.store.projection import variables_of
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import RepairAction

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """One `weboter ui` for this module: each test starts its own run and looks at it."""
    started = launch(tmp_path_factory.mktemp("ui"))
    try:
        yield started
    finally:
        shutdown(started)


def status(page: Page) -> object:
    return page.get_by_role("status").filter(has_text="Status:")


def position(page: Page) -> object:
    """The timeline's line saying which event it shows: "Seq 176: NodeCompleted (inc) · …"."""
    return page.get_by_role("status").filter(has_text=re.compile(r"^Seq \d+: "))


def seqs_of(ui: UI, run: str, node_id: str | None = None) -> list[int]:
    """The seqs of a run's events (of its NodeCompleted of `node_id`, if given)."""
    with Reader(ui.db_path) as log:
        if node_id is None:
            return [r.seq for r in log.events(run)]
        done = log.decoded(log.of_types(run, ("NodeCompleted",)))
        return [r.seq for r in done if r.event.node_id == node_id]  # type: ignore[union-attr]


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
    greet.press("Enter")  # the keyboard toggles it too, and keeps its place on the node
    expect(greet).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Enter")
    expect(greet).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Continue").click()
    expect(status(page)).to_contain_text("PAUSED at greet")
    expect(greet).to_have_attribute("aria-current", "step")
    keep(page, "run-paused-at-breakpoint", doc=True)

    page.get_by_role("button", name="Step", exact=True).click()  # into the sub-flow
    expect(status(page)).to_contain_text("PAUSED at say")
    expect(page.get_by_role("button", name="Node say", exact=True)).to_have_attribute(
        "aria-current", "step"
    )

    # scrub back three events: the variables are those of that point, as the log has them
    seqs = seqs_of(ui, run)
    with Reader(ui.db_path) as log:
        then = variables_of(log.state(run, seqs[-4]))
    slider = page.get_by_role("slider", name="Timeline position")
    expect(position(page)).to_have_text(re.compile(rf"^Seq {seqs[-1]}: "))
    expect(slider).to_have_attribute("aria-valuetext", f"Seq {seqs[-1]}")
    for _ in range(3):
        page.get_by_role("button", name="Earlier event").click()
    expect(position(page)).to_have_text(re.compile(rf"^Seq {seqs[-4]}: "))
    variables = page.get_by_role("table", name="Variables")
    for scope in ("global", "flow"):
        for name, value in then[scope].items():  # type: ignore[attr-defined]
            row = variables.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
            expect(row.first).to_contain_text(str(value))
    assert then["flow"]["count"] == 5  # type: ignore[index]
    keep(page, "timeline-three-events-back")
    slider.press("ArrowLeft")  # the keyboard steps event by event too
    expect(slider).to_have_attribute("aria-valuetext", f"Seq {seqs[-5]}")
    slider.press("ArrowRight")
    expect(position(page)).to_have_text(re.compile(rf"^Seq {seqs[-4]}: "))

    # fork from the second event (count is 0 there) with target=3: it counts to 3
    slider.fill(str(seqs[1]))
    expect(position(page)).to_have_text(re.compile(rf"^Seq {seqs[1]}: "))
    page.get_by_label("Variable to change").fill("target")
    page.get_by_label("New value").fill("3")
    page.get_by_role("button", name="Fork from here").click()
    page.wait_for_url(re.compile(r"#/run/(?!" + run + r")\w+"))
    expect(status(page)).to_contain_text("COMPLETED")
    fork = page.url.rsplit("/", 1)[1]
    keep(page, "fork-completed")
    # the fork is the log's second run: the seq its timeline shows is the one the CLI takes
    forked = seqs_of(ui, fork)
    expect(position(page)).to_have_text(re.compile(rf"^Seq {forked[-1]}: RunCompleted"))
    page.get_by_role("button", name="Earlier event").click()
    expect(position(page)).to_have_text(re.compile(rf"^Seq {forked[-2]}: "))
    shown = page.get_by_role("slider", name="Timeline position").get_attribute("aria-valuetext")
    seq = int((shown or "").removeprefix("Seq "))
    assert seq > seqs[-1]  # after every event of its parent: a seq, not the run's own count
    said = weboter("state", fork, "--at", str(seq), "--json", home=ui.home)
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout)["seq"] == seq
    expect(position(page)).to_contain_text(f"· {json.loads(said.stdout)['status']}")
    page.get_by_role("link", name="Runs", exact=True).click()  # the list: the fork under its parent
    runs = page.get_by_role("table", name="Runs, newest first")
    expect(runs.get_by_role("row").nth(1)).to_contain_text(fork[:12])
    expect(runs.get_by_role("row").nth(1)).to_contain_text(run[:12])  # "forked from"
    keep(page, "runs-list")
    page.go_back()

    page.get_by_role("link", name="Compare with parent").click()
    page.wait_for_url(re.compile(rf"#/diff/{run}/{fork}"))
    expect(page.get_by_text("First divergence at step 1 (A: init, B: init).")).to_be_visible()
    differing = page.get_by_role("table", name="Steps that differ")
    expect(differing).to_contain_text("variables global.target: 5 → 3")
    expect(differing.get_by_role("row").nth(1)).to_contain_text("first divergence")
    keep(page, "diff-parent-and-fork")

    # back on the parent, still paused in the sub-flow: rewind it to right after `init`
    page.get_by_role("link", name=f"Run A {run[:12]}").click()
    expect(status(page)).to_contain_text("PAUSED at say")
    init = seqs_of(ui, run, "init")[0]
    page.get_by_role("slider", name="Timeline position").fill(str(init))
    expect(position(page)).to_have_text(re.compile(rf"^Seq {init}: NodeCompleted \(init\)"))
    page.get_by_role("button", name="Rewind to here").click()
    expect(status(page)).to_contain_text("PAUSED at inc")
    assert types_of(ui, run)[-1] == "RunRewound"


def test_the_screenshot_of_a_past_step_on_the_demo_shop(ui: UI, page: Page, tmp_path: Path) -> None:
    workflow = tmp_path / "sign_in.json"  # the demo's first two steps
    opening = node("open", inputs={"url": "$global{base_url}/login"}, action="OpenPage")
    typing = node(
        "user",
        "FillInput",
        "EndFlow",
        inputs={"locator": {"element": "Username", "type": "label"}, "text": "someone"},
    )
    workflow.write_text(json.dumps(flow(opening | {"params": {"next_node": "user"}}, typing)))
    with ShopServer() as shop:
        run = start(page, ui, str(workflow), f"base_url={shop.url}", paused=False)
        expect(status(page)).to_contain_text("COMPLETED", timeout=60_000)
    opened = seqs_of(ui, run, "open")[0]
    page.get_by_role("slider", name="Timeline position").fill(str(opened))
    shot = page.get_by_role("img", name="Screenshot after node open")
    expect(shot).to_be_visible()
    page.wait_for_function(  # the picture itself arrived, not only its element
        "() => [...document.querySelectorAll('img.shot')].some(i => i.complete && i.naturalWidth)"
    )
    page_at = page.get_by_role("region", name="Page at this step")
    expect(page_at.get_by_text(f"{shop.url}/login")).to_be_visible()
    # the step whole: the request that opened the login page, and the page before typing
    page.get_by_role("list", name="Actions").get_by_role(
        "button", name=re.compile(r"· open · ")
    ).click()
    network = page.get_by_role("table", name="Network requests")
    expect(
        network.get_by_role("row", name=re.compile(r"GET .*\/login 200 document"))
    ).to_be_visible()
    page.get_by_role("list", name="Actions").get_by_role(
        "button", name=re.compile(r"· user · ")
    ).click()
    expect(page.get_by_role("img", name="Before user")).to_be_visible()
    keep(page, "demo-shop-past-step")


def suggest(ui: UI, run: str, action: RepairAction) -> None:
    """A repair suggested as the AI gateway records one (the UI shows it live)."""
    RunHandle(run, through_log(ui.db_path)).suggest(action, 0.8)


def types_of(ui: UI, run: str) -> list[str]:
    with Reader(ui.db_path) as log:
        return [r.type for r in log.events(run)]


def test_an_error_its_suggestions_rejected_and_approved_then_a_patch(ui: UI, page: Page) -> None:
    run = start(page, ui, str(ROOT / "examples" / "counter.json"), "", paused=False)
    expect(status(page)).to_contain_text("ERROR at inc")  # $global{target} was never set
    errors = page.get_by_role("region", name="Error and repairs")
    expect(errors).to_contain_text("target")
    expect(page.get_by_role("button", name="Retry")).to_be_enabled()
    expect(page.get_by_role("button", name="Skip")).to_be_enabled()
    before = types_of(ui, run)
    page.get_by_role("button", name="Skip").click()  # a loop's control needs inc's output
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("cannot be skipped")
    assert types_of(ui, run) == before  # refused: nothing recorded, the run not driven

    wrong = RepairAction(kind="set_variables", variables={"target": -1}, reason="any number")
    suggest(ui, run, wrong)
    offered = errors.get_by_role("article", name="Suggestion from model")
    expect(offered).to_contain_text("Reason: any number")
    where = position(page)
    expect(where).to_contain_text("RepairSuggested")  # the page read the run again ...
    expect(alert).to_contain_text("cannot be skipped")  # ... and the user's error stays
    offered.get_by_role("button", name="Reject").click()
    expect(offered).to_have_count(0)
    expect(alert).to_be_hidden()  # a change that went through clears it
    assert types_of(ui, run)[-1] == "RepairRejected"

    right = RepairAction(kind="set_variables", variables={"target": 3}, reason="count to 3")
    suggest(ui, run, right)
    expect(offered).to_contain_text("confidence 0.80")
    keep(page, "error-with-a-suggestion", doc=True)
    offered.get_by_role("button", name="Approve").click()
    expect(status(page)).to_contain_text("PAUSED at inc")
    assert "RepairApplied" in types_of(ui, run)

    # patch a node's inputs with the form the catalog builds: `big` writes another word
    page.get_by_label("Node to patch").select_option(label="big")
    page.get_by_label("value", exact=True).fill("huge")
    page.get_by_role("button", name="Patch node").click()
    expect(where).to_contain_text("NodePatched")  # the timeline follows the run's newest event
    page.get_by_role("button", name="Continue").click()
    expect(status(page)).to_contain_text("COMPLETED")
    with Reader(ui.db_path) as log:
        assert log.state(run).globals["size"] == "huge"
