"""Self-healing locators from the run's own history, in real Chromium: the demo workflow,
recorded against the shop, breaks on the shop's redesign; `weboter run --on-error heal`
completes it with the same CSV, every healed node named by a RepairApplied event, and the
healed run verifies; `weboter heal RUN --write` turns the heals into the workflow file, which
then finds the redesigned elements with no healing. A page
where two elements are as alike is not healed: the run waits in ERROR and says why."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.browser.conftest import copy_log
from tests.conftest import Recorded, demo_workflow
from tests.incli import cli
from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer
from weboter.runtime.store.reading import Reader

pytestmark = pytest.mark.timeout(300)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return sorted(csv.DictReader(handle), key=lambda r: r["name"])


def run_on(
    home: Path, shop: ShopServer, out: Path, *more: str, workflow: Path | None = None
) -> dict:
    """The demo workflow (or `workflow`) as a user runs it: `weboter run`, against `shop`."""
    env_file = home / "env.json"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    result = cli(
        "run",
        # its locators give up after 1 s, not 5: healing starts sooner
        str(workflow or demo_workflow(home)),
        "--json",
        "--var",
        f"base_url={shop.url}",
        "--var",
        f"out={out}",
        "--var",
        "rows=[]",
        "--env-file",
        str(env_file),
        "--allow-path",
        str(out.parent),
        *more,
        home=home,
    )
    summary: dict = json.loads(result.stdout)
    summary["exit"] = result.returncode
    summary["stderr"] = result.stderr
    return summary


def history(home: Path, run_id: str) -> list[dict]:
    return json.loads(cli("history", run_id, "--json", home=home).stdout)["events"]


def test_a_redesigned_shop_is_healed_from_its_own_history_and_then_remembered(
    recorded_demo: Recorded, tmp_path: Path
) -> None:
    copy_log(recorded_demo.db_path, tmp_path)  # the shop as it was, recorded
    before = tmp_path / recorded_demo.out.name
    with ShopServer(variant="renamed") as shop:
        broken = run_on(tmp_path, shop, tmp_path / "broken.csv")
        assert broken["status"] == "FAILED" and broken["error"]["node_id"] == "password"
        healed = run_on(tmp_path, shop, tmp_path / "after.csv", "--on-error", "heal")
    assert healed["exit"] == 0, healed
    assert healed["status"] == "COMPLETED"
    assert rows(tmp_path / "after.csv") == rows(before)
    events = history(tmp_path, healed["run_id"])
    applied = [e["event"] for e in events if e["type"] == "RepairApplied"]
    assert {a["node_id"] for a in applied} == {"password", "links", "read"}
    assert all(a["source"] == "healer" for a in applied)
    patched = {
        e["event"]["node_id"]: e["event"]["changes"] for e in events if e["type"] == "NodePatched"
    }
    assert patched["password"]["inputs"]["locator"] == {"element": "#pw", "type": "css"}
    assert patched["links"]["inputs"]["locator"]["element"] == "li.item"
    # each node healed once: after the patch, later pages use the new locator
    assert len(applied) == 3
    verified = cli("verify", healed["run_id"], "--json", home=tmp_path)
    assert verified.returncode == 0 and json.loads(verified.stdout)["divergence"] is None
    # the heals, written back into a copy of the workflow, run without healing (as far as the
    # first product read: each healed node has run once by then, which is what is checked)
    copy = tmp_path / "flow.yaml"
    written = yaml.safe_dump(json.loads(demo_workflow(tmp_path).read_text()), sort_keys=False)
    copy.write_text("# the shop's products, page by page (a person's note: kept)\n" + written)
    wrote = cli("heal", healed["run_id"], "--write", str(copy), "--json", home=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    assert set(json.loads(wrote.stdout)["healed"]) == {"password", "links", "read"}
    now = copy.read_text()
    assert "li.item" in now and "#pw" in now
    assert now.startswith("# the shop's products, page by page (a person's note: kept)\n")
    # only the healed locators changed: every other line is as it was
    assert len(set(now.splitlines()) - set(written.splitlines())) <= 12
    with ShopServer(variant="renamed") as shop:
        again = cli(
            "run",
            str(copy),
            "--json",
            "--var",
            f"base_url={shop.url}",
            "--var",
            f"out={tmp_path / 'again.csv'}",
            "--var",
            "rows=[]",
            "--env-file",
            str(tmp_path / "env.json"),
            "--allow-path",
            str(tmp_path),
            "--break",
            "close",
            home=tmp_path,
        )
    assert again.returncode == 0, again.stdout + again.stderr
    paused = json.loads(again.stdout)
    assert paused["status"] == "PAUSED", paused
    first = {k: str(v) for k, v in paused["variables"]["rows"][0].items()}
    assert first in rows(before)
    assert not any(e["type"] == "RepairApplied" for e in history(tmp_path, paused["run_id"]))
    # the workflow's repair memory: its next run with healing on tries the healed locators
    # first (recorded as repairs naming the run it remembers) instead of failing and healing
    with ShopServer(variant="renamed") as shop:
        second = run_on(
            tmp_path, shop, tmp_path / "b.csv", "--on-error", "heal", "--break", "close"
        )
    assert second["status"] == "PAUSED", second
    recalled = [
        e["event"] for e in history(tmp_path, second["run_id"]) if e["type"] == "RepairApplied"
    ]
    assert {a["node_id"] for a in recalled} == {"password", "links", "read"}
    said = [a["action"]["reason"] for a in recalled]
    assert all(r.startswith(f"remembered: run {healed['run_id']}") for r in said), said
    # a heal reverted: recorded as rejected, its locator put back (the run rests), never reused
    undone = cli("heal", second["run_id"], "--revert", "password", "--json", home=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["locator"] == {"element": "#password", "type": "css"}
    with Reader(tmp_path / "weboter.db") as log:
        password = next(n for n in log.state(second["run_id"]).workflow.nodes if n.id == "password")
        assert password.inputs["locator"] == {"element": "#password", "type": "css"}
        assert log.remembered("shop_scrape", ["shop_scrape"], "password") is None
        assert log.remembered("shop_scrape", ["shop_scrape"], "links") is not None


def test_two_elements_as_alike_are_not_healed(recorded_demo: Recorded, tmp_path: Path) -> None:
    copy_log(recorded_demo.db_path, tmp_path)  # the shop as it was, recorded
    with ShopServer(variant="twins") as shop:
        waiting = run_on(tmp_path, shop, tmp_path / "twins.csv", "--on-error", "heal")
    assert waiting["status"] == "ERROR", waiting
    assert waiting["error"]["node_id"] == "password"
    said = waiting["error"]["message"]
    assert "not healed" in said and "about as alike" in said and "#pw-a" in said
    # why it waits is the run's state, as a held-back repair's is (state, get_snapshot, UI)
    state = json.loads(cli("state", waiting["run_id"], "--json", home=tmp_path).stdout)
    assert state["waiting_for"].startswith("not healed: two elements are about as alike")
    events = history(tmp_path, waiting["run_id"])
    assert not any(e["type"] == "RepairApplied" for e in events)


def test_a_heal_after_which_the_node_post_condition_fails_is_no_heal(
    recorded_demo: Recorded, tmp_path: Path
) -> None:
    """The healed element takes the action, but what must show after it does not: not
    healed (the run waits in ERROR naming the element tried), never a silent pass."""
    copy_log(recorded_demo.db_path, tmp_path)
    flow = json.loads(demo_workflow(tmp_path).read_text())
    password = next(n for n in flow["nodes"] if n["id"] == "password")
    password["inputs"]["expect_visible"] = {"element": "No such banner", "type": "text"}
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps(flow))
    with ShopServer(variant="renamed") as shop:
        waiting = run_on(tmp_path, shop, tmp_path / "s.csv", "--on-error", "heal", workflow=strict)
    assert waiting["status"] == "ERROR", waiting
    error = waiting["error"]
    assert error["node_id"] == "password" and "not healed" in error["message"]
    assert "took the action, but then" in error["message"] and "No such banner" in error["message"]
    assert "<input#pw" in error["message"]  # the element it tried, named
    events = history(tmp_path, waiting["run_id"])
    assert not any(e["type"] == "RepairApplied" for e in events)
