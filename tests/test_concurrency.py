"""Several processes on one log, as users run them: a second shell changes a run that another
process drives; two processes resume or continue the same run at once. The drivers are real
subprocesses; the second shell's commands run in the test's process (tests/incli.py), a
process of its own all the same. Real SQLite; waits are for log rows (with deadlines), never
sleeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import counter, flow, node, wait_for
from tests.incli import cli
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(240)

STARTED_WITHIN = 90.0  # seconds for a `weboter` process to start and run its first nodes


def looping(limit: str = "$global{limit}", nap: float = 0.05) -> dict[str, Any]:
    """count += 1 until count reaches `limit`, napping between, then the end."""
    return counter(limit, nap, done=False)


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", *args],
        env={**os.environ, "WEBOTER_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events(home: Path, run_id: str | None = None) -> list[str]:
    log = EventLog(home / "weboter.db", create=False)
    try:
        return [e.type for e in log.read_stored(run_id)]
    finally:
        log.close()


def running_run(home: Path, driver: subprocess.Popen[str], nodes: int = 3) -> str:
    """The id of the run `driver` drives once it has completed `nodes` nodes; if it does
    not, the failure shows every thread of `driver` (`kill -USR1`, docs/debugging.md)."""

    def check() -> str | None:
        if not (home / "weboter.db").exists():
            return None
        log = EventLog(home / "weboter.db", create=False)
        try:
            rows = log.read_stored()
        finally:
            log.close()
        done = [e for e in rows if e.type == "NodeCompleted"]
        return done[0].run_id if len(done) >= nodes else None

    # a new process that imports Weboter and starts an engine: on a busy machine (the suite's
    # three processes beside stress-ng) that alone has taken over 30 s
    try:
        return wait_for(check, f"{nodes} completed nodes", timeout=STARTED_WITHIN)
    except AssertionError as exc:
        driver.send_signal(signal.SIGUSR1)  # its threads' stacks on its stderr, then stop it
        driver.send_signal(signal.SIGTERM)
        try:
            _out, err = driver.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            driver.kill()
            _out, err = driver.communicate(timeout=20)
        raise AssertionError(f"{exc}; the driver's stderr:\n{err[-20000:]}") from None


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(looping()), encoding="utf-8")
    return path


def test_break_set_and_pause_from_a_second_process_are_honoured(
    tmp_path: Path, flow_file: Path
) -> None:
    home = tmp_path / "home"
    driver = start(home, "run", str(flow_file), "--var", "limit=100000", "--quiet")
    run_id = running_run(home, driver)
    # set: the driver's next nodes see the new limit; the run ends there instead of at 100000
    done = cli("set", run_id, "limit=40", "--global", home=home)
    assert done.returncode == 0, done.stderr
    code, _out, err = finish(driver)
    assert "Traceback" not in err
    assert code == 0, err
    log = EventLog(home / "weboter.db", create=False)
    state = state_at(log, run_id)
    assert state.status == "COMPLETED"
    assert state.globals["limit"] == 40
    # where the run was when the change was recorded: below 40, it stops exactly at 40;
    # a loaded machine may have let it pass 40 already, and then it stops at its next check
    at_set = next(e.seq for e in log.read_stored(run_id) if e.type == "VariableSet")
    count_then = state_at(log, run_id, at_set).globals["count"]
    log.close()
    if count_then < 39:
        assert state.globals["count"] == 40
    else:
        assert count_then <= state.globals["count"] <= count_then + 1

    # break: set while it runs, the driver pauses there
    driver = start(home, "run", str(flow_file), "--var", "limit=100000", "--quiet")
    second = running_run_after(home, run_id)
    done = cli("break", second, "inc", home=home)
    assert done.returncode == 0, done.stderr
    code, _out, err = finish(driver)
    assert "Traceback" not in err
    paused = state_at(EventLog(home / "weboter.db", create=False), second)
    assert paused.status == "PAUSED"
    assert paused.pause_reason == "breakpoint"
    assert paused.current_node == "inc"
    listed = json.loads(cli("runs", "--json", home=home).stdout)
    assert {r["run_id"]: r["status"] for r in listed}[second] == "PAUSED"

    # pause: from a third process, while `continue` drives it
    cli("unbreak", second, "before:inc", home=home)
    driver = start(home, "continue", second, "--quiet")
    wait_for(lambda: events(home, second).count("RunStarted") >= 2, "the run to go on")
    done = cli("pause", second, home=home)
    assert done.returncode == 0, done.stderr
    code, _out, err = finish(driver)
    assert "Traceback" not in err
    paused = state_at(EventLog(home / "weboter.db", create=False), second)
    assert paused.status == "PAUSED"
    assert paused.pause_reason == "requested"
    assert events(home, second)[-2:] == ["NodeCompleted", "RunPaused"]


def running_run_after(home: Path, earlier: str) -> str:
    def check() -> str | None:
        log = EventLog(home / "weboter.db", create=False)
        try:
            rows = [e for e in log.read_stored() if e.run_id != earlier]
        finally:
            log.close()
        done = [e for e in rows if e.type == "NodeCompleted"]
        return done[0].run_id if len(done) >= 3 else None

    return wait_for(check, "a second run", timeout=STARTED_WITHIN)


def test_two_resumes_at_once_record_one_resume(tmp_path: Path, flow_file: Path) -> None:
    home = tmp_path / "home"
    driver = start(home, "run", str(flow_file), "--var", "limit=60", "--quiet")
    run_id = running_run(home, driver)
    driver.send_signal(signal.SIGKILL)  # the run stays RUNNING with nobody driving it
    finish(driver)
    first = start(home, "resume", run_id, "--quiet")
    second = start(home, "resume", run_id, "--quiet")
    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    assert "Traceback" not in loser
    assert [line for line in loser.splitlines() if line.startswith("error:")], loser
    assert events(home, run_id).count("RunResumed") == 1
    assert state_at(EventLog(home / "weboter.db", create=False), run_id).status == "COMPLETED"


def test_two_continues_of_one_paused_run_drive_it_once(tmp_path: Path, flow_file: Path) -> None:
    home = tmp_path / "home"
    made = cli("run", str(flow_file), "--var", "limit=30", "--break", "inc", "--quiet", home=home)
    assert made.returncode == 0, made.stderr
    run_id = events_run(home)
    assert cli("unbreak", run_id, "before:inc", home=home).returncode == 0
    procs = [start(home, "continue", run_id, "--quiet") for _ in range(2)]  # at once
    results = [finish(p) for p in procs]
    assert all("Traceback" not in err for _, _, err in results), results
    # the run needs ~1.5 s: the second `continue` finds it RUNNING (or loses the append
    # race, re-reads and finds it RUNNING) and is refused
    assert sorted(code for code, _, _ in results) == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    assert "RUNNING" in loser, loser
    log = EventLog(home / "weboter.db", create=False)
    state = state_at(log, run_id)
    started = [e.type for e in log.read_stored(run_id)].count("RunStarted")
    log.close()
    assert started == 2  # the first run, and one continue
    assert state.status == "COMPLETED"
    assert state.globals["count"] == 30


def events_run(home: Path) -> str:
    log = EventLog(home / "weboter.db", create=False)
    try:
        return log.read_stored()[0].run_id
    finally:
        log.close()


def test_a_resumed_run_is_owned_by_the_process_that_resumed_it(tmp_path: Path) -> None:
    """A second `resume` while the first drives a long node is refused (the first resume's
    process owns the run now), instead of running the node twice."""
    home = tmp_path / "home"
    started = time.monotonic()
    cli("runs", home=home)  # how long a command takes on this machine, as busy as it is
    # the node outlasts the second `resume` command (4 s, longer on a starved machine)
    duration = min(30.0, max(4.0, 4 * (time.monotonic() - started)))
    slow = tmp_path / "slow.json"
    slow.write_text(
        json.dumps(flow(node("long", "SleepFor", "EndFlow", inputs={"duration": duration}))),
        encoding="utf-8",
    )
    driver = start(home, "run", str(slow), "--quiet")
    run_id = wait_for(
        lambda: (
            (home / "weboter.db").exists() and "RunStarted" in events(home) and events_run(home)
        ),
        "a start",
        timeout=STARTED_WITHIN,
    )
    driver.send_signal(signal.SIGKILL)
    finish(driver)
    first = start(home, "resume", run_id, "--quiet")
    try:
        wait_for(lambda: "RunResumed" in events(home, run_id), "the first resume", STARTED_WITHIN)
        second = cli("resume", run_id, home=home)
        assert second.returncode == 2, second.stderr
        assert "being driven by process" in second.stderr
        code, _out, err = finish(first)
        assert code == 0, err
    finally:
        if first.returncode is None:  # failed before it ended: no process outlives the test
            first.kill()
            finish(first)
    assert events(home, run_id).count("RunResumed") == 1
    assert events(home, run_id).count("NodeCompleted") == 1
