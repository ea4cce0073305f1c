"""`weboter run --on-error pause`, then `weboter set` + `weboter retry` / `weboter skip`, one
command line after another (in this process: tests/incli.py): a run that failed is fixed and
goes on, each repair an event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.incli import cli

pytestmark = pytest.mark.timeout(120)

COUNTER = Path(__file__).parent.parent / "examples" / "counter.json"


def waiting_in_error(home: Path) -> str:
    """counter.json without `--var target=…`: its reference to $global{target} fails."""
    result = cli("run", str(COUNTER), "--on-error", "pause", "--json", home=home)
    assert result.returncode == 2, result.stdout + result.stderr  # a reference: bad input
    summary = json.loads(result.stdout)
    assert summary["status"] == "ERROR" and "target" in summary["error"]["message"]
    return str(summary["run_id"])


def test_set_the_missing_variable_then_retry(tmp_path: Path) -> None:
    run_id = waiting_in_error(tmp_path)
    assert cli("set", run_id, "target=4", "--global", home=tmp_path).returncode == 0
    done = cli("retry", run_id, "--json", "--reason", "target was missing", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "COMPLETED"
    history = json.loads(cli("history", run_id, "--json", home=tmp_path).stdout)["events"]
    applied = [e["event"] for e in history if e["type"] == "RepairApplied"]
    assert [(a["source"], a["action"]["kind"], a["action"]["reason"]) for a in applied] == [
        ("person", "retry", "target was missing")
    ]


def test_skip_is_refused_when_the_control_cannot_decide_then_recorded(tmp_path: Path) -> None:
    run_id = waiting_in_error(tmp_path)
    # the failing reference is in the node's control params: a skip cannot choose a next node
    refused = cli("skip", run_id, home=tmp_path)
    assert refused.returncode == 2 and "cannot be skipped" in refused.stderr
    assert cli("set", run_id, "target=2", "--global", home=tmp_path).returncode == 0
    skipped = cli("skip", run_id, "--no-continue", "--json", home=tmp_path)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert json.loads(skipped.stdout)["status"] == "PAUSED"
    done = cli("continue", run_id, "--json", home=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "COMPLETED"
    missing = cli("retry", "nope", home=tmp_path)
    assert missing.returncode == 2 and "no run" in missing.stderr.lower()


def test_what_a_new_user_ran_into(tmp_path: Path) -> None:
    # `weboter debug FILE --on-error POLICY` starts (it crashed with every policy)
    debug = cli("debug", str(COUNTER), "--on-error", "heal", home=tmp_path, stdin="quit\n")
    assert debug.returncode == 0 and "Traceback" not in debug.stderr, debug.stderr
    run_id = waiting_in_error(tmp_path)
    # where it waits: the next node, its inputs resolved as they are now
    assert "next: inc (builtin.PyEvalAction)" in cli("state", run_id, home=tmp_path).stdout
    said = cli("run", str(COUNTER), "--on-error", "pause", home=tmp_path).stdout
    assert "target=VALUE --global" in said  # the hint names the variable and its scope
    # `$global{x}=V` says its scope
    scoped = cli("set", run_id, "$global{target}=3", home=tmp_path)
    assert scoped.returncode == 0 and "global variable target" in scoped.stdout
    # retry and skip are for a run in ERROR only
    paused = cli(
        "run", str(COUNTER), "--var", "target=2", "--break", "inc", "--json", home=tmp_path
    )
    refused = cli("retry", json.loads(paused.stdout)["run_id"], home=tmp_path)
    assert refused.returncode == 2 and "not waiting in ERROR" in refused.stderr
    # heal --write of a file that is not there: one line
    missing = cli("heal", run_id, "--write", str(tmp_path / "nope.yaml"), home=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    # a node's on_error with a misspelled field is an error, not silently the default
    typo = tmp_path / "typo.json"
    flow = json.loads(COUNTER.read_text())
    flow["nodes"][0]["on_error"] = {"do": "retry", "attemps": 3}
    typo.write_text(json.dumps(flow))
    checked = cli("validate", str(typo), home=tmp_path)
    assert checked.returncode == 2 and "attemps" in checked.stderr
