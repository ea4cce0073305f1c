"""Builtin actions that need no browser: SetData, EmptyAction, SleepFor, PyEvalAction,
WriteTextFile, SubFlow (declared here, carried out by the engine: runtime/core/decide.py) and
FanOut (carried out by the engine's fan-out: actors/fan_out.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.core.expressions import evaluate
from weboter.runtime.core.references import REFERENCE, SCOPE_ALIASES
from weboter.runtime.errors import ActionError
from weboter.runtime.store.private import write_private


def empty_action(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {}


async def sleep_for(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        duration = float(inputs["duration"])
    except (TypeError, ValueError) as exc:
        raise ActionError(
            f"duration must be a number of seconds, got {inputs['duration']!r}"
        ) from exc
    await asyncio.sleep(max(duration, 0.0))
    return {}


def set_data(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    """Store `value` where `key` names: `$flow{x}`, `$global{x}`, or a plain name (flow)."""
    key = inputs["key"]
    if not isinstance(key, str) or not key:
        raise ActionError(f"key must name a variable, got {key!r}", hint='e.g. "$flow{count}"')
    scope, name = "flow", key
    match = REFERENCE.fullmatch(key)
    if match:
        scope = SCOPE_ALIASES.get(match.group(1), "")
        name = match.group(2)
        if scope not in ("flow", "global"):
            raise ActionError(
                f"key {key!r} names a {match.group(1)} variable; SetData writes only "
                "$flow{...} or $global{...}"
            )
    ctx.write(scope, name, inputs.get("value"))
    return {"key": name, "value": inputs.get("value")}


def py_eval(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    names = {f"param{i}": inputs.get(f"param{i}") for i in range(1, 5)}
    return {"result": evaluate(inputs["expr"], names)}


def write_text_file(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    path = ctx.writable(str(inputs["path"]))
    content = inputs.get("content")
    text = content if isinstance(content, str) else "" if content is None else str(content)
    encoding = inputs.get("encoding") or "utf-8"
    data = text.encode(encoding)
    try:  # a new file is its owner's only (0600), whatever the umask
        write_private(path, data, append=bool(inputs.get("append")))
    except OSError as exc:
        raise ActionError(f"cannot write {path}: {exc.strerror}", hint="check the path") from exc
    return {"path": str(path), "bytes_written": len(data)}


def _engine_only(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    raise ActionError("SubFlow is carried out by the engine, not by a Node Runner")


def _fan_out_only(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    raise ActionError("FanOut is carried out by the engine's fan-out, not by a Node Runner")


PLUGIN = Plugin(
    name="builtin",
    actions=[
        ActionSpec("builtin.EmptyAction", empty_action, defaults={"message": ""}),
        ActionSpec("builtin.SleepFor", sleep_for, required=("duration",), is_async=True),
        ActionSpec(
            "builtin.SetData",
            set_data,
            required=("key",),
            defaults={"value": None},
            outputs=("key", "value"),
            raw_inputs=frozenset({"key"}),
        ),
        ActionSpec(
            "builtin.PyEvalAction",
            py_eval,
            required=("expr",),
            defaults={f"param{i}": None for i in range(1, 5)},
            outputs=("result",),
        ),
        ActionSpec(
            "builtin.WriteTextFile",
            write_text_file,
            required=("path",),
            defaults={"content": "", "encoding": "utf-8", "append": False},
            outputs=("path", "bytes_written"),
        ),
        ActionSpec(
            "builtin.SubFlow",
            _engine_only,
            required=("flow_id",),
            defaults={"data_in": [], "data_out": []},
            engine=True,
        ),
        ActionSpec(  # runtime/core/items.py, actors/fan_out.py
            "builtin.FanOut",
            _fan_out_only,
            required=("flow_id", "items"),
            defaults={"item": "item", "at_once": 4, "data_in": [], "data_out": []},
            outputs=("results", "runs"),
            is_async=True,
            raw_inputs=frozenset({"data_in", "data_out"}),
            doc="run a sub-flow once per item of a list, each item a run of its own, "
            "`at_once` at a time; `results`: each item's data_out, in order",
        ),
    ],
)
