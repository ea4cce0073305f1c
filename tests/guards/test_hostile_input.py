"""Hostile or careless input: every case one clear message and exit 2 (or a clear node
error), never a traceback or a hang."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import flow, node
from tests.incli import cli

pytestmark = pytest.mark.timeout(60)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(result: object, *words: str) -> None:
    code, err = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert code == 2, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    bomb = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    small = write(tmp_path, "small.yaml", "a: [x]\n")  # refused too: the time of any refusal
    started = time.monotonic()
    cli("validate", str(small), home=tmp_path)
    usual = time.monotonic() - started  # on this machine, as busy as it is now
    started = time.monotonic()
    refused(cli("validate", str(bomb), home=tmp_path), "more than")
    took = time.monotonic() - started
    # its ~90 million items, expanded, would take minutes; counted up to the limit: ~0.3 s
    assert took < 3 * usual + 10, f"{took:.1f} s (a small file: {usual:.1f} s)"


def test_a_workflow_nested_a_thousand_deep_is_refused(tmp_path: Path) -> None:
    deep = write(tmp_path, "deep.json", "[" * 1000 + "]" * 1000)
    refused(cli("validate", str(deep), home=tmp_path), "deep")
    deep_yaml = write(tmp_path, "deep.yaml", "a: " + "[" * 1000 + "]" * 1000 + "\n")
    refused(cli("validate", str(deep_yaml), home=tmp_path))


def test_numbers_beyond_64_bits_are_refused_where_they_come_in(tmp_path: Path) -> None:
    big = "123456789012345678901234567890"
    wf = flow(node("a", "SetData", "EndFlow", inputs={"key": "x", "value": 1}))
    wf["nodes"][0]["inputs"]["value"] = "BIG"
    path = write(tmp_path, "big.json", json.dumps(wf).replace('"BIG"', big))
    refused(cli("validate", str(path), home=tmp_path), "64 bits")
    ok = write(tmp_path, "ok.json", json.dumps(flow(node("a", "EmptyAction", "EndFlow"))))
    refused(cli("run", str(ok), "--var", f"n={big}", home=tmp_path), "64 bits")
    digits = write(tmp_path, "digits.json", json.dumps(wf).replace('"BIG"', "7" * 5000))
    refused(cli("validate", str(digits), home=tmp_path))


def test_an_action_that_makes_a_huge_number_fails_its_node(tmp_path: Path) -> None:
    wf = flow(
        node(
            "big",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "2 ** 70"},
            outputs=[{"src": "result", "name": "n", "pos": "global"}],
        )
    )
    path = write(tmp_path, "big.json", json.dumps(wf))
    ran = cli("run", str(path), "--json", home=tmp_path)
    assert ran.returncode == 1, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["status"] == "FAILED"
    assert "64 bits" in summary["error"]["message"]


def test_malformed_assignments_and_seqs_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.json", json.dumps(flow(node("a", "EmptyAction", "EndFlow"))))
    refused(cli("run", str(path), "--var", "foo", home=tmp_path), "not K=V")
    ran = cli("run", str(path), "--json", home=tmp_path)
    run_id = json.loads(ran.stdout)["run_id"]
    refused(cli("set", run_id, "factor", home=tmp_path), "not K=V")
    refused(cli("fork", run_id, "--at", "1", "--set", "factor", home=tmp_path), "not K=V")
    refused(cli("state", run_id, "--at", "99999999999999999999", home=tmp_path), "seq")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"params": {"next_node": {"a": 1}}}, "not dict"),
        ({"params": {"next_node": 1.5}}, "not float"),
        ({"timeout": -1}, "not a positive"),
        ({"retry": {"attempts": 1000000000}}, "attempts must be"),
        ({"retry": {"attempts": 2, "backoff": -1}}, "cannot be negative"),
    ],
)
def test_validate_refuses_bad_controls_timeouts_and_retries(
    tmp_path: Path, change: dict, words: str
) -> None:
    wf = flow(node("a", "EmptyAction", "NextNode", params={"next_node": "__end__"}))
    wf["nodes"][0].update(change)
    path = write(tmp_path, "wf.json", json.dumps(wf))
    checked = cli("validate", str(path), home=tmp_path)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert words in checked.stdout + checked.stderr


def test_history_names_an_unreadable_event_and_shows_the_rest(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    path = write(tmp_path, "ok.json", json.dumps(flow(node("a", "EmptyAction", "EndFlow"))))
    run_id = json.loads(cli("run", str(path), "--json", home=tmp_path).stdout)["run_id"]
    conn = sqlite3.connect(tmp_path / "weboter.db")
    seq = conn.execute(
        "SELECT seq FROM events WHERE type = 'NodeCompleted' AND run_id = ?", (run_id,)
    ).fetchone()[0]
    conn.execute("UPDATE events SET payload = ? WHERE seq = ?", (b"\xc1", seq))
    conn.commit()
    conn.close()
    shown = cli("history", run_id, "--json", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"event seq {seq} of run {run_id}" in shown.stderr
    events = json.loads(shown.stdout)["events"]
    assert [e["type"] for e in events][-1] == "RunCompleted"  # the rest is there
    assert "unreadable" in next(e for e in events if e["seq"] == seq)["event"]
    refused(cli("state", run_id, home=tmp_path), f"event seq {seq}")
