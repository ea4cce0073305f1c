"""`Decision`: the events one command produces, folded as they are added.

Each event is applied to the state once, when it is added; RunStore appends the events and
keeps `state` (stamping the real seq and time), so one node's events are folded once.
"""

from __future__ import annotations

from weboter.runtime.core.fold import apply
from weboter.schemas.events import Event, NodeFailed
from weboter.schemas.state import RunState, RunStatus

DRIVEN = (RunStatus.RUNNING, RunStatus.STEPPING)


class Decision:
    def __init__(self, state: RunState | None) -> None:
        self.base = state
        self.state = state
        self.events: list[Event] = []
        self.secrets: dict[str, str] = {}  # $env values this command resolved (to redact)
        # the status a node failed in, when it failed while the run was driven: its on_error
        # policy decides next (core/recover.py)
        self.failed_while: RunStatus | None = None

    def add(self, event: Event) -> RunState:
        """Append `event` and fold it; the new state (seq and time are stamped at commit)."""
        current = self.state
        if isinstance(event, NodeFailed) and current is not None and current.status in DRIVEN:
            self.failed_while = current.status
        version = (current.version if current is not None else 0) + 1
        self.state = apply(
            current,
            event,
            seq=current.seq if current is not None else 0,
            version=version,
            at=current.updated_at if current is not None else 0.0,
        )
        self.events.append(event)
        return self.state

    def mark(self) -> tuple[int, RunState | None]:
        """Where the decision is now, to `undo` back to."""
        return len(self.events), self.state

    def undo(self, mark: tuple[int, RunState | None]) -> None:
        """Drop the events added since `mark` (a step that turned out not to be allowed)."""
        del self.events[mark[0] :]
        self.state = mark[1]

    @property
    def after(self) -> RunState:
        assert self.state is not None, "a decision without events has no state"
        return self.state
