"""Expressions and regular expressions that would take minutes or gigabytes: each becomes a
node error at once (or within the regex time limit), memory stays bounded, the engine lives."""

from __future__ import annotations

import resource
import time

import pytest

from tests.conftest import Runner, flow, node

pytestmark = pytest.mark.timeout(120)

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
        assert took < 10, (expr, took)
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
    assert time.monotonic() - started < 10
