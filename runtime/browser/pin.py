"""An element reference from a page snapshot (`e12`: `page.aria_snapshot(mode="ai")` numbers
the elements it shows) turned into a locator that finds the same element on a later visit of
the page. A recorded act keeps that locator, never the ref (refs are numbered per page load)
and never a class (classes are often generated). Tried in the order Playwright's codegen
prefers — test id, role and accessible name, label, placeholder, text — then an `id` or `name`
attribute that does not look generated, and a CSS path of tags only when nothing else finds
this element and no other.
"""

from __future__ import annotations

import re
from typing import Any

from weboter.runtime.browser.locators import build
from weboter.runtime.errors import ActionError

PIN_TIMEOUT_MS = 5_000
_LINE = re.compile(r'^\s*-\s*([a-z]+)(?:\s+"((?:[^"\\]|\\.)*)")?')
_GENERATED = re.compile(r"\d|:|^.{31,}$")  # ids like "nw-secret-q9", ":r1:", "ember123"
_TEXT_ROLES = {"link", "button", "menuitem", "tab", "option", "heading", "cell", "listitem"}

_DESCRIBE = """el => {
  const attr = name => el.getAttribute(name) || '';
  const labels = el.labels ? [...el.labels].map(l => l.innerText.trim()).filter(Boolean) : [];
  const text = (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ');
  const path = [];
  for (let at = el; at && at.nodeType === 1 && at !== document.body; at = at.parentElement) {
    const tag = at.tagName.toLowerCase();
    const same = at.parentElement
      ? [...at.parentElement.children].filter(c => c.tagName === at.tagName) : [at];
    path.unshift(same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(at) + 1})` : tag);
  }
  return {tag: el.tagName.toLowerCase(), id: el.id, name: attr('name'),
          testid: attr('data-testid'), placeholder: attr('placeholder'),
          label: labels[0] || '', text: text.length <= 60 ? text : '',
          path: 'body > ' + path.join(' > ')};
}"""


def role_and_name(aria: str) -> tuple[str, str]:
    """("button", "Log in") from an element's ARIA snapshot ("- button \"Log in\" …")."""
    for line in aria.splitlines():
        found = _LINE.match(line)
        if found:
            name = (found.group(2) or "").replace('\\"', '"')
            return found.group(1), name
    return "", ""


def candidates(facts: dict[str, Any], role: str, name: str) -> list[dict[str, Any]]:
    """The locators worth trying for an element, the most robust first."""
    found: list[dict[str, Any]] = []
    if facts.get("testid"):
        found.append({"element": facts["testid"], "type": "testid"})
    if role and name:
        found.append({"element": role, "type": "role", "ext": {"name": name, "exact": True}})
    if facts.get("label"):
        found.append({"element": facts["label"], "type": "label", "ext": {"exact": True}})
    if facts.get("placeholder"):
        found.append(
            {"element": facts["placeholder"], "type": "placeholder", "ext": {"exact": True}}
        )
    if facts.get("text") and (role in _TEXT_ROLES or not role):
        found.append({"element": facts["text"], "type": "text", "ext": {"exact": True}})
    if facts.get("id") and not _GENERATED.search(facts["id"]):
        found.append({"element": f"#{facts['id']}", "type": "css"})
    if facts.get("name") and not _GENERATED.search(facts["name"]):
        found.append({"element": f'{facts["tag"]}[name="{facts["name"]}"]', "type": "css"})
    if role:
        found.append({"element": role, "type": "role"})
    found.append({"element": facts["path"], "type": "css"})
    return found


async def pin(page: Any, ref: str) -> dict[str, Any]:
    """{locator, element}: the most robust locator that finds the element `ref` names and no
    other, and a short description of the element (`button "Log in"`). The page is looked at
    again first: refs stay the same for an element as long as the page is not loaded anew,
    and other looks at the page (evidence, a snapshot of its state) must not have cleared
    them."""
    snapshot = await page.aria_snapshot(mode="ai", timeout=PIN_TIMEOUT_MS)
    line = next((ln for ln in snapshot.splitlines() if f"[ref={ref}]" in ln), None)
    if line is None:
        raise ActionError(
            f"ref {ref} is not on the page now",
            hint="refs belong to the page as the latest snapshot showed it: call "
            "browser_snapshot again and use a ref from it",
        )
    role, name = role_and_name(line)
    handle = await page.get_by_ref(ref).element_handle(timeout=PIN_TIMEOUT_MS)
    try:
        facts = await handle.evaluate(_DESCRIBE)
        for spec in candidates(facts, role, name):
            found = build(page, spec)
            if await found.count() != 1:
                continue
            if await found.evaluate("(el, target) => el === target", handle):
                described = f'{role} "{name}"' if role and name else role or facts["tag"]
                return {"locator": spec, "element": described}
    finally:
        await handle.dispose()
    raise ActionError(f"no locator finds the element {ref} and no other")
