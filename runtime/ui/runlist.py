"""`GET /api/runs`: the runs page's list, paged and searched in the log's SQL
(runtime/store/listing.py), each run with how long it ran and who drove it.

    /api/runs?offset=0&limit=50&q=timeout&status=FAILED&since=2026-12-01&until=2026-12-07
      -> {"runs": [...], "offset": 0, "limit": 50, "total": 312, "more": true}
    /api/runs?limit=200                      -> [...]   (no offset: the list, as it always was)

A parameter that is not one of these, or a value that does not parse, is a 400 that says what
it takes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from weboter.runtime.core.items import item_from_source
from weboter.runtime.errors import UsageError
from weboter.runtime.store.listing import ListedRun, RunFilter
from weboter.runtime.store.reading import Reader
from weboter.runtime.ui.drivers import driver
from weboter.schemas.state import RunStatus

PAGE = 50  # runs per page, unless `limit` says
MOST = 500  # runs per page at most
LISTED = 200  # runs in the list without `offset`, unless `limit` says
MAX_QUERY = 200  # characters of a search
PARAMETERS = ("offset", "limit", "q", "status", "since", "until")
STATUSES = tuple(str(s) for s in RunStatus)


def answer(log: Reader, query: Mapping[str, str]) -> Any:
    """The page `query` asks for; without `offset`, the list of rows alone."""
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise UsageError(
            f"/api/runs takes no parameter {unknown[0]!r}",
            hint=f"its parameters: {', '.join(PARAMETERS)} (docs/ui.md, 'The HTTP API')",
        )
    found = RunFilter(
        text=_text(query.get("q", "")),
        status=_status(query.get("status", "")),
        since=_moment(query, "since", end=False),
        until=_moment(query, "until", end=True),
    )
    if "offset" not in query:  # the list as it was (callers from before paging)
        rows = log.runs_page(found, max(1, min(_whole(query, "limit", LISTED), MOST))).runs
        return [row(r) for r in rows]
    offset, limit = _whole(query, "offset", 0), _whole(query, "limit", PAGE)
    if offset < 0:
        raise UsageError(f"offset must be 0 or more (got {offset})", hint="0 is the first page")
    if not 1 <= limit <= MOST:
        raise UsageError(f"limit must be 1 to {MOST} (got {limit})", hint=f"{PAGE} by default")
    page = log.runs_page(found, limit, offset)
    return {
        "runs": [row(r) for r in page.runs],
        "offset": offset,
        "limit": limit,
        "total": page.total,
        "more": offset + len(page.runs) < page.total,
    }


def row(run: ListedRun) -> dict[str, Any]:
    """A run as a row of the list: views.run_rows' keys, and how long it ran, who drove it
    and, failed, why."""
    return {
        "run_id": run.run_id,
        "status": run.status,
        "workflow": run.name or run.workflow_id,
        "events": run.events,
        "last_seq": run.last_seq,
        "created_at": run.created_at,
        "parent_run": run.parent_run,
        "item_of": item_from_source(run.source),  # a FanOut's item run: {item, node, run}
        "last_at": run.last_at,
        "duration": round(run.duration, 3),
        "error": run.error,
        "driver": driver(run),
    }


def _text(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_QUERY:
        raise UsageError(
            f"q is {len(text)} characters; a search takes at most {MAX_QUERY}",
            hint="search for a part of it",
        )
    return text


def _status(raw: str) -> str:
    status = raw.strip().upper()
    if status and status not in STATUSES:
        raise UsageError(
            f"status {raw!r} is not a run's status", hint=f"one of {', '.join(STATUSES)}"
        )
    return status


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(
            f"{name} must be a whole number (got {raw!r})", hint="e.g. offset=50&limit=50"
        ) from None
    if value >= 2**63:
        raise UsageError(f"{name} is out of range (got {raw[:40]})", hint="e.g. offset=50")
    return value


def _moment(query: Mapping[str, str], name: str, *, end: bool) -> float | None:
    """Seconds since 1970 from a date (this machine's midnight; an `until` date counts whole),
    a date and time (ISO 8601; without a zone, this machine's) or a number of seconds."""
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = None
    if seconds is not None and math.isfinite(seconds):
        return seconds
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"{name} must be a date (2026-12-07), a date and time (2026-12-07T14:30) or "
            f"seconds since 1970 (got {raw!r})",
            hint="the runs created from `since` up to `until` are listed",
        ) from None
    if end and len(raw) == len("2026-12-07"):  # until a day: to its end
        moment += timedelta(days=1)
    return moment.timestamp()
