"""`weboter log copy`: a log with forks, rewinds and patches moved from SQLite to PostgreSQL
and back keeps every seq, run id and fork lineage; `weboter verify` passes for every run of
each copy; a destination that holds runs is refused; new runs in the copy go on after its
last seq. Real SQLite files, a real PostgreSQL server (tests/pgcluster.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import postgres_database
from tests.incli import cli

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def weboter(home: Path, *argv: str) -> dict:
    done = cli(*argv, "--json", home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def a_log_with_forks_and_rewinds(home: Path) -> list[str]:
    """Three runs in home's SQLite log: one rewound and patched, a fork of it, and another."""
    counter = str(EXAMPLES / "counter.json")
    run = weboter(home, "run", counter, "--var", "target=4", "--break", "big")["run_id"]
    history = weboter(home, "history", run)["events"]
    first_inc = next(e for e in history if e["event"].get("node_id") == "inc")
    assert cli("rewind", run, "--to", str(first_inc["seq"]), home=home).returncode == 0
    (home / "patch.yaml").write_text("big:\n  inputs: {value: huge}\n")
    assert cli("patch", run, str(home / "patch.yaml"), home=home).returncode == 0
    assert cli("unbreak", run, "before:big", home=home).returncode == 0
    weboter(home, "continue", run)
    fork = weboter(home, "fork", run, "--at", str(first_inc["seq"]), "--set", "target=2")
    other = weboter(home, "run", counter, "--var", "target=3")["run_id"]
    return [run, fork["run_id"], other]


def listed(home: Path, db: str) -> list[tuple[str, str, int, int]]:
    return [
        (r["run_id"], r["status"], r["events"], r["last_seq"])
        for r in weboter(home, "runs", "--db", db)
    ]


def test_a_log_moves_to_postgresql_and_back_as_it_was(tmp_path: Path) -> None:
    runs = a_log_with_forks_and_rewinds(tmp_path)
    sqlite = str(tmp_path / "weboter.db")
    url = postgres_database()
    moved = weboter(tmp_path, "log", "copy", sqlite, url, "--quiet")
    assert moved["runs"] == 3 and set(moved["checked"]) == set(runs)
    assert listed(tmp_path, url) == listed(tmp_path, sqlite)
    for run in runs:  # every run of the copy verifies: re-folding it gives what it recorded
        assert cli("verify", run, "--db", url, home=tmp_path).returncode == 0
    # the fork's lineage, as in the source; its state, the same
    parents = {r["run_id"]: r["parent_run"] for r in weboter(tmp_path, "runs", "--db", url)}
    assert parents == {runs[0]: None, runs[1]: runs[0], runs[2]: None}
    child = weboter(tmp_path, "state", runs[1], "--db", url)
    assert child == weboter(tmp_path, "state", runs[1], "--db", sqlite)
    # a log that holds runs is never written into: the copy is refused, nothing added
    again = cli("log", "copy", sqlite, url, home=tmp_path)
    assert again.returncode != 0 and "already holds runs" in again.stderr
    same = cli("log", "copy", sqlite, sqlite, home=tmp_path)  # what to give instead: said
    assert same.returncode == 2 and "same log" in same.stderr and "DST" in same.stderr
    missing = cli("log", "copy", str(tmp_path / "none.db"), str(tmp_path / "x.db"), home=tmp_path)
    assert missing.returncode != 0 and "SRC: there is no event log" in missing.stderr
    # and back, into a new file: the same runs, events and checksums
    back = tmp_path / "back.db"
    returned = weboter(tmp_path, "log", "copy", url, str(back), "--quiet")
    assert returned["checked"] == moved["checked"]
    for run in runs:
        assert cli("verify", run, "--db", str(back), home=tmp_path).returncode == 0
    # the copy is a log like any other: a new run's events come after the copied ones
    last = max(seq for *_, seq in listed(tmp_path, url))
    counter = str(EXAMPLES / "counter.json")
    new = weboter(tmp_path, "run", counter, "--var", "target=2", "--db", url)["run_id"]
    assert min(e["seq"] for e in weboter(tmp_path, "history", new, "--db", url)["events"]) > last
