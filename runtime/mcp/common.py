"""What every MCP tool shares: opening the log for one call, turning Weboter's errors into
one clear tool error, and reading a workflow given as an object or as YAML/JSON text."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from weboter.runtime.core.loader import parse_text, to_workflow
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.workflow import Workflow

F = TypeVar("F", bound=Callable[..., Any])


class Log:
    """Opens the event log at `path` for the length of one tool call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def __call__(self) -> Iterator[EventLog]:
        events = EventLog(self.path, create=False)
        try:
            yield events
        finally:
            events.close()


def clear_errors(fn: F) -> F:
    """A WeboterError becomes a tool error with its message and what to do (the model reads
    it and can correct the call); anything else is left to the SDK (an unexpected error)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WeboterError as exc:
            raise ToolError(_said(exc)) from exc

    @functools.wraps(fn)
    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except WeboterError as exc:
            raise ToolError(_said(exc)) from exc

    return async_wrapper if inspect.iscoroutinefunction(fn) else wrapper  # type: ignore[return-value]


def _said(exc: WeboterError) -> str:
    return f"{exc.message} (to fix: {exc.hint})" if exc.hint else exc.message


def workflow_from(value: dict[str, Any] | str) -> Workflow:
    """A workflow given as an object or as YAML/JSON text; WorkflowError says where not."""
    data = parse_text(value, "workflow") if isinstance(value, str) else value
    return to_workflow(data, "workflow")
