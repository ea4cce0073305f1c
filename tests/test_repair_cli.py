"""`weboter run --on-error pause`, then `weboter set` + `weboter retry` / `weboter skip`, as
real subprocesses: a run that failed is fixed and goes on, each repair an event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import weboter

pytestmark = pytest.mark.timeout(120)

COUNTER = Path(__file__).parent.parent / "examples" / "counter.json"


def waiting_in_error(home: Path) -> str:
    """counter.json without `--var target=…`: its reference to $global{target} fails."""
    result = weboter("run", str(COUNTER), "--on-error", "pause", "--json", home=home)
    assert result.returncode == 2, result.stdout + result.stderr  # a reference: bad input
    summary = json.loads(result.stdout)
    assert summary["status"] == "ERROR" and "target" in summary["error"]["message"]
    return str(summary["run_id"])


def test_set_the_missing_variable_then_retry(tmp_path: Path) -> None:
    run_id = waiting_in_error(tmp_path)
    assert weboter("set", run_id, "target=4", "--global", home=tmp_path).returncode == 0
    done = weboter("retry", run_id, "--json", "--reason", "target was missing", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "COMPLETED"
    history = json.loads(weboter("history", run_id, "--json", home=tmp_path).stdout)["events"]
    applied = [e["event"] for e in history if e["type"] == "RepairApplied"]
    assert [(a["source"], a["action"]["kind"], a["action"]["reason"]) for a in applied] == [
        ("person", "retry", "target was missing")
    ]


def test_skip_is_refused_when_the_control_cannot_decide_then_recorded(tmp_path: Path) -> None:
    run_id = waiting_in_error(tmp_path)
    # the failing reference is in the node's control params: a skip cannot choose a next node
    refused = weboter("skip", run_id, home=tmp_path)
    assert refused.returncode == 2 and "cannot be skipped" in refused.stderr
    assert weboter("set", run_id, "target=2", "--global", home=tmp_path).returncode == 0
    skipped = weboter("skip", run_id, "--no-continue", "--json", home=tmp_path)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert json.loads(skipped.stdout)["status"] == "PAUSED"
    done = weboter("continue", run_id, "--json", home=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "COMPLETED"
    missing = weboter("retry", "nope", home=tmp_path)
    assert missing.returncode == 2 and "no run" in missing.stderr.lower()
