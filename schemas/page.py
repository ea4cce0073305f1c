"""Looking at a run's page: a client asks the Node Runner (or a worker) what the run's browser
shows now — for a person, a model, or an agent's session, which also asks which locator finds
an element of its last snapshot (runtime/browser/pin.py)."""

from __future__ import annotations

from typing import Any

from weboter.schemas.base import _Msg
from weboter.schemas.context import ErrorContext
from weboter.schemas.state import BrowserState


class LookAtPage(_Msg, frozen=True):
    """Client -> Node Runner: what the run's browser shows now (put back if need be)."""

    command_id: str
    run_id: str
    reply_to: str
    browser: BrowserState | None = None  # the run's recorded browser state
    allow_hosts: list[str] = []  # its workflow's, from the log (for a worker; never a client's)
    refs: bool = False  # the page text with element refs (`[ref=e12]`) an agent can name
    screenshot: bool = True  # a screenshot too (kept beside the log)
    ref: str = ""  # only: the locator that finds this element of the last snapshot


class PageLooked(_Msg, frozen=True):
    command_id: str
    run_id: str
    url: str = ""
    title: str = ""
    aria: str = ""  # the page's accessibility tree as text (secrets redacted)
    screenshot: str = ""  # artifact name of a PNG beside the log
    differences: list[str] = []  # how the page differs from the recorded one, if restored
    error: ErrorContext | None = None
    locator: dict[str, Any] = {}  # for `ref`: a locator that finds that element, and no other
    element: str = ""  # for `ref`: the element, described (`button "Log in"`)
    tabs: list[dict[str, Any]] = []  # the run's tabs: {index, url, title, current}
