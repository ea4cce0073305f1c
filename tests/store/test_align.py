"""Two runs' steps lined up by node (runtime/store/align.py): matched where they ran the same
node, alone where only one did — the longest common subsequence, also past the exact table's
size (matching blocks then)."""

from __future__ import annotations

import random

import pytest

from weboter.runtime.store import align
from weboter.runtime.store.align import aligned

pytestmark = pytest.mark.timeout(30)


def _check(a: list[str], b: list[str], pairs: list[tuple[int | None, int | None]]) -> int:
    """Every index of each side once, in order; matched pairs name the same node."""
    assert [i for i, _ in pairs if i is not None] == list(range(len(a)))
    assert [j for _, j in pairs if j is not None] == list(range(len(b)))
    matched = [(i, j) for i, j in pairs if i is not None and j is not None]
    assert all(a[i] == b[j] for i, j in matched)
    return len(matched)


def _lcs_length(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


def test_an_extra_loop_in_one_run_leaves_the_rest_matched() -> None:
    a = ["open", "read", "next", "read", "next", "save"]
    b = ["open", "read", "next", "save"]
    pairs = aligned(a, b)
    assert _check(a, b, pairs) == 4
    assert pairs[:3] == [(0, 0), (1, 1), (2, 2)] and pairs[-1] == (5, 3)
    assert sorted(i for i, j in pairs if j is None) == [3, 4]


def test_a_node_swapped_for_another_stands_alone_on_each_side() -> None:
    pairs = aligned(["a", "b", "c"], ["a", "x", "c"])
    assert pairs == [(0, 0), (1, None), (None, 1), (2, 2)]


def test_the_alignment_is_a_longest_common_subsequence() -> None:
    rng = random.Random(7)
    for _ in range(200):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        assert _check(a, b, aligned(a, b)) == _lcs_length(a, b)


def test_long_runs_past_the_exact_table_are_still_lined_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(align, "EXACT", 10)  # the fallback, on runs small enough to check
    a = ["open", *["read", "next"] * 5, "x", "save"]
    b = ["open", *["read", "next"] * 3, "y", "save"]
    assert _check(a, b, aligned(a, b)) == _lcs_length(a, b)
