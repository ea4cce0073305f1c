"""How the log's answers are shown to people and models (the CLI, the dev UI, MCP): an event
as one line, the runs list, two runs compared, values cut to a size a page or a model's
context can take. Secrets are shown as their `$env{...}` references everywhere.

Every event is named by its seq: the log's one numbering, the one `--at`, a fork, a rewind and
every tool's `at_seq` take."""

from __future__ import annotations

from typing import Any

import msgspec

from weboter.runtime.core.references import display
from weboter.runtime.store.eventlog import to_record
from weboter.runtime.store.runs import RunSummary
from weboter.runtime.store.verify import Comparison
from weboter.schemas.messages import StoredEvent

MAX_TEXT = 2000  # characters of one text value in an answer
MAX_ITEMS = 200  # items of one list or map in an answer


def shortened(value: Any) -> Any:
    """`value` with every long text cut to MAX_TEXT characters and every long list or map to
    MAX_ITEMS items, each cut said in place: one huge variable never floods a page or a model's
    context (the log keeps it whole: `weboter state RUN --json` shows it)."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:MAX_TEXT]}… [{len(value) - MAX_TEXT} more characters]"
    if isinstance(value, list):
        kept = [shortened(v) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"… [{len(value) - MAX_ITEMS} more items]")
        return kept
    if isinstance(value, dict):
        items = list(value.items())
        kept_map = {k: shortened(v) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept_map["…"] = f"[{len(items) - MAX_ITEMS} more entries]"
        return kept_map
    return value


def event_body(row: StoredEvent, *, whole: bool = False) -> dict[str, Any]:
    """The event of a stored row as data (secrets as references), without the workflow a
    RunCreated carries (long; the run's snapshot has it). LogCorrupt, naming the seq, if it
    cannot be read. `whole`: its initial state kept too (a fork's)."""
    event: dict[str, Any] = display(msgspec.to_builtins(to_record(row).event))
    event.pop("workflow", None)
    if not whole:
        event.pop("initial_state", None)
    return event


def event_line(row: StoredEvent) -> dict[str, Any]:
    """One event as a line of a list: its seq, type, time, node and the event, long values cut."""
    event = event_body(row)
    return {
        "seq": row.seq,
        "type": row.type,
        "at": row.recorded_at,
        "node_id": event.get("node_id"),
        "event": shortened(event),
    }


def run_rows(runs: list[RunSummary]) -> list[dict[str, Any]]:
    """The runs list as the UI and MCP show it (newest first, as given)."""
    return [
        {
            "run_id": r.run_id,
            "status": r.status,
            "workflow": r.name or r.workflow_id,
            "events": r.events,
            "last_seq": r.last_seq,
            "created_at": r.created_at,
            "parent_run": r.parent_run,
        }
        for r in runs
    ]


def comparison(run_a: str, run_b: str, compared: Comparison) -> dict[str, Any]:
    """Two runs compared step by step, for people and models (MCP, the UI)."""
    return {
        "run_a": run_a,
        "run_b": run_b,
        "first_divergence": compared.first_divergence,
        "steps": display(compared.steps),
        "only_a": compared.only_a,
        "only_b": compared.only_b,
        "fork_from": display(compared.fork_from),
    }
