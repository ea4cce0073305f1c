"""The debugger's commands, one command line after another (in this process: tests/incli.py):
verify, diff, fork, rewind, jump, patch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.incli import cli

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(home: Path, *extra: str) -> str:
    result = cli(
        "run", str(EXAMPLES / "counter.json"), "--var", "target=4", "--json", *extra, home=home
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)["run_id"])


def events(home: Path, run_id: str) -> list[dict]:
    return json.loads(cli("history", run_id, "--json", home=home).stdout)["events"]


def test_verify_catches_a_control_changed_after_the_run(tmp_path: Path) -> None:
    run_id = run_example(tmp_path)
    same = cli("verify", run_id, "--json", home=tmp_path)
    assert same.returncode == 0
    assert json.loads(same.stdout)["divergence"] is None
    changed = json.loads((EXAMPLES / "counter.json").read_text())
    greet = next(n for n in changed["nodes"] if n["id"] == "greet")
    greet["params"]["value"] = 10  # IfElse threshold: `big` becomes `small`
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    result = cli("verify", run_id, "--workflow", str(path), "--json", home=tmp_path)
    assert result.returncode == 1
    divergence = json.loads(result.stdout)["divergence"]
    assert divergence["node_id"] == "greet"
    assert (divergence["expected"], divergence["actual"]) == ("big", "small")
    text = cli("verify", run_id, "--workflow", str(path), home=tmp_path).stdout
    assert "went to 'big', the workflow now says 'small'" in text


def test_fork_then_diff(tmp_path: Path) -> None:
    parent = run_example(tmp_path)
    first_inc = next(e for e in events(tmp_path, parent) if e["event"].get("node_id") == "inc")
    fork = cli(
        "fork", parent, "--at", str(first_inc["seq"]), "--set", "target=2", "--json", home=tmp_path
    )
    assert fork.returncode == 0, fork.stdout + fork.stderr
    child = json.loads(fork.stdout)
    assert child["variables"]["target"] == 2
    assert child["variables"]["size"] == "small"
    compared = json.loads(cli("diff", parent, child["run_id"], "--json", home=tmp_path).stdout)
    # init and inc(1) are shared; the second inc leaves the loop in the fork
    assert compared["first_divergence"] == 2
    assert compared["steps"][0]["changes"]["next_node"] == {"a": "inc", "b": "greet"}
    # the variable changed at the fork shows, as it stands after each step
    assert compared["steps"][0]["changes"]["variables"]["global.target"] == {"a": 4, "b": 2}
    human = cli("diff", parent, child["run_id"], home=tmp_path).stdout
    assert "first divergence at step 3 (a: inc, b: inc)" in human  # numbered from 1, as the UI
    # from right before it parted: the fork's own first event (its steps before are its
    # parent's), with the parent's target — the command it prints goes on as the parent did
    born = events(tmp_path, child["run_id"])[0]["seq"]
    assert compared["fork_from"] == {
        "run_id": child["run_id"],
        "seq": born,
        "variables": {"target": 4},
    }
    command = human.rsplit("weboter ", 1)[1].split()
    assert command == ["fork", child["run_id"], "--at", str(born), "--set", "target=4"]
    again = json.loads(cli(*command, "--json", home=tmp_path).stdout)
    assert again["status"] == "COMPLETED" and again["variables"]["size"] == "big"
    same = json.loads(cli("diff", parent, again["run_id"], "--json", home=tmp_path).stdout)
    assert same["first_divergence"] is None


def test_rewind_jump_patch_on_a_paused_run(tmp_path: Path) -> None:
    run_id = run_example(tmp_path, "--break", "big")
    history = events(tmp_path, run_id)
    first_inc = next(e for e in history if e["event"].get("node_id") == "inc")
    assert cli("rewind", run_id, "--to", str(first_inc["seq"]), home=tmp_path).returncode == 0
    state = json.loads(cli("state", run_id, "--json", home=tmp_path).stdout)
    assert state["variables"]["flow"]["count"] == 1
    patch = tmp_path / "patch.yaml"
    patch.write_text(
        "big:\n  inputs: {value: huge}\n"  # merged: its key ($global{size}) kept
        "  control: NextNode\n  params: {next_node: extra}\n"  # ... into a node added here
        'extra:\n  action: SetData\n  inputs: {key: "$global{extra}", value: 1}\n'
        "  control: EndFlow\n"
    )
    assert cli("jump", run_id, "big", home=tmp_path).returncode == 0
    half_bad = tmp_path / "half-bad.yaml"
    half_bad.write_text(
        'big:\n  inputs: {key: "$global{size}", value: fine}\ninc:\n  control: NoSuchControl\n'
    )
    before = len(events(tmp_path, run_id))
    refused = cli("patch", run_id, str(half_bad), home=tmp_path)
    assert refused.returncode == 2 and "NoSuchControl" in refused.stderr
    assert len(events(tmp_path, run_id)) == before  # all or nothing: the good half was not kept
    before_patch = events(tmp_path, run_id)[-1]["seq"]
    assert cli("patch", run_id, str(patch), home=tmp_path).returncode == 0
    undoing = cli("rewind", run_id, "--to", str(before_patch), home=tmp_path)  # says so
    assert "this undoes: node big patched, node extra added" in undoing.stdout, undoing.stdout
    assert cli("patch", run_id, str(patch), home=tmp_path).returncode == 0  # kept, again
    assert cli("unbreak", run_id, "before:big", home=tmp_path).returncode == 0
    done = cli("continue", run_id, "--json", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["variables"]["size"] == "huge"
    assert json.loads(done.stdout)["variables"]["extra"] == 1  # the added node ran
    bad = cli("jump", run_id, "nowhere", home=tmp_path)
    assert bad.returncode == 2
    assert "COMPLETED" in bad.stderr


def test_break_needs_a_place(tmp_path: Path) -> None:
    run_id = run_example(tmp_path, "--break", "inc")
    result = cli("break", run_id, home=tmp_path)
    assert result.returncode == 2  # a usage error
    assert "say where to break" in result.stderr
    ok = cli("break", run_id, "--if", "count >= 2", "--json", home=tmp_path)
    assert ok.returncode == 0


def test_runs_lists_the_status_the_fold_gives_after_a_rewind_from_error(tmp_path: Path) -> None:
    """Once, `runs` said ERROR after a rewind from ERROR while the run was PAUSED."""
    flow_file = tmp_path / "fails.json"
    flow_file.write_text(
        json.dumps(
            {
                "id": "f",
                "name": "fails",
                "nodes": [
                    {
                        "id": "ok",
                        "action": "SetData",
                        "inputs": {"key": "a", "value": 1},
                        "control": "NextNode",
                        "params": {"next_node": "bad"},
                    },
                    {
                        "id": "bad",
                        "action": "JsonParse",
                        "inputs": {"text": "{nope"},
                        "control": "EndFlow",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    home = tmp_path / "home"
    ran = cli("run", str(flow_file), "--break-on-error", "--json", home=home)
    run_id = json.loads(ran.stdout)["run_id"]
    listed = json.loads(cli("runs", "--json", home=home).stdout)
    assert [r["status"] for r in listed] == ["ERROR"]
    history = json.loads(cli("history", run_id, "--json", home=home).stdout)
    first = history["events"][0]["seq"] if isinstance(history, dict) else history[0]["seq"]
    rewound = cli("rewind", run_id, "--to", str(first + 1), home=home)
    assert rewound.returncode == 0, rewound.stderr
    state = json.loads(cli("state", run_id, "--json", home=home).stdout)
    listed = json.loads(cli("runs", "--json", home=home).stdout)
    assert [r["status"] for r in listed] == [state["status"]] == ["PAUSED"]
