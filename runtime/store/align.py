"""Two runs' steps lined up by the nodes they ran: the longest common subsequence of their
node sequences (a node is its flow's path and its id), so a run that took one extra loop or
skipped a node is compared step for step with the other where they ran the same node, and
only the steps in between stand alone.

    pairs = aligned(["a", "b", "c"], ["a", "c"])   # [(0, 0), (1, None), (2, 1)]
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Sequence

EXACT = 250_000  # cells of the exact table (~0.4 s); beyond, difflib's matching blocks (near it)


def aligned(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int | None, int | None]]:
    """Index pairs in order: (i, j) where a[i] and b[j] are matched, (i, None) and (None, j)
    for steps only one run has (at a gap, A's come first)."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    pairs: list[tuple[int | None, int | None]] = [(i, i) for i in range(head)]
    for i, j in _middle(mid_a, mid_b):
        pairs.append((None if i is None else head + i, None if j is None else head + j))
    pairs += [(len(a) - tail + k, len(b) - tail + k) for k in range(tail)]
    return pairs


def _middle(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int | None, int | None]]:
    matches = _lcs(a, b) if len(a) * len(b) <= EXACT else _blocks(a, b)
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    for mi, mj in [*matches, (len(a), len(b))]:
        pairs += [(k, None) for k in range(i, mi)]
        pairs += [(None, k) for k in range(j, mj)]
        if mi < len(a) and mj < len(b):
            pairs.append((mi, mj))
        i, j = mi + 1, mj + 1
    return pairs


def _lcs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """The matched index pairs of a longest common subsequence (dynamic programming)."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    found, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            found.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return found


def _blocks(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [
        (block.a + k, block.b + k)
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
