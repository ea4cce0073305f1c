"""Who drives a run, as the dev UI shows it (the runs list's "Driven by", a run's `driver`):
the engine — host:pid of the process that drives the run now (`weboter ui`, `serve`, `run`),
or that last drove it — and the `weboter worker` that ran its newest node, when its nodes run
on workers (the log records the worker with each node's result: runtime/store/listing.py)."""

from __future__ import annotations

from typing import Any

from weboter.runtime.store.listing import ListedRun
from weboter.runtime.store.reading import Reader


def driver(row: ListedRun) -> dict[str, Any]:
    """`engine` and `worker` (None: none known), `now` (that engine drives the run now: it
    runs, and its process lives or holds its lease) and a `label` for people."""
    named = [f"worker {row.worker}"] if row.worker else []
    named += [f"engine {row.engine}"] if row.engine else []
    label = ", ".join(named) + (" (now)" if row.driving else "")
    return {"engine": row.engine, "worker": row.worker, "now": row.driving, "label": label}


def driver_of(log: Reader, run_id: str) -> dict[str, Any]:
    """Who drives the run `run_id` (a whole id)."""
    return driver(log.listed(run_id))
