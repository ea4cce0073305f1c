"""A run's page as a snapshot: what a person would expect it to hold, taken after a browser
node and put back when the run's browser comes back (fork, rewind, resume, another process).

Per open tab: its URL, the form fields whose value differs from the page's own default
(inputs, textareas, selects, checkboxes, radios), the scroll position, and a fingerprint of
its visible text (a short hash per line, over text with secrets redacted). Also which tab is
active, and what the page held that a snapshot cannot hold (`uncaptured`: a chosen file,
session storage, a frame the run had switched into, changed fields inside a frame).

After a restore, `differences` compares the live page with the snapshot: the URL, the fields,
the text. The secrets in field values are stored as `$env` markers like everything else the
run records, and put back from `$env` by the restore.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from weboter.runtime.core.references import Resolver
from weboter.runtime.core.secrets import redact

MAX_LINES = 2000  # text lines fingerprinted per tab
SETTLE_SECONDS = 2.0  # how long a restored page may take to show the recorded text

PAGE_JS = """() => {
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
      if (e.id) { parts.unshift('#' + CSS.escape(e.id)); break; }
      let i = 1;
      for (let s = e.previousElementSibling; s; s = s.previousElementSibling)
        if (s.tagName === e.tagName) i++;
      parts.unshift(e.tagName.toLowerCase() + ':nth-of-type(' + i + ')');
    }
    return parts.join(' > ');
  };
  const changed = (root) => {
    const found = [];
    for (const el of root.querySelectorAll('input, textarea, select')) {
      const type = (el.type || '').toLowerCase();
      if (['button', 'submit', 'reset', 'image', 'hidden'].includes(type)) continue;
      if (type === 'file') {
        if (el.files && el.files.length) found.push({file: path(el)});
        continue;
      }
      if (type === 'checkbox' || type === 'radio') {
        if (el.checked !== el.defaultChecked) found.push({path: path(el), checked: el.checked});
      } else if (el.tagName === 'SELECT') {
        const opts = [...el.options];
        if (opts.some(o => o.selected !== o.defaultSelected))
          found.push({path: path(el), selected: opts.filter(o => o.selected).map(o => o.value)});
      } else if (el.value !== el.defaultValue) {
        found.push({path: path(el), value: el.value});
      }
    }
    return found;
  };
  const uncaptured = [];
  const fields = [];
  for (const f of changed(document)) {
    if (f.file) uncaptured.push('a file chosen in ' + f.file); else fields.push(f);
  }
  for (const frame of document.querySelectorAll('iframe, frame')) {
    try {
      if (frame.contentDocument && changed(frame.contentDocument).length)
        uncaptured.push('form fields changed inside the frame ' + path(frame));
    } catch (e) { /* another origin: not visible from here */ }
  }
  let session = 0;
  try { session = sessionStorage.length; } catch (e) {}
  if (session) uncaptured.push('session storage of ' + location.origin + ' (' + session + ' keys)');
  let local = null;
  try {
    if (localStorage.length) local = {origin: location.origin,
      localStorage: Object.keys(localStorage).map(
        k => ({name: k, value: localStorage.getItem(k)}))};
  } catch (e) {}
  const text = document.body ? document.body.innerText : '';
  return {url: location.href, fields, scroll: [window.scrollX, window.scrollY], uncaptured,
          local, text};
}"""

PUT_BACK_JS = """([fields, scroll]) => {
  const missing = [];
  for (const f of fields) {
    const el = document.querySelector(f.path);
    if (!el) { missing.push(f.path); continue; }
    if ('checked' in f) el.checked = f.checked;
    else if ('selected' in f) for (const o of el.options) o.selected = f.selected.includes(o.value);
    else el.value = f.value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
  }
  window.scrollTo(scroll[0], scroll[1]);
  return missing;
}"""


def _lines(text: str, secrets: dict[str, str]) -> list[str]:
    """The fingerprint of a tab's visible text: a short hash per distinct line (secrets
    redacted first, so a hash never stands for a secret)."""
    seen: set[str] = set()
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line:
            seen.add(hashlib.blake2b(redact(line, secrets).encode(), digest_size=6).hexdigest())
            if len(seen) >= MAX_LINES:
                break
    return sorted(seen)


async def _tab(page: Any, secrets: dict[str, str]) -> tuple[dict[str, Any], str]:
    found = await page.evaluate(PAGE_JS)
    tab = {
        "url": found["url"],
        "fields": found["fields"],
        "scroll": found["scroll"],
        "lines": _lines(found["text"], secrets),
        "uncaptured": found["uncaptured"],
        "local": found["local"],
    }
    return tab, found["text"]


async def take(session: Any, secrets: dict[str, str]) -> dict[str, Any]:
    """The run's tabs as a snapshot (not yet redacted: the caller redacts the whole)."""
    tabs: list[dict[str, Any]] = []
    active = 0
    live = [p for p in session.pages if not p.is_closed()]
    for page in live:
        if page is session.current:
            active = len(tabs)
        if not page.url.startswith("http"):
            tabs.append({"url": page.url, "fields": [], "scroll": [0, 0], "lines": []})
            continue
        tab = session.snapshots.get(page)
        if tab is None or page is session.current or tab["url"] != page.url:
            tab = session.snapshots[page] = (await _tab(page, secrets))[0]
        tabs.append(tab)
    session.snapshots = {p: t for p, t in session.snapshots.items() if p in live}
    uncaptured = [u for t in tabs for u in t.get("uncaptured", [])]
    if session.frame is not None:
        uncaptured.append("the run had switched into a frame (SwitchFrame)")
    origins = {t["local"]["origin"]: t["local"] for t in tabs if t.get("local")}
    tabs = [{k: v for k, v in t.items() if k not in ("uncaptured", "local")} for t in tabs]
    return {
        "tabs": tabs,
        "active": active,
        "uncaptured": uncaptured,
        "origins": list(origins.values()),
        "secrets": sorted(secrets),  # the references redacted from the text, by name
    }


class NotOpened(Exception):
    """A recorded page that could not be opened again: its URL, why (one line, without
    Playwright's call log), and the step whose re-driving met it (if one did)."""

    def __init__(self, url: str, reason: str, step: str = "") -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.step = url, reason, step


async def reopen(page: Any, url: str) -> None:
    """Open a recorded URL in `page`; NotOpened when it does not load (the site is down, the
    name does not resolve, it timed out)."""
    try:
        await page.goto(url)
    except Exception as exc:  # Playwright's errors: the first line says it, the rest is a log
        reason = str(exc).split("\n", 1)[0].removeprefix("Page.goto: ").strip()
        raise NotOpened(url, reason or type(exc).__name__) from None


async def put_back(session: Any, snapshot: dict[str, Any], resolver: Resolver) -> list[str]:
    """Open the snapshot's tabs (the session is new: cookies and storage are in place), fill
    their fields and scroll; the differences that remain (fields that are not there)."""
    problems: list[str] = []
    tabs = snapshot.get("tabs") or []
    for i, tab in enumerate(tabs):
        page = await session.context.new_page()
        session.pages.append(page)
        url = resolver.unmark(tab["url"])
        if url and url != "about:blank":
            await reopen(page, url)
        fields = resolver.unmark(tab.get("fields") or [])
        missing = await page.evaluate(PUT_BACK_JS, [fields, tab.get("scroll") or [0, 0]])
        problems += [f"tab {i + 1}: the field {path} is not on the page" for path in missing]
    if tabs:
        session.current = session.pages[min(snapshot.get("active", 0), len(tabs) - 1)]
        await session.current.bring_to_front()
    return problems


async def differences(
    session: Any,
    snapshot: dict[str, Any],
    resolver: Resolver,
    secrets: dict[str, str],
    settle: float = SETTLE_SECONDS,
) -> list[str]:
    """How the live tabs differ from the snapshot ([] when they match): another URL, other
    field values, or recorded text that is not on the page. Text the page shows on its own
    after a while (a timer, lazy content) is waited for, up to `settle` seconds; text that is
    there now and was not then is no difference (pages add text by themselves)."""
    deadline = time.monotonic() + settle
    while True:
        found = await _differences(session, snapshot, resolver, secrets)
        if not found or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.1)  # not a sync: polling the live page until its deadline


async def _differences(
    session: Any, snapshot: dict[str, Any], resolver: Resolver, secrets: dict[str, str]
) -> list[str]:
    recorded = snapshot.get("tabs") or []
    live = [p for p in session.pages if not p.is_closed()]
    if len(live) != len(recorded):
        return [f"{len(live)} tab(s) open, {len(recorded)} recorded"]
    found: list[str] = []
    for i, (page, tab) in enumerate(zip(live, recorded, strict=True)):
        url = resolver.unmark(tab["url"])
        if page.url != url:
            found.append(f"tab {i + 1}: the URL is {page.url} (recorded: {url})")
            continue
        if not url.startswith("http"):
            continue
        now, text = await _tab(page, secrets)
        if now["fields"] != resolver.unmark(tab.get("fields") or []):
            found.append(f"tab {i + 1}: form fields differ from those recorded")
        gone = set(tab.get("lines") or []) - set(now["lines"])
        if gone:
            found.append(f"tab {i + 1}: {_text_change(text, tab['lines'], secrets, len(gone))}")
    return found


def _text_change(text: str, recorded: list[str], secrets: dict[str, str], gone: int) -> str:
    """The text difference in words: how many recorded lines are gone, and an example of the
    text the page has instead."""
    was = set(recorded)
    new = [
        line
        for line in dict.fromkeys(" ".join(x.split()) for x in text.splitlines())
        if line and _lines(line, secrets)[0] not in was
    ]
    instead = f"; the page shows instead e.g. {redact(new[0], secrets)[:80]!r}" if new else ""
    return f"{gone} line(s) of the recorded text are not on the page{instead}"
