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

THRESHOLD = 0.45  # a candidate scoring less is not the element (and it must say the same)
MARGIN = 0.08  # the best must beat the second best by this much, or nothing is healed

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


def _same_words(a: str, b: str) -> float:
    """1 for the same words; half the share of words they have in common otherwise."""
    if a == b:
        return 1.0
    mine, theirs = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return 0.5 * len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0


_WORD = re.compile(r"[^\W_]+")
SAYS = ("label", "name", "text", "placeholder")  # what a person reads on or beside it
SAME_ENOUGH = 0.75  # words this alike still say the same ("Sign in" / "Sign in now")


def says_the_same(recorded: Fingerprint, candidate: Fingerprint) -> bool:
    """Whether the candidate says what the recorded element said — by the first of its
    label, name, text and placeholder it had (a field's label names it, not a placeholder two
    fields share): alike enough, or the same words with some added ("Edit" / "Edit now").
    True when it said nothing to compare."""
    for kind in SAYS:
        mine = _said(recorded, kind)
        if mine:  # against what the candidate says as its own (a label may become its name)
            return any(_alike(mine, _said(candidate, other)) for other in (kind, *SAYS))
    # it said nothing: only the same id, test id or name attribute tells it is the element
    attrs, theirs = recorded.get("attributes") or {}, candidate.get("attributes") or {}
    return any(
        [
            bool(recorded.get("id")) and recorded.get("id") == candidate.get("id"),
            *(
                bool(attrs.get(k)) and attrs.get(k) == theirs.get(k)
                for k in ("data-testid", "name")
            ),
        ]
    )


def _alike(mine: str, theirs: str) -> bool:
    """Alike enough, or the same words with some added ("Edit" / "Edit now")."""
    if not theirs:
        return False
    if _ratio(mine, theirs) >= SAME_ENOUGH:
        return True
    shorter, longer = sorted((mine, theirs), key=len)
    words = set(_WORD.findall(shorter.lower()))
    return bool(words) and words <= set(_WORD.findall(longer.lower()))


def _said(print_: Fingerprint, kind: str) -> str:
    if kind == "placeholder":
        return str((print_.get("attributes") or {}).get("placeholder") or "")
    return str(print_.get(kind) or "")


def _tag(ancestor: str) -> str:
    return re.split(r"[#.]", ancestor, maxsplit=1)[0]


# How much each trait tells the element apart once a site is redesigned: what a person reads
# (its label, name, text, the words before it) and what it is (tag, type, role) outlast what
# the site's code calls it (id, classes, name attribute), which a redesign renames. Chosen on
# `just bench-heal` (bench/heal.py; docs/ai.md has the figures).
WEIGHTS = {
    "tag": 1.0,
    "type": 1.5,
    "role": 1.0,
    "testid": 2.5,
    "label": 3.0,
    "name": 2.0,
    "text": 1.5,
    "placeholder": 1.5,
    "near": 1.5,
    "href": 1.0,
    "id": 1.0,
    "attributes": 0.75,
    "classes": 0.5,
    "ancestors": 0.75,
    "index": 0.25,
    "size": 0.25,
}
OWN = ("name", "type", "placeholder", "href", "data-testid", "value")  # scored on their own


def score(recorded: Fingerprint, candidate: Fingerprint) -> float:
    """0..1: the share of what was recorded about the element that the candidate matches
    (each trait weighted by how well it tells elements apart: WEIGHTS)."""
    earned = possible = 0.0

    def trait(kind: str, value: float) -> None:
        nonlocal earned, possible
        possible += WEIGHTS[kind]
        earned += WEIGHTS[kind] * value

    def words(kind: str) -> None:
        mine = str(recorded.get(kind) or "")
        if mine:
            trait(kind, _ratio(mine, str(candidate.get(kind) or "")))

    trait("tag", float(recorded.get("tag") == candidate.get("tag")))
    attrs = recorded.get("attributes") or {}
    theirs = candidate.get("attributes") or {}
    for kind, attribute in (("type", "type"), ("testid", "data-testid")):
        if attrs.get(attribute):
            trait(kind, float(attrs[attribute] == theirs.get(attribute)))
    for kind in ("placeholder", "href"):
        if attrs.get(kind):
            trait(kind, _ratio(str(attrs[kind]), str(theirs.get(kind) or "")))
    if recorded.get("role"):
        trait("role", float(recorded["role"] == candidate.get("role")))
    if recorded.get("id"):
        trait("id", float(recorded["id"] == candidate.get("id")))
    words("label")
    if recorded.get("near"):  # the same words, not words alike: the next item's name is alike
        trait("near", _same_words(str(recorded["near"]), str(candidate.get("near") or "")))
    name, text = str(recorded.get("name") or ""), str(recorded.get("text") or "")
    if name:
        trait("name", _ratio(name, str(candidate.get("name") or "")))
    if text and text != name:
        trait("text", _ratio(text, str(candidate.get("text") or "")))
    kept = {k: v for k, v in attrs.items() if k not in OWN}
    if attrs.get("name"):
        kept["name"] = attrs["name"]
    if kept:
        trait("attributes", sum(theirs.get(k) == v for k, v in kept.items()) / len(kept))
    classes = set(recorded.get("classes") or [])
    if classes:
        other = set(candidate.get("classes") or [])
        trait("classes", len(classes & other) / len(classes | other))
    ancestors = [_tag(a) for a in recorded.get("ancestors") or []]
    if ancestors:  # the same nesting, even one wrapper deeper or shallower
        others = [_tag(a) for a in candidate.get("ancestors") or []]
        trait("ancestors", difflib.SequenceMatcher(None, ancestors, others).ratio())
    if recorded.get("index") is not None:
        trait("index", float(recorded["index"] == candidate.get("index")))
    size = _size(recorded.get("box"), candidate.get("box"))
    if size is not None:  # where it sits moves with a layout; how big it is, less
        trait("size", size)
    return earned / possible if possible else 0.0


def _size(mine: Any, theirs: Any) -> float | None:
    """How alike two elements' sizes are (0..1); None when the recorded one was not measured
    or had no size (hidden)."""
    if not isinstance(mine, Mapping) or not isinstance(theirs, Mapping):
        return None
    alike = 1.0
    for side in ("width", "height"):
        a, b = float(mine.get(side) or 0), float(theirs.get(side) or 0)
        if a <= 0:
            return None
        alike *= min(a, b) / max(a, b) if b > 0 else 0.0
    return alike


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
    if not any(says_the_same(r, found) for r in recorded):
        raise NotHealed(
            f"no element says what it said: the most alike, {describe(found)}, scores "
            f"{best:.2f} but reads otherwise (a removed element is never healed onto another)"
        )
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
