"""What every MCP tool shares: opening the log for one call, turning Weboter's errors into
one clear tool error, and reading a workflow given as an object or as YAML/JSON text."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ResourceError, ToolError

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
    return _converting(fn, ToolError)


def clear_resource_errors(fn: F) -> F:
    """The same for a resource: the reader gets the message, not "Error reading resource"."""
    return _converting(fn, ResourceError)


def _converting(fn: F, into: type[Exception]) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WeboterError as exc:
            raise into(_said(exc)) from exc

    @functools.wraps(fn)
    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except WeboterError as exc:
            raise into(_said(exc)) from exc

    return async_wrapper if inspect.iscoroutinefunction(fn) else wrapper  # type: ignore[return-value]


MAX_TEXT = 2000  # characters of one text value in a tool's answer
MAX_ITEMS = 200  # items of one list or map in a tool's answer


def shortened(value: Any) -> Any:
    """`value` with every long text cut to MAX_TEXT characters and every long list or map to
    MAX_ITEMS items, each cut said in place: one huge variable never floods a model's context
    (the log keeps it whole: `weboter state RUN --json` shows it)."""
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


# The engine's hints name CLI commands; a model calling tools gets the tool to use instead.
TOOL_FOR = (
    (re.compile(r"`?weboter history RUN`?"), "get_events"),
    (re.compile(r"`?weboter runs`?"), "list_runs"),
    (re.compile(r"`?weboter catalog`?"), "catalog"),
    (re.compile(r"`?weboter state RUN`?"), "get_snapshot"),
    (re.compile(r"`?weboter validate FILE`?"), "validate_workflow"),
    (re.compile(r"`?weboter pause RUN`?"), "pause_run"),
    (re.compile(r"`?weboter fork RUN --at SEQ --max-nodes N`?"), "fork_run with max_nodes"),
    (re.compile(r"`?weboter fork RUN --at SEQ`?"), "fork_run"),
    (re.compile(r"`?weboter continue RUN --restore redrive`?"), "continue_run"),
    (re.compile(r"`?weboter continue RUN`?"), "continue_run"),
    (re.compile(r"--max-nodes N"), "max_nodes"),
)


def _said(exc: WeboterError) -> str:
    said = f"{exc.message} (to fix: {exc.hint})" if exc.hint else exc.message
    for pattern, tool in TOOL_FOR:
        said = pattern.sub(tool, said)
    return said


def workflow_from(value: dict[str, Any] | str) -> Workflow:
    """A workflow given as an object or as YAML/JSON text; WorkflowError says where not."""
    data = parse_text(value, "workflow") if isinstance(value, str) else value
    return to_workflow(data, "workflow")
