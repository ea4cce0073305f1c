"""Reading workflow files (JSON or YAML) into the model, with errors that point at the fault."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from weboter.runtime.core.limits import check_value
from weboter.runtime.errors import Finding, ValueRefused, WorkflowInvalid, WorkflowSyntaxError
from weboter.schemas.workflow import Workflow


def parse_text(text: str, source: str) -> Any:
    """JSON for `.json`, YAML for `.yaml`/`.yml`; otherwise whichever parses. The result is
    within the limits of runtime/core/limits.py (depth, size, 64-bit whole numbers)."""
    try:
        data = _parse(text, source)
    except (RecursionError, ValueError) as exc:  # too deep, or a number of 4,300+ digits
        if isinstance(exc, WorkflowSyntaxError):
            raise
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise WorkflowSyntaxError(
            f"{source}: cannot be read: {why}",
            hint="nothing a workflow needs is nested this deep or this long; write such data "
            "as text",
        ) from exc
    try:
        check_value(data, source)
    except ValueRefused as exc:
        raise WorkflowSyntaxError(exc.message, hint=exc.hint) from exc
    return data


def _parse(text: str, source: str) -> Any:
    suffix = Path(source).suffix.lower()
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith("{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkflowSyntaxError(
                f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
                hint="fix the JSON at that line (a missing comma or quote, or a trailing comma?)",
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise WorkflowSyntaxError(
            f"{where}: not valid YAML: {problem}",
            hint="fix the YAML at that line (indentation, or a ':' that needs quotes?)",
        ) from exc


def to_workflow(data: Any, source: str) -> Workflow:
    if not isinstance(data, dict):
        raise WorkflowInvalid(
            source,
            [
                Finding(
                    "error",
                    "$",
                    f"a workflow is a mapping with id, name and nodes, not {type(data).__name__}",
                )
            ],
        )
    try:
        return msgspec.convert(data, Workflow)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = re.search(r" - at `\$(.*)`$", text)
        path = match.group(1).lstrip(".") if match else ""
        message = text[: match.start()] if match else text
        raise WorkflowInvalid(source, [Finding("error", path or "$", message)]) from exc


def load_workflow(path: str | Path) -> Workflow:
    """The workflow in `path`; WorkflowError with the place of the fault otherwise."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise WorkflowSyntaxError(f"{file}: no such file", hint="check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowSyntaxError(f"{file}: cannot be read: {exc}") from exc
    return to_workflow(parse_text(text, str(file)), str(file))
