"""`error_context`: any exception as the ErrorContext that events and replies carry."""

from __future__ import annotations

import traceback

from weboter.runtime.errors import WeboterError
from weboter.schemas.context import ErrorContext


def error_context(
    exc: BaseException, node_id: str | None, flow_path: list[str], attempt: int = 1
) -> ErrorContext:
    """What went wrong, where, and (for a deliberate error) what to do; a bug keeps its stack."""
    deliberate = isinstance(exc, WeboterError)
    return ErrorContext(
        kind=type(exc).__name__.rstrip("_"),
        message=exc.message if isinstance(exc, WeboterError) else f"{type(exc).__name__}: {exc}",
        node_id=node_id,
        flow_path=list(flow_path),
        attempt=attempt,
        stack="" if deliberate else "".join(traceback.format_exception(exc))[-4000:],
        hint=exc.hint if isinstance(exc, WeboterError) else "",
        waiting_for=exc.waiting_for if isinstance(exc, WeboterError) else "",
    )
