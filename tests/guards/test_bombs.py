"""Expressions and regular expressions that would take minutes or gigabytes: each becomes a
node error at once (or within the regex time limit), memory stays bounded, the engine lives."""

from __future__ import annotations

import resource
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.actions import builtin_plugins
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Catalog, Plugin
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings

pytestmark = pytest.mark.timeout(120)

# "at once": each bomb would take minutes, or for ever; a node's own overhead plus the 2 s regex
# limit is far below this bound, which leaves room for a machine kept busy by other programs
QUICK = 30

BOMBS = [
    "'a'.ljust(10**9)",
    "'1'.zfill(2*10**9)",
    "'%0999999999d' % 1",
    "'\\t'.expandtabs(10**9)",
    "str([[1]*99999]*99999)",
    "sum([[1]*9999]*9999, [])",
    "4000000**4000000",
    "'x' * 10**9",
    "re_search('(a|aa)+$', 'a' * 5000 + 'b')",
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_expression_bombs_fail_their_node_quickly_with_memory_bounded(runner: Runner) -> None:
    before = peak_mb()
    for expr in BOMBS:
        started = time.monotonic()
        outcome = runner.run(flow(node("bomb", "PyEvalAction", "EndFlow", inputs={"expr": expr})))
        took = time.monotonic() - started
        assert outcome.ended.status == "FAILED", expr
        error = outcome.state.error
        assert error is not None
        assert error.kind == "ExpressionError", (expr, error)
        assert took < QUICK, (expr, took)
    assert peak_mb() - before < 300  # the engine runs in this process: its peak stayed low
    # ... and it still serves
    ok = runner.run(flow(node("ok", "PyEvalAction", "EndFlow", inputs={"expr": "40 + 2"})))
    assert ok.ended.status == "COMPLETED"


def test_a_catastrophic_pattern_is_stopped(runner: Runner) -> None:
    started = time.monotonic()
    outcome = runner.run(
        flow(
            node(
                "re",
                "RegexExtract",
                "EndFlow",
                inputs={"pattern": "(x+x+)+y", "text": "x" * 5000},
            )
        )
    )
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert "searched for more than" in outcome.state.error.message
    assert time.monotonic() - started < QUICK


@pytest.mark.parametrize("where", ["node", "engine"])
def test_a_synchronous_action_that_never_ends_fails_at_its_timeout(
    db_path: Path, where: str
) -> None:
    """A plugin's synchronous action, however it is written, ends its node at the timeout:
    the node's own, or (without one) the engine's node timeout. The engine goes on serving."""
    release = threading.Event()

    def spin(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
        release.wait(60)  # stands for a loop that never returns (released after the test)
        return {}

    plugin = Plugin("t", actions=[ActionSpec("t.Spin", spin)])
    settings = Settings(db_path=db_path, node_timeout=1 if where == "engine" else 600)
    engine = Engine(settings, catalog=Catalog([*builtin_plugins(), plugin]))
    engine.start()
    try:
        with engine.client() as client:
            own = {"timeout": 1} if where == "node" else {}
            stuck = flow(node("spin", "t.Spin", "EndFlow", **own))
            started = time.monotonic()
            run_id = client.submit(to_workflow(stuck, "t"))
            ended = client.wait(run_id, timeout=30)
            assert ended.status == "FAILED"
            assert ended.error is not None
            assert ended.error.kind == "ActionTimeout"
            assert time.monotonic() - started < QUICK
            ok = client.submit(to_workflow(flow(node("e", "EmptyAction", "EndFlow")), "t"))
            assert client.wait(ok, timeout=30).status == "COMPLETED"
    finally:
        release.set()
        engine.stop()
