"""`RunStatus`: where a run is — the one type every layer and message uses for it."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    IDLE = "IDLE"
    LOADED = "LOADED"
    QUEUED = "QUEUED"  # waits for one of the engine's run slots (Settings.max_runs)
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STEPPING = "STEPPING"
    ERROR = "ERROR"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def terminal(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED)
