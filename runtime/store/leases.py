"""Engines that share one log (PostgreSQL) drive each run one at a time, under a lease kept in
the log's `runs` row: the engine that starts or resumes a run holds it for LEASE_SECONDS, and
renews every lease it holds three times as often (`LeaseKeeper`, a thread of each engine
process on a shared log). An engine that dies stops renewing; another engine's `serve` finds
the run orphaned (runtime/store/runs.py: a process of its own host that is gone, or a lease
of another host that ran out) and resumes it (runtime/engine/serve.py `take_up`, once a
second). Resuming goes through the write path with the run's version: two engines that try at
once cannot both win, and the node that was in flight runs again (at-least-once, as after a
restart), recorded once."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.runs import LEASE_SECONDS

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews this process's leases every LEASE_SECONDS / 3, until stopped."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="weboter-leases", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(LEASE_SECONDS)

    def _run(self) -> None:
        held: EventLog | None = None
        try:
            while not self._stop.wait(LEASE_SECONDS / 3):
                try:
                    held = held or EventLog(self.db_path, create=False)
                    held.renew_leases()
                except WeboterError as exc:  # the next round tries again, on a new connection
                    log.warning("leases not renewed: %s", exc.message)
                    if held is not None:
                        held.close()
                    held = None
        finally:
            if held is not None:
                held.close()
