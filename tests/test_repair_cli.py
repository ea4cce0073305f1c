"""`weboter run --on-error pause`, then `weboter set` + `weboter retry` / `weboter skip`, as
real subprocesses: a run that failed is fixed and goes on, each repair an event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_what_a_new_user_ran_into(tmp_path: Path) -> None:
    # `weboter debug FILE --on-error POLICY` starts (it crashed with every policy)
    debug = subprocess.run(
        [
            sys.executable,
            "-m",
            "weboter.runtime.cli.main",
            "debug",
            str(COUNTER),
            "--on-error",
            "heal",
        ],
        input="quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WEBOTER_HOME": str(tmp_path)},
        check=False,
    )
    assert debug.returncode == 0 and "Traceback" not in debug.stderr, debug.stderr
    run_id = waiting_in_error(tmp_path)
    # where it waits: the next node, its inputs resolved as they are now
    assert "next: inc (builtin.PyEvalAction)" in weboter("state", run_id, home=tmp_path).stdout
    said = weboter("run", str(COUNTER), "--on-error", "pause", home=tmp_path).stdout
    assert "target=VALUE --global" in said  # the hint names the variable and its scope
    # `$global{x}=V` says its scope
    scoped = weboter("set", run_id, "$global{target}=3", home=tmp_path)
    assert scoped.returncode == 0 and "global variable target" in scoped.stdout
    # retry and skip are for a run in ERROR only
    paused = weboter(
        "run", str(COUNTER), "--var", "target=2", "--break", "inc", "--json", home=tmp_path
    )
    refused = weboter("retry", json.loads(paused.stdout)["run_id"], home=tmp_path)
    assert refused.returncode == 2 and "not waiting in ERROR" in refused.stderr
    # heal --write of a file that is not there: one line
    missing = weboter("heal", run_id, "--write", str(tmp_path / "nope.yaml"), home=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    # a node's on_error with a misspelled field is an error, not silently the default
    typo = tmp_path / "typo.json"
    flow = json.loads(COUNTER.read_text())
    flow["nodes"][0]["on_error"] = {"do": "retry", "attemps": 3}
    typo.write_text(json.dumps(flow))
    checked = weboter("validate", str(typo), home=tmp_path)
    assert checked.returncode == 2 and "attemps" in checked.stderr
