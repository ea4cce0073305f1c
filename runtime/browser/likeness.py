"""How alike two elements are, from their fingerprints (what the page showed of them: tag,
role, accessible name, id, test id, text, attributes, classes, ancestors, position), and which
element of a page is the one a node acted on before — if one is, for sure.

Pure: the page's candidates come from runtime/browser/heal.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from weboter.runtime.errors import ActionError

THRESHOLD = 0.6  # a candidate scoring less is not the element
MARGIN = 0.08  # the best must beat the second best by this much, or nothing is healed
IGNORED_ATTRIBUTES = ("data-testid", "value")  # test id scored on its own; value is typed

Fingerprint = Mapping[str, Any]


class NotHealed(ActionError):
    """The healer found no element for sure: why (none alike enough, or two alike)."""


@dataclass(frozen=True)
class Choice:
    candidate: Fingerprint
    score: float
    selector: str
    runner_up: float  # the second best score (0 when there was one candidate)


def _ratio(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a[:200], b[:200]).ratio()


def _tag(ancestor: str) -> str:
    return re.split(r"[#.]", ancestor, maxsplit=1)[0]


def score(recorded: Fingerprint, candidate: Fingerprint) -> float:
    """0..1: the share of what was recorded about the element that the candidate matches
    (each trait weighted by how well it tells elements apart)."""
    earned = possible = 0.0

    def trait(weight: float, value: float) -> None:
        nonlocal earned, possible
        possible += weight
        earned += weight * value

    trait(1.0, float(recorded.get("tag") == candidate.get("tag")))
    if recorded.get("id"):
        trait(2.0, float(recorded["id"] == candidate.get("id")))
    attrs = recorded.get("attributes") or {}
    theirs = candidate.get("attributes") or {}
    if attrs.get("data-testid"):
        trait(2.5, float(attrs["data-testid"] == theirs.get("data-testid")))
    if recorded.get("role"):
        trait(0.5, float(recorded["role"] == candidate.get("role")))
    name, text = str(recorded.get("name") or ""), str(recorded.get("text") or "")
    if name:
        trait(1.5, _ratio(name, str(candidate.get("name") or "")))
    if text and text != name:
        trait(1.5, _ratio(text, str(candidate.get("text") or "")))
    kept = {k: v for k, v in attrs.items() if k not in IGNORED_ATTRIBUTES}
    if kept:
        trait(1.5, sum(theirs.get(k) == v for k, v in kept.items()) / len(kept))
    classes = set(recorded.get("classes") or [])
    if classes:
        other = set(candidate.get("classes") or [])
        trait(1.0, len(classes & other) / len(classes | other))
    ancestors = [_tag(a) for a in recorded.get("ancestors") or []]
    if ancestors:  # the same nesting, even one wrapper deeper or shallower
        others = [_tag(a) for a in candidate.get("ancestors") or []]
        trait(1.0, difflib.SequenceMatcher(None, ancestors, others).ratio())
    if recorded.get("index") is not None:
        trait(0.5, float(recorded["index"] == candidate.get("index")))
    return earned / possible if possible else 0.0


def choose(
    recorded: Sequence[Fingerprint], candidates: Sequence[Fingerprint], *, many: bool
) -> Choice:
    """The candidate that is the recorded element, with a CSS selector that finds it (one
    element; `many`: the family of elements it belongs to, for list actions). NotHealed when
    none is alike enough, or two are about as alike."""
    if not recorded:
        raise NotHealed("no earlier successful run of this node recorded what it acted on")
    ranked = sorted(
        ((max(score(r, c) for r in recorded), i) for i, c in enumerate(candidates)),
        reverse=True,
    )
    if not ranked:
        raise NotHealed("the page has no element of the kind this node acted on before")
    best, first = ranked[0]
    found = candidates[first]
    if best < THRESHOLD:
        raise NotHealed(
            f"no element is alike enough: the best, {describe(found)}, scores {best:.2f} "
            f"(at least {THRESHOLD} is needed)"
        )
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if runner_up > best - MARGIN:
        other = candidates[ranked[1][1]]
        raise NotHealed(
            f"two elements are about as alike: {describe(found)} at {_path(found)} "
            f"({best:.2f}) and {describe(other)} at {_path(other)} ({runner_up:.2f}); not "
            "healed, to be sure of the element"
        )
    return Choice(found, best, selector_for(found, many=many), runner_up)


def selector_for(candidate: Fingerprint, *, many: bool) -> str:
    """The steadiest selector of the candidate's that finds it alone (or, `many`: its family,
    by class); its position path as the last resort."""
    options: list[tuple[str, int]] = [tuple(s) for s in candidate.get("selectors") or []]
    if many:
        family = [s for s, count in options if count >= 1 and "." in s and ":nth" not in s]
        if family:
            return family[-1]
    unique = [s for s, count in options if count == 1]
    if not unique:
        raise NotHealed(f"no selector finds {describe(candidate)} alone")
    return unique[0]


def _path(candidate: Fingerprint) -> str:
    """The candidate's position path (the last selector the page gave for it)."""
    options = candidate.get("selectors") or []
    return str(options[-1][0]) if options else "?"


def describe(candidate: Fingerprint) -> str:
    """`<input#pw name=password>` — enough to tell two candidates apart in a message."""
    text = str(candidate.get("tag") or "?")
    if candidate.get("id"):
        text += f"#{candidate['id']}"
    for cls in (candidate.get("classes") or [])[:2]:
        text += f".{cls}"
    name = (candidate.get("attributes") or {}).get("name")
    if name:
        text += f" name={name}"
    label = str(candidate.get("name") or "")[:40]
    if label:
        text += f' "{label}"'
    return f"<{text}>"
