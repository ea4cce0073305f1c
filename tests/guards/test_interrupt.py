"""SIGTERM or Ctrl-C to `weboter run`: the run is recorded PAUSED ("interrupted"), the command
says how to go on, and `weboter continue` finishes it (no `resume` needed)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.incli import cli
from tests.test_concurrency import events, finish, looping, running_run, start
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_pauses_the_run_and_continue_finishes_it(
    tmp_path: Path, signum: int, code: int
) -> None:
    home = tmp_path / "home"
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(looping(limit="30")), encoding="utf-8")
    driver = start(home, "run", str(path), "--quiet")
    run_id = running_run(home, driver)
    driver.send_signal(signum)
    exit_code, _out, err = finish(driver)
    assert exit_code == code, err
    assert "Traceback" not in err
    assert f"run {run_id} interrupted: it is PAUSED" in err
    assert f"weboter continue {run_id}" in err
    state = state_at(EventLog(home / "weboter.db", create=False), run_id)
    assert state.status == "PAUSED"
    assert state.pause_reason == "interrupted"
    went_on = cli("continue", run_id, "--json", home=home)
    assert went_on.returncode == 0, went_on.stderr
    assert json.loads(went_on.stdout)["variables"]["count"] == 30
    assert events(home, run_id).count("RunResumed") == 0  # continued, not resumed
