"""The `weboter` command: happy paths and every kind of bad input. Called in this process
(tests/incli.py); a real subprocess where the process is what is tested (a reader that goes
away: SIGPIPE)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import counter
from tests.incli import cli
from weboter.runtime.cli.progress import LINES_BURST, LINES_PER_SECOND
from weboter.runtime.store.reading import Reader
from weboter.runtime.ui.outline import Outlines
from weboter.runtime.ui.reads import at_seq

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).parent.parent / "examples"


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def test_progress_of_a_long_loop_is_rate_limited(tmp_path: Path) -> None:
    """A burst of node lines, then at most a few a second, each saying how many it passed
    over; the end says how many were not shown and where to see every one."""
    loop = tmp_path / "loop.json"
    loop.write_text(json.dumps(counter(limit=1000, done=False)), encoding="utf-8")
    started = time.monotonic()
    result = cli("run", str(loop), home=tmp_path)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("  [")]
    assert lines[0].startswith("  [   1] f:init")
    assert lines[49].startswith("  [  50] ")  # the first burst: every node
    # then at most LINES_PER_SECOND: init + 1000 x (inc, nap) are not one line per node
    assert len(lines) <= LINES_BURST + LINES_PER_SECOND * took + 1, f"{len(lines)} in {took} s"
    shown = [int(line[3:7]) for line in lines]
    assert shown == sorted(shown)
    passed_over = sum(int(line.split("(+")[1].split()[0]) for line in lines if "(+" in line)
    tail = result.stderr.splitlines()[-1]
    at_end = 0  # node lines passed over after the last one shown: the end says how many
    if tail.startswith("  ... "):
        assert "more line(s) not shown; every node: weboter history" in tail, tail
        at_end = int(tail.split()[1])
    # every node is counted once; the last few may still be on the stream when the run's end
    # arrives (progress is for people: the summary reads the log)
    assert 1990 <= len(lines) + passed_over + at_end <= 2001


def test_run_history_state_runs(tmp_path: Path) -> None:
    result = cli("run", str(EXAMPLES / "counter.json"), "--var", "target=4", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "COMPLETED" in result.stdout
    assert "[   1] counter:init" in result.stderr  # progress, node by node
    runs = as_json(cli("runs", "--json", home=tmp_path))
    assert [r["status"] for r in runs] == ["COMPLETED"]
    run_id = runs[0]["run_id"]

    history = as_json(cli("history", run_id[:5], "--json", home=tmp_path))
    types = [e["type"] for e in history["events"]]
    assert types[0] == "RunCreated"
    assert types[-1] == "RunCompleted"
    assert types.count("NodeCompleted") == 1 + 4 + 1 + 1  # init, inc x4, say, big

    state = as_json(cli("state", run_id, "--json", home=tmp_path))
    assert state["status"] == "COMPLETED"
    assert state["variables"]["global"] == {"target": 4, "message": "counted to 4", "size": "big"}
    second_inc = [e for e in history["events"] if e["event"].get("node_id") == "inc"][1]
    at = as_json(cli("state", run_id, "--at", str(second_inc["seq"]), "--json", home=tmp_path))
    assert at["variables"]["flow"]["count"] == 2
    assert at["current_node"] == "inc"
    assert at["status"] == "RUNNING"
    assert len(at["history"]) == 3


def test_the_seq_the_ui_shows_for_a_second_run_is_what_at_takes(tmp_path: Path) -> None:
    """One numbering: the UI names an event of the log's second run by its seq (seqs count
    across the log), and `state --at` and `fork --at` take that number; `history` shows it."""
    for target in ("2", "3"):
        done = cli(
            "run", str(EXAMPLES / "counter.json"), "--var", f"target={target}", home=tmp_path
        )
        assert done.returncode == 0, done.stderr
    second = as_json(cli("runs", "--json", home=tmp_path))[0]["run_id"]
    history = as_json(cli("history", second, "--json", home=tmp_path))["events"]
    with Reader(tmp_path / "weboter.db") as log:  # what GET /api/runs/RUN/at/SEQ answers
        shown = at_seq(log, Outlines(), second, history[3]["seq"])
    assert shown["seq"] == history[3]["seq"] > len(history)  # a seq, not the run's own count
    assert shown["first_seq"] == history[0]["seq"]

    at = as_json(cli("state", second, "--at", str(shown["seq"]), "--json", home=tmp_path))
    assert at["seq"] == shown["seq"]
    assert at["status"] == shown["status"]
    assert at["variables"]["global"] == shown["variables"]["global"]
    forked = cli("fork", second, "--at", str(shown["seq"]), "--json", home=tmp_path)
    assert forked.returncode == 0, forked.stderr
    text = cli("history", second, home=tmp_path).stdout.splitlines()
    assert text[0].split() == ["SEQ", "TYPE", "DETAIL"]  # one number per event: its seq
    assert text[4].split()[0] == str(shown["seq"])


def test_run_json_summary_and_exit_code_on_failure(tmp_path: Path) -> None:
    wf = tmp_path / "fail.yaml"
    wf.write_text(
        "id: f\nname: fails\nnodes:\n  - id: a\n    action: data.JsonParse\n"
        "    inputs: {text: '{broken'}\n    control: EndFlow\n"
    )
    result = cli("run", str(wf), "--json", home=tmp_path)
    assert result.returncode == 1
    summary = as_json(result)
    assert summary["status"] == "FAILED"
    assert summary["error"]["node_id"] == "a"
    assert "not JSON" in summary["error"]["message"]


def test_validate_and_schema_and_catalog(tmp_path: Path) -> None:
    ok = cli("validate", str(EXAMPLES / "counter.json"), "--json", home=tmp_path)
    assert ok.returncode == 0
    assert as_json(ok)["valid"] is True
    schema = as_json(cli("schema", "workflow", home=tmp_path))
    assert "$defs" in schema
    assert "Node" in schema["$defs"]
    catalog = as_json(cli("catalog", "--json", home=tmp_path))
    assert "builtin.PyEvalAction" in [a["name"] for a in catalog["actions"]]


BAD_WORKFLOWS = {
    "invalid_json.json": ('{"id": "x", "name": "y", "nodes": [}', "not valid JSON"),
    "invalid_yaml.yaml": ("id: x\nnodes:\n  - id: a\n   action: b\n", "not valid YAML"),
    "schema.json": ('{"id": "x", "name": "y", "nodes": [{"id": 5}]}', "nodes[0].id"),
    "unknown_action.json": (
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "action": "Fly", "control": "EndFlow"}]}',
        "nodes[0].action: unknown action 'Fly'",
    ),
    "next_node.json": (
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "params": {"next_node": "b"}}]}',
        "nodes[0].params.next_node: next node 'b'",
    ),
    "missing_input.json": (
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "action": '
        '"PyEvalAction", "control": "EndFlow"}]}',
        "nodes[0].inputs.expr",
    ),
    "env_reference.json": (
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "action": "SetData", '
        '"inputs": {"key": "k", "value": "$env{no.such.var}"}, '
        '"control": "EndFlow"}]}',
        "$env{no.such.var} is not set",
    ),
    "unknown_scope.json": (
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "action": "SetData", '
        '"inputs": {"key": "k", "value": "$bogus{a}"}, "control": "EndFlow"}]}',
        "unknown reference scope $bogus",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_WORKFLOWS))
def test_bad_workflow_exit_2_with_place_and_nothing_logged(tmp_path: Path, name: str) -> None:
    text, expected = BAD_WORKFLOWS[name]
    path = tmp_path / name
    path.write_text(text)
    result = cli("run", str(path), home=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    top_level = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(top_level) == 1  # one message, no traceback
    assert "Traceback" not in result.stderr
    db = tmp_path / "weboter.db"
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_unresolvable_reference_at_run_time_exits_2_naming_node_input_reference(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ref.json"
    path.write_text(
        '{"id": "x", "name": "y", "nodes": [{"id": "a", "action": "SetData", '
        '"inputs": {"key": "k", "value": "$flow{missing}"}, "control": "EndFlow"}]}'
    )
    result = cli("run", str(path), home=tmp_path)
    assert result.returncode == 2
    assert "node a" in result.stdout
    assert "inputs.value" in result.stdout
    assert "$flow{missing}" in result.stdout


@pytest.mark.parametrize("problem", ["not_sqlite", "newer_schema", "not_writable"])
def test_bad_database_exit_2(tmp_path: Path, problem: str) -> None:
    db = tmp_path / "x.db"
    if problem == "not_sqlite":
        db.write_bytes(b"garbage" * 1000)
        expected = "not an SQLite database"
    elif problem == "newer_schema":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA application_id=1463963476")
        conn.execute("PRAGMA user_version=99")
        conn.commit()
        conn.close()
        expected = "newer Weboter"
    else:
        (tmp_path / "afile").write_text("")
        db = tmp_path / "afile" / "x.db"
        expected = "cannot create the directory"
    result = cli(
        "run", str(EXAMPLES / "counter.json"), "--db", str(db), "--var", "target=1", home=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    if problem == "not_sqlite":
        assert db.read_bytes() == b"garbage" * 1000


def test_unknown_run_and_missing_log(tmp_path: Path) -> None:
    result = cli("history", "abc", home=tmp_path)
    assert result.returncode == 2
    assert "no event log" in result.stderr
    cli("run", str(EXAMPLES / "counter.json"), "--var", "target=1", home=tmp_path)
    result = cli("state", "zzzz", "--json", home=tmp_path)
    assert result.returncode == 2
    assert as_json(result)["error"]["kind"] == "RunNotFound"


def test_help_teaches(tmp_path: Path) -> None:
    result = cli("--help", home=tmp_path)
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert "weboter state 3f2a --at 17" in result.stdout


def test_a_reader_that_goes_away_early_gets_no_traceback(tmp_path: Path) -> None:
    """`weboter history RUN --json | true`: the output has nowhere to go; the command ends
    quietly (141, as after SIGPIPE)."""
    wf = tmp_path / "count.json"
    wf.write_text(json.dumps(counter(3)))
    ran = cli("run", str(wf), "--json", home=tmp_path)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    reader = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", "history", run_id, "--json"],
        env={**os.environ, "WEBOTER_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # gone before the command writes a byte
    err = reader.stderr.read().decode()
    reader.stderr.close()
    assert reader.wait(timeout=60) == 141, err
    assert "Traceback" not in err


def test_a_log_url_weboter_cannot_open_is_refused_never_taken_for_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--db mysql://…` (or WEBOTER_DB) says what Weboter opens, exits 2, and makes nothing:
    no folder named after the URL in the working directory, no log."""
    monkeypatch.chdir(tmp_path)
    refused = cli("runs", "--db", "mysql://someone@db.internal/runs", home=tmp_path / "home")
    assert refused.returncode == 2
    assert "not in mysql" in refused.stderr and "postgresql://USER@HOST" in refused.stderr
    unreachable = cli(  # a PostgreSQL URL nothing answers at: said, with what to check,
        "runs",  # and never its password, however it is given
        "--db",
        "postgresql://weboter:s3cret-a@127.0.0.1:9/none?password=s3cret-b&sslmode=disable",
        "--json",
        home=tmp_path / "home",
    )
    assert unreachable.returncode != 0
    said = unreachable.stdout + unreachable.stderr
    assert "cannot open the PostgreSQL log postgresql://weboter:***@127.0.0.1:9/none" in said
    assert "s3cret" not in said and "host, port and database" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made, anywhere here


def test_a_mistake_in_the_arguments_is_a_json_error_under_json(tmp_path: Path) -> None:
    """argparse's own refusals (a bad value, an unknown option) keep `--json`'s promise: one
    JSON document on stdout, the same shape as every other error, and exit 2."""
    for args in (("runs", "--limit", "many"), ("history", "--json-please")):
        said = cli(*args, "--json", home=tmp_path)
        assert said.returncode == 2, said.stderr
        error = json.loads(said.stdout)["error"]
        assert error["kind"] == "UsageError" and error["message"] in said.stderr
        assert error["hint"] == f"`weboter {args[0]} --help` lists what it takes"
    plain = cli("runs", "--limit", "many", home=tmp_path)  # without --json: stderr only
    assert plain.returncode == 2 and plain.stdout == ""


def test_only_ui_keeps_evidence_of_every_browser_step_by_default() -> None:
    """`weboter ui` keeps a screenshot of each browser step for its timeline; every other
    command that starts an engine keeps evidence on error only, unless --evidence says."""
    from weboter.runtime.cli.main import build_parser  # noqa: PLC0415

    parser = build_parser()
    assert parser.parse_args(["ui"]).evidence == "every_node"
    for argv in (["run", "a.yaml"], ["demo"], ["continue", "r"], ["fork", "r", "--at", "3"]):
        assert parser.parse_args(argv).evidence is None, argv  # on_error (with --engine: its)
    assert parser.parse_args(["run", "a.yaml", "--evidence", "every_node"]).evidence == "every_node"
