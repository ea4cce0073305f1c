"""The contract: msgspec Structs for workflows, events, commands, snapshots. No logic, no I/O."""

from weboter.schemas.context import (
    ContextSnapshot,
    ErrorContext,
    NodeHistory,
    NodeModifications,
    RepairAction,
)
from weboter.schemas.events import Event, EventRecord
from weboter.schemas.state import Frame, RunState, RunStatus
from weboter.schemas.workflow import END, EXIT, Flow, Node, OutputSpec, RetryPolicy, Workflow

__all__ = [
    "END",
    "EXIT",
    "ContextSnapshot",
    "ErrorContext",
    "Event",
    "EventRecord",
    "Flow",
    "Frame",
    "Node",
    "NodeHistory",
    "NodeModifications",
    "OutputSpec",
    "RepairAction",
    "RetryPolicy",
    "RunState",
    "RunStatus",
    "Workflow",
]
