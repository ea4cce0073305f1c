"""`weboter debug`: the interactive debugger, driven line by line through stdin (in this
process: tests/incli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.incli import cli

pytestmark = pytest.mark.timeout(120)

COUNTER = Path(__file__).parent.parent / "examples" / "counter.json"


def debug(home: Path, target: str, script: str, *extra: str) -> str:
    result = cli("debug", target, *extra, home=home, stdin=script)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_break_step_vars_set_back_patch_continue(tmp_path: Path) -> None:
    out = debug(
        tmp_path,
        str(COUNTER),
        "\n".join(
            [
                "break inc after",
                "continue",
                "vars",
                "step",
                "set count=2",
                "back",
                "where",
                "clear after:inc",
                'patch big inputs.value="huge"',
                "continue",
                "history 2",
                "quit",
            ]
        )
        + "\n",
        "--var",
        "target=3",
    )
    assert "PAUSED (breakpoint) at counter:inc" in out
    assert '"count": 1' in out  # vars at the breakpoint
    assert "PAUSED (step) at counter:inc" in out
    assert "back before inc" in out
    assert "COMPLETED at counter:__end__" in out
    assert '{"global.size": "huge"}' in out
    runs = json.loads(cli("runs", "--json", home=tmp_path).stdout)
    assert runs[0]["status"] == "COMPLETED"


def test_a_finished_run_is_read_only_but_can_be_forked(tmp_path: Path) -> None:
    done = cli("run", str(COUNTER), "--var", "target=2", "--json", home=tmp_path)
    run_id = json.loads(done.stdout)["run_id"]
    events = json.loads(cli("history", run_id, "--json", home=tmp_path).stdout)["events"]
    first_inc = next(e for e in events if e["event"].get("node_id") == "inc")
    out = debug(
        tmp_path,
        run_id[:6],
        "\n".join(
            [
                "step",
                f"fork {first_inc['seq']} target=5",
                "continue",
                "vars",
                "nonsense",
                "quit",
            ]
        )
        + "\n",
    )
    assert "read-only; `fork` to go on" in out
    assert "forked run" in out
    assert '"message": "counted to 5"' in out
    assert "unknown command 'nonsense'" in out


def test_a_failed_node_waits_in_error_fixed_then_retried(tmp_path: Path) -> None:
    # counter.json without --var target=…: `inc` fails; the debugger waits in ERROR (pause)
    out = debug(tmp_path, str(COUNTER), "continue\nset target=2 global\nretry\nskip\nquit\n")
    assert "ERROR" in out and "target" in out
    assert "retry of inc recorded; going on" in out
    assert "COMPLETED at counter:__end__" in out
    assert "COMPLETED: read-only" in out  # a skip once it completed: said, nothing done
