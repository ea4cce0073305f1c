"""What a run's pages did during one step, for its evidence: the network requests they made
(method, URL, status or failure, kind) and the console messages and page errors they printed.

A run's browser context is watched only when its evidence is kept at every node (listening
costs a little on every request, so runs that keep no evidence pay nothing). Entries are kept
in memory, at most LIMIT of each kind per context; a step takes those that arrived since it
began (`Traffic.mark`, then `Traffic.since`). What is stored is redacted with the run's secrets
like every other text evidence (runtime/browser/evidence.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIMIT = 500  # entries of each kind a context keeps (older ones go first)
RAW = 4000  # characters of one URL or message held until the step's end
TEXT = 500  # characters of one URL or message stored (cut after the secrets are redacted)


@dataclass
class Traffic:
    """The requests and console messages of one browser context, in arrival order."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=lambda: [0, 0])  # let go at the front, per kind
    listeners: list[tuple[str, Any]] = field(
        default_factory=list
    )  # (event, handler) on its context

    def mark(self) -> tuple[int, int]:
        """Where a step begins: (requests seen, console messages seen) so far."""
        return self.dropped[0] + len(self.requests), self.dropped[1] + len(self.console)

    def since(self, mark: tuple[int, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The requests and console messages that arrived after `mark` (those still kept)."""
        start_r = max(mark[0] - self.dropped[0], 0)
        start_c = max(mark[1] - self.dropped[1], 0)
        return self.requests[start_r:], self.console[start_c:]

    def add(self, kind: str, entry: dict[str, Any]) -> None:
        which = 0 if kind == "request" else 1
        found = self.requests if which == 0 else self.console
        found.append(entry)
        if len(found) > LIMIT:
            cut = LIMIT // 5
            del found[:cut]
            self.dropped[which] += cut


def watch(context: Any, pages: list[Any] | None = None) -> Traffic:
    """Listen to a browser context's responses, failed requests, console messages and page
    errors (all its tabs and frames, those opened later too; only those of `pages` when given:
    a context other runs' tabs share)."""
    traffic = Traffic()

    def ours(page: Any) -> bool:
        return pages is None or page in pages

    def response(resp: Any) -> None:
        request = resp.request
        if not ours(_page_of(request)):
            return
        traffic.add(
            "request",
            {
                "method": request.method,
                "url": request.url[:RAW],
                "status": resp.status,
                "type": request.resource_type,
            },
        )

    def failed(request: Any) -> None:
        if not ours(_page_of(request)):
            return
        traffic.add(
            "request",
            {
                "method": request.method,
                "url": request.url[:RAW],
                "failure": str(request.failure or "failed")[:RAW],
                "type": request.resource_type,
            },
        )

    def console(message: Any) -> None:
        if not ours(message.page):
            return
        where = message.location or {}
        traffic.add(
            "console",
            {
                "type": message.type,
                "text": message.text[:RAW],
                "url": str(where.get("url", ""))[:RAW],
                "line": where.get("lineNumber"),
            },
        )

    def page_error(error: Any) -> None:
        if not ours(error.page):
            return
        traffic.add("console", {"type": "pageerror", "text": str(error.error)[:RAW]})

    traffic.listeners = [
        ("response", response),
        ("requestfailed", failed),
        ("console", console),
        ("weberror", page_error),
    ]
    for event, handler in traffic.listeners:
        context.on(event, handler)
    return traffic


def unwatch(context: Any, traffic: Traffic) -> None:
    """Stop listening (a borrowed session's watch on its lender's context, when it ends)."""
    for event, handler in traffic.listeners:
        context.remove_listener(event, handler)
    traffic.listeners = []


def _page_of(request: Any) -> Any:
    """The tab a request came from (None for a service worker's)."""
    try:
        return request.frame.page
    except Exception:  # a service worker's request has no frame
        return None


def cut(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry with each text cut to TEXT characters (after redaction: see evidence.py)."""
    return {k: (v[:TEXT] if isinstance(v, str) else v) for k, v in entry.items()}
