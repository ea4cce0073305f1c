"""`LocatorDefine` -> Playwright locators, and how to describe one in an error.

`{element, type, ext?, pos?}`: `type` is css, xpath, text, role, label, placeholder, alt, title
or testid (Playwright's `get_by_*` family); `ext` goes to it as keyword arguments
(`{"name": "Log in"}` for a role); `pos` is first, last, all or an index. A list of locators
given where one is expected is a chain (each inside the previous); `locators: [...]` on an
action means alternatives, tried in order (runtime/browser/elements.py).
"""

from __future__ import annotations

import json
from typing import Any

from weboter.runtime.errors import ActionError

TYPES = ("css", "xpath", "text", "role", "label", "placeholder", "alt", "title", "testid")
_GET_BY = {
    "text": "get_by_text",
    "role": "get_by_role",
    "label": "get_by_label",
    "placeholder": "get_by_placeholder",
    "alt": "get_by_alt_text",
    "title": "get_by_title",
    "testid": "get_by_test_id",
}


def normalise(spec: Any, where: str = "locator") -> list[dict[str, Any]]:
    """A locator or a chain of them as a list of `{element, type, ext, pos}` dicts."""
    if isinstance(spec, str | dict):
        spec = [spec]
    if not isinstance(spec, list) or not spec:
        raise ActionError(
            f"{where} must be a locator {{element, type}} or a list of them",
            hint='e.g. {"element": "#submit", "type": "css"}',
        )
    chain = []
    for i, part in enumerate(spec):
        if isinstance(part, str):
            part = {"element": part, "type": "css"}  # noqa: PLW2901
        if not isinstance(part, dict) or "element" not in part:
            raise ActionError(
                f"{where}[{i}] needs `element`", hint='{"element": "#id", "type": "css"}'
            )
        kind = part.get("type") or "css"
        if kind not in TYPES:
            raise ActionError(
                f"{where}[{i}]: unknown locator type {kind!r}",
                hint=f"use one of {', '.join(TYPES)}",
            )
        ext = part.get("ext") or {}
        if not isinstance(ext, dict):
            raise ActionError(f"{where}[{i}].ext must be a mapping of keyword arguments")
        chain.append(
            {"element": str(part["element"]), "type": kind, "ext": ext, "pos": part.get("pos")}
        )
    return chain


def build(scope: Any, spec: Any, where: str = "locator") -> Any:
    """The Playwright Locator for `spec` inside `scope` (a Page, Frame or Locator)."""
    current = scope
    for part in normalise(spec, where):
        kind, element, ext = part["type"], part["element"], part["ext"]
        if kind == "css":
            current = current.locator(element)
        elif kind == "xpath":
            current = current.locator(f"xpath={element}")
        else:
            current = getattr(current, _GET_BY[kind])(element, **ext)
        current = _position(current, part["pos"], where)
    return current


def _position(locator: Any, pos: Any, where: str) -> Any:
    if pos is None or pos == "all":
        return locator
    if pos == "first":
        return locator.first
    if pos == "last":
        return locator.last
    try:
        return locator.nth(int(pos))
    except (TypeError, ValueError) as exc:
        raise ActionError(f"{where}.pos {pos!r} is not first, last, all or an index") from exc


def describe(spec: Any) -> str:
    """A short text for errors: `role "button" {"name": "Log in"} > css ".x"`."""
    try:
        parts = normalise(spec)
    except ActionError:
        return json.dumps(spec, default=str)
    out = []
    for p in parts:
        text = f'{p["type"]} "{p["element"]}"'
        if p["ext"]:
            text += " " + json.dumps(p["ext"], ensure_ascii=False)
        if p["pos"] is not None:
            text += f" [{p['pos']}]"
        out.append(text)
    return " > ".join(out)
