"""`Decision`: the events one command produces, folded as they are added.

Each event is applied to the state once, when it is added; RunStore appends the events and
keeps `state` (stamping the real seq and time), so one node's events are folded once.
"""

from __future__ import annotations

from weboter.runtime.core.fold import apply
from weboter.schemas.events import Event
from weboter.schemas.state import RunState


class Decision:
    def __init__(self, state: RunState | None) -> None:
        self.base = state
        self.state = state
        self.events: list[Event] = []
        self.secrets: dict[str, str] = {}  # $env values this command resolved (to redact)

    def add(self, event: Event) -> RunState:
        """Append `event` and fold it; the new state (seq and time are stamped at commit)."""
        current = self.state
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

    @property
    def after(self) -> RunState:
        assert self.state is not None, "a decision without events has no state"
        return self.state
