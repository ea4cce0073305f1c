"""The demo site's pages besides the shop: what the browser examples (examples/
forms_and_elements.yaml, tabs_frames_js.yaml) and the browser tests open. `/pages/NAME.html`
is a file of pages/ (a form playground with a frame, a late element, a feed that grows as you
scroll; a second page for tabs); `/download/NAME` answers a small text file as an attachment.
No log-in is needed for them."""

from __future__ import annotations

from pathlib import Path

PAGES = Path(__file__).parent / "pages"
REPORT = b"quarterly report\n"  # what every /download/ link gets

Answer = tuple[int, bytes, dict[str, str]]  # status, body, headers (Content-Type among them)


def static(path: str) -> Answer | None:
    """The answer to GET `path` when it is one of these pages (or a download), else None.
    Only the files in pages/ are served: a name is looked up, never joined to a path."""
    if path.startswith("/download/"):
        name = path.rsplit("/", 1)[-1] or "report.txt"
        disposition = f'attachment; filename="{_safe(name)}"'
        return 200, REPORT, {"Content-Type": "text/plain", "Content-Disposition": disposition}
    if not path.startswith("/pages/"):
        return None
    name = path.removeprefix("/pages/")
    found = {page.name: page for page in PAGES.glob("*.html")}.get(name)
    if found is None:
        body = b"<!doctype html><title>Not found</title><h1>No such page</h1>"
        return 404, body, {"Content-Type": "text/html; charset=utf-8"}
    return 200, found.read_bytes(), {"Content-Type": "text/html; charset=utf-8"}


def _safe(name: str) -> str:
    """A file name fit for a header: letters, digits, `.`, `-` and `_` only."""
    return "".join(c for c in name if c.isascii() and (c.isalnum() or c in "._-")) or "report.txt"
