"""What every MCP tool shares: turning Weboter's errors into one clear tool error, and reading
a workflow given as an object or as YAML/JSON text. (Every tool reads the log through the
store's one read path, `with Reader(db) as log:`, for the length of its call.)"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from weboter.runtime.core.loader import parse_text, to_workflow
from weboter.runtime.errors import WeboterError
from weboter.schemas.workflow import Workflow

F = TypeVar("F", bound=Callable[..., Any])


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
