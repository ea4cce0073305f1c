"""`weboter generate` and `weboter repair` as real subprocesses, against the scripted model
server on loopback: a generated workflow runs against the demo shop; a suggested repair is
applied on --yes, and recorded as rejected when not confirmed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.ai.model_server import ModelServer, Reply
from tests.conftest import flow, node, weboter
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer

pytestmark = pytest.mark.timeout(240)


def test_a_generated_workflow_validates_and_runs_against_the_demo_shop(tmp_path: Path) -> None:
    shop_workflow = json.dumps(yaml.safe_load(WORKFLOW.read_text()))
    out = tmp_path / "flow.json"
    with ModelServer([Reply("not json at all"), Reply(shop_workflow)]) as model:
        made = weboter(
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
        ran = weboter(
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
            home=tmp_path,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with (tmp_path / "products.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(PRODUCTS)


def test_repair_applies_on_yes_and_only_suggests_otherwise(tmp_path: Path) -> None:
    wf = tmp_path / "needs_n.json"
    wf.write_text(
        json.dumps(
            flow(
                node(
                    "a",
                    "PyEvalAction",
                    inputs={"expr": "param1 + 1", "param1": "$global{n}"},
                    outputs=[{"src": "result", "name": "total", "pos": "global"}],
                    params={"next_node": "__end__"},
                )
            )
        )
    )
    runs = []
    for _ in range(2):
        failed = weboter("run", str(wf), "--on-error", "pause", "--json", home=tmp_path)
        runs.append(json.loads(failed.stdout)["run_id"])
        assert json.loads(failed.stdout)["status"] == "ERROR"
    fix = json.dumps(
        {"kind": "set_variables", "variables": {"$global{n}": 1}, "reason": "n is not set"}
    )
    with ModelServer([Reply(fix), Reply(fix)]) as model:
        applied = weboter("repair", runs[0], "--yes", "--json", home=tmp_path, env=model.env())
        asked = weboter("repair", runs[1], "--json", home=tmp_path, env=model.env())
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] is True
    done = weboter("continue", runs[0], "--json", home=tmp_path)
    assert json.loads(done.stdout)["status"] == "COMPLETED"
    assert json.loads(done.stdout)["variables"]["total"] == 2
    assert json.loads(asked.stdout)["applied"] is False  # no terminal to confirm on, no --yes
    history = json.loads(weboter("history", runs[1], "--json", home=tmp_path).stdout)["events"]
    types = [e["type"] for e in history]
    # nobody was asked (no terminal, no --yes): suggested, neither applied nor rejected
    assert "RepairSuggested" in types
    assert "RepairApplied" not in types and "RepairRejected" not in types
