"""The action list of a run, as a trace viewer shows it: each step's node, action, resolved
inputs, outputs, duration and outcome, and what its page kept (before and after screenshots,
DOM, the network requests and console messages while it ran). Secrets are shown as their
`$env{...}` references; long values are cut in place (views.shortened).

    actions_page(log, outlines, run_id, after=0, limit=100)  # steps with seq > after
    action_at(log, outlines, artifacts, run_id, seq)         # one step, its traffic too
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from weboter.runtime.core.references import display
from weboter.runtime.errors import UsageError
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.views import shortened
from weboter.runtime.ui.outline import Outlined, Outlines

MAX_STEPS = 500  # steps per page of the action list
SHOWN = ("before", "screenshot", "dom", "url", "title", "network", "console")
TRAFFIC = 300  # requests or console messages of one step shown
TRAFFIC_NAME = re.compile(r"[0-9a-f]{64}\.jsonl")


def actions_page(
    log: Reader, outlines: Outlines, run_id: str, after: int, limit: int
) -> dict[str, Any]:
    """The run's steps with seq > `after`, oldest first, at most `limit`; page on with
    `next_after` (`total`: the run's steps, those a rewind took back included)."""
    run = log.run_id(run_id)
    if after < 0:
        raise UsageError(f"after must be a seq, 0 or more (got {after})")
    page = outlines.of(log, run, after, max(1, min(limit, MAX_STEPS)))
    total, last = outlines.count(log, run)
    rows = _events(log, run, page)
    return {
        "run_id": run,
        "total": total,
        "steps": [_line(step, rows.get(step.seq)) for step in page],
        "next_after": page[-1].seq if page else after,
        "more": bool(page) and page[-1].seq < last,
    }


def action_at(
    log: Reader, outlines: Outlines, artifacts: ArtifactStore, run_id: str, seq: int
) -> dict[str, Any]:
    """The step whose event is at `seq` — or the run's last step before it: the step a time
    cursor at `seq` is on — whole: its network requests and console messages read from their
    artifacts."""
    run = log.run_id(run_id)
    step = outlines.at_or_before(log, run, seq)
    if step is None:
        raise UsageError(
            f"run {run} has no step at or before seq {seq}",
            hint="a step's seq is the seq of its NodeCompleted or NodeFailed (the action list)",
        )
    seq = step.seq
    line = _line(step, _events(log, run, [step]).get(seq))
    kept = line["evidence"]
    for key in ("network", "console"):
        if key in kept:
            kept[key] = _entries(artifacts, str(kept[key]))
    return line


def _events(log: Reader, run: str, steps: list[Outlined]) -> dict[int, dict[str, Any]]:
    """The step events of `steps`, decoded, by seq (one read of the range they span)."""
    if not steps:
        return {}
    wanted = {s.seq for s in steps}
    rows = log.of_types(
        run,
        ("NodeCompleted", "SubFlowReturned", "NodeFailed"),
        after=steps[0].seq - 1,
        until=steps[-1].seq,
    )
    return {
        r.seq: msgspec.to_builtins(r.event)
        for r in log.decoded([row for row in rows if row.seq in wanted])
    }


def _line(step: Outlined, event: dict[str, Any] | None) -> dict[str, Any]:
    event = display(event or {})
    error = event.get("error") or {}
    evidence = event.get("evidence") or error.get("evidence") or {}
    return {
        "seq": step.seq,
        "node_id": step.node_id,
        "flow_path": step.path.split("/"),
        "action": str(event.get("action") or ""),
        "outcome": step.outcome,
        "marks": step.marks,
        "undone_at": step.undone_at or None,
        "next_node": step.next_node or None,
        "attempts": event.get("attempts", error.get("attempt", 1)),
        "duration_ms": event.get("duration_ms"),
        "inputs": shortened(event.get("inputs", {})),
        "outputs": shortened(event.get("outputs", {})),
        "error": None if not error else {k: error.get(k, "") for k in ("kind", "message", "hint")},
        "evidence": {k: v for k, v in evidence.items() if k in SHOWN and v},
    }


def _entries(artifacts: ArtifactStore, address: str) -> list[dict[str, Any]]:
    """A step's requests or console messages (JSON lines, redacted when stored), secrets shown
    as their references; only a traffic artifact (never a stored browser state)."""
    if not TRAFFIC_NAME.fullmatch(address):
        return [{"text": f"(not a record of requests or messages: {address[:80]})"}]
    try:
        text = artifacts.get(address).decode("utf-8", "replace")
    except OSError:
        return [{"text": f"(not in {artifacts.root}: {address})"}]
    found = []
    for line in text.splitlines()[:TRAFFIC]:
        try:
            found.append(display(json.loads(line, strict=False)))
        except ValueError:
            continue
    return found
