"""Fork fidelity: a fork at any browser step, in each restore mode, reproduces the original's
outputs from there on — or pauses in ERROR with the reason (RestoreMismatch). Never a run that
goes on, or completes, on a page unlike the recorded one.

The login flow is forked at every browser step and run to its end (captured and redrive mode;
auto restores it as captured does). The demo shop (43 browser
steps), run once, is forked at the first runs of each of its browser nodes (all 43 with
WEBOTER_FIDELITY=all: `just fidelity`) and stepped until its next browser node has run (that
is where a wrong restore shows) in captured and redrive mode, and in auto mode run to its end
from its start, middle and end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, copy_log, on_playground
from tests.browser.test_time_travel import login_flow
from tests.conftest import Recorded, node
from tests.incli import cli
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.events import BrowserRestored, EventRecord, NodeCompleted

pytestmark = pytest.mark.timeout(600)

MODES = ["captured", "redrive", "auto"]


def completed(events: list[EventRecord]) -> list[EventRecord]:
    return [r for r in events if isinstance(r.event, NodeCompleted)]


def browser_steps(events: list[EventRecord]) -> list[EventRecord]:
    return [r for r in completed(events) if r.event.browser is not None]  # type: ignore[union-attr]


def results(events: list[EventRecord]) -> list[tuple[str, Any]]:
    return [(r.event.node_id, r.event.outputs) for r in completed(events)]  # type: ignore[union-attr]


def read_events(runner: BrowserRunner, run_id: str) -> list[EventRecord]:
    log = EventLog(runner.db_path)
    try:
        return list(log.read(run_id))
    finally:
        log.close()


def check(runner: BrowserRunner, parent: list[EventRecord], at: int, child: str, *, whole: bool):
    """The fork `child` of the run `parent` at seq `at` did what the parent did after `at`
    (all of it when `whole`, else as far as it got), or rests in ERROR because its restored
    page differs, with the differences recorded."""
    events = read_events(runner, child)
    restored = [r.event for r in events if isinstance(r.event, BrowserRestored)]
    expected = results([r for r in parent if r.seq > at])
    got = results(events)
    if any(r.type == "NodeFailed" for r in events):
        failed = [r.event for r in events if r.type == "NodeFailed"][-1]
        assert failed.error.kind == "RestoreMismatch", failed.error  # type: ignore[union-attr]
        assert restored and restored[-1].differences, restored
        return "mismatch"
    assert got == (expected if whole else expected[: len(got)]), (at, got, expected)
    return restored[0].mode if restored else "live"


def step_to_next_browser_node(runner: BrowserRunner, child: str) -> None:
    """Step the fork until a browser node has completed in it, or it stops resting PAUSED."""
    ended = runner.client.wait(child, timeout=60)
    while ended.status == "PAUSED" and not browser_steps(read_events(runner, child)):
        ended = runner.client.step(child, timeout=60)


def chosen(steps: list[EventRecord], whole: set[int], mode: str) -> list[EventRecord]:
    """Every step with WEBOTER_FIDELITY=all (`just fidelity`, about 4 minutes); else, in
    captured mode, the first two times each browser node ran (every kind of page state the
    demo has: one tab or two, before and after a tab closed). In redrive mode the first time
    each ran: a re-drive does the run's browser actions again, in order, the same way at
    any point, and the fork at the first `close` steps on to a page opened after a tab closed.
    In auto mode only the steps run whole: auto restores as captured does where the page
    came back the same, and captured mode is held to no mismatch at each of these steps
    (where it came back different, auto re-drives as redrive mode does)."""
    if os.environ.get("WEBOTER_FIDELITY") == "all":
        return steps
    times = {"captured": 2, "redrive": 1}.get(mode, 0)
    seen: dict[str, int] = {}
    picked = []
    for step in steps:
        node_id = step.event.node_id  # type: ignore[union-attr]
        seen[node_id] = seen.get(node_id, 0) + 1
        if seen[node_id] <= times or step.seq in whole:
            picked.append(step)
    return picked


@dataclass
class Modes:
    runners: dict[str, BrowserRunner]  # one engine per restore mode
    demo: str  # the demo run, recorded once and in each runner's log


@pytest.fixture(scope="module")
def modes(tmp_path_factory: pytest.TempPathFactory, recorded_demo: Recorded) -> Iterator[Modes]:
    """An engine per restore mode, each on a copy of the log of the recorded demo: what a run
    records is the same whatever the mode (only a restore reads it)."""
    made: dict[str, BrowserRunner] = {}
    try:
        for mode in MODES:
            db = copy_log(recorded_demo.db_path, tmp_path_factory.mktemp(mode))
            made[mode] = BrowserRunner(db, restore=mode, allow=[recorded_demo.out.parent])
        yield Modes(made, recorded_demo.run_id)
    finally:
        for runner in made.values():
            runner.close()


# auto restores the login flow as captured does (every step of it has a captured page): the
# two would run the same forks, so auto is checked on the demo, run whole, and on the choice
@pytest.mark.parametrize("mode", ["captured", "redrive"])
def test_login_flow_forks_at_every_browser_step(modes: Modes, shop: Any, mode: str) -> None:
    runner = modes.runners[mode]
    parent = runner.start(login_flow(shop.url))
    done = runner.outcome(parent)
    assert done.ended.status == "COMPLETED"
    assert done.state.globals["page"] == "Page 2 of 3"  # what every fork must read again
    events = read_events(runner, parent)
    outcomes = []
    for step in browser_steps(events)[:-1]:
        served = len(shop.requests)
        child = runner.client.fork(parent, step.seq)
        ended = runner.client.wait(child, timeout=60)
        outcomes.append(check(runner, events, step.seq, child, whole=True))
        if outcomes[-1] != "mismatch":
            assert ended.status == "COMPLETED", ended.error
        # the login page is loaded once per fork that needs it; the form is posted once:
        # by the fork's own `submit`, or by re-driving; a fork restored as captured after
        # the submit is signed in by the recorded cookie, never logging in again
        requests = shop.requests[served:]
        assert requests.count("GET /login") <= 1, requests
        signed_in = step.event.node_id in ("submit", "visit")  # type: ignore[union-attr]
        posts = 0 if mode != "redrive" and signed_in else 1
        assert requests.count("POST /login") == posts, (step.event.node_id, requests)  # type: ignore[union-attr]
    # the fields a person typed come back: forking between filling and submitting works
    assert "mismatch" not in outcomes, outcomes
    assert set(outcomes) == {"redrive" if mode == "redrive" else "captured"}


@pytest.mark.parametrize("mode", MODES)
def test_demo_forks_at_every_browser_step(modes: Modes, mode: str) -> None:
    runner, parent = modes.runners[mode], modes.demo
    events = read_events(runner, parent)
    steps = browser_steps(events)
    assert len(steps) > 30
    # run whole from the start, middle and end (auto, the default mode: the others restore
    # the same way or by the same re-drive)
    whole = {steps[0].seq, steps[len(steps) // 2].seq, steps[-2].seq} if mode == "auto" else set()
    outcomes = []
    for step in chosen(steps[:-1], whole, mode):
        if step.seq in whole:
            child = runner.client.fork(parent, step.seq)
            runner.client.wait(child, timeout=120)
        else:
            child = runner.client.fork(parent, step.seq, start="step")
            step_to_next_browser_node(runner, child)
        outcomes.append(check(runner, events, step.seq, child, whole=step.seq in whole))
    assert "mismatch" not in outcomes, outcomes


@pytest.mark.parametrize("mode", MODES)
def test_a_page_that_held_more_than_a_snapshot_is_never_taken_for_the_recorded_one(
    modes: Modes, pages_url: str, mode: str
) -> None:
    """Hovering changes the page's text through a script: a captured restore cannot bring
    that back, and says so (captured: ERROR with the difference); auto and redrive do the
    hover again and go on exactly."""
    runner = modes.runners[mode]
    flow = on_playground(
        pages_url,
        node("hover", "Hover", inputs={"locator": "#menu"}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "#hovered", "timeout": 2000},
            outputs=[{"src": "data", "name": "hovered", "pos": "global"}],
        ),
    )
    parent = runner.start(flow)
    assert runner.outcome(parent).ended.status == "COMPLETED"
    events = read_events(runner, parent)
    hovered = next(r for r in completed(events) if r.event.node_id == "hover")  # type: ignore[union-attr]
    child = runner.client.fork(parent, hovered.seq)
    ended = runner.client.wait(child, timeout=60)
    outcome = check(runner, events, hovered.seq, child, whole=True)
    if mode == "captured":
        assert outcome == "mismatch" and ended.status == "ERROR"
        assert ended.error is not None and "not hovered" in ended.error.message
        # continuing accepts the page as it is: the run goes on, on the page it has
        runner.client.cont(child)
        assert runner.client.wait(child, timeout=60).status == "COMPLETED"
    else:
        assert outcome == "redrive" and ended.status == "COMPLETED"
        restored = next(
            r.event for r in read_events(runner, child) if isinstance(r.event, BrowserRestored)
        )
        assert (mode == "auto") == bool(restored.fallback), restored


# how `continue` is told the restore mode: on the command line, or in the environment
CHOSEN = {
    "captured": (["--restore", "captured"], {}),
    "redrive": ([], {"WEBOTER_RESTORE": "redrive"}),
}


@pytest.mark.parametrize("mode", ["captured", "redrive"])
def test_a_secret_the_restore_puts_back_into_the_page_stays_redacted(
    tmp_path: Path, pages_url: str, mode: str
) -> None:
    """A password typed from `$env`, read back from the page by a node that runs after the
    browser came back in another command (a new engine, with no browser of the run's:
    tests/browser/test_time_travel.py does it across processes): the log and the files
    beside it keep the marker. The restore mode is chosen with `--restore captured` (the
    typed field comes back) or WEBOTER_RESTORE=redrive (the typing is done again), and
    recorded; a bad mode is a usage error."""
    secret = "pw-" + os.urandom(6).hex()
    flow = on_playground(
        pages_url,
        node("type", "FillInput", inputs={"locator": "#email", "text": "$env{shop.password}"}),
        node(
            "read",
            "ExtractData",
            inputs={"locator": "#email", "data_source": "value", "timeout": 2000},
            outputs=[{"src": "data", "name": "typed", "pos": "global"}],
        ),
    )
    wf = tmp_path / "secret.json"
    wf.write_text(json.dumps(flow))
    env = {"SHOP_PASSWORD": secret}
    first = cli("run", str(wf), "--break", "read", "--json", home=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    extra, more_env = CHOSEN[mode]
    go_on = cli("continue", run_id, "--json", *extra, home=tmp_path, env=env | more_env)
    assert go_on.returncode == 0, go_on.stdout + go_on.stderr
    done = json.loads(go_on.stdout)
    assert done["status"] == "COMPLETED"
    assert done["variables"]["typed"] == "$env{shop.password}"
    assert secret not in go_on.stdout + go_on.stderr
    log = EventLog(tmp_path / "weboter.db")
    modes = [r.event.mode for r in log.read(run_id) if isinstance(r.event, BrowserRestored)]
    log.close()
    assert modes == [mode]
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in raw
    bad = cli("continue", run_id, home=tmp_path, env={"WEBOTER_RESTORE": "fast"})
    assert bad.returncode == 2
    assert "WEBOTER_RESTORE='fast' is not a restore mode" in bad.stderr
    assert "Traceback" not in bad.stderr
