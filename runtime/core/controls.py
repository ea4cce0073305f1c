"""Builtin controls: NextNode, IfElse, LoopUntil, ByMap, EndFlow. Pure functions of their
(already resolved) params; they run in a Node Runner, and again in `verify`."""

from __future__ import annotations

from typing import Any

from weboter.runtime.core.catalog import ControlContext, ControlDecision, ControlSpec, Plugin
from weboter.runtime.errors import ActionError
from weboter.schemas.workflow import END

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "in")


def normalise(value: Any) -> Any:
    """ "true"/"false" compare as booleans, numeric strings as numbers."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return value
    return value


def _number(value: Any, side: str) -> float:
    value = normalise(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ActionError(
            f"IfElse: {side} {value!r} is not a number; gt/gte/lt/lte compare numbers"
        )
    return float(value)


def compare(left: Any, operator: str, right: Any) -> bool:
    if operator is not None and not isinstance(operator, str):
        raise ActionError(
            f"IfElse: operator must be text, not {type(operator).__name__}",
            hint=f"use one of {', '.join(OPERATORS)}",
        )
    op = (operator or "eq").lower()
    if op == "eq":
        return bool(normalise(left) == normalise(right))
    if op == "ne":
        return bool(normalise(left) != normalise(right))
    if op in ("gt", "gte", "lt", "lte"):
        a, b = _number(left, "var"), _number(right, "value")
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    if op == "contains":
        return _contains(left, right)
    if op == "in":
        return _contains(right, left)
    raise ActionError(
        f"IfElse: unknown operator {operator!r}", hint=f"use one of {', '.join(OPERATORS)}"
    )


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return str(item) in container
    if isinstance(container, dict | list | tuple | set):
        return item in container or normalise(item) in [normalise(x) for x in container]
    return False


def next_node(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    return ControlDecision(str(params["next_node"]))


def if_else(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    taken = compare(params.get("var"), params.get("operator") or "eq", params.get("value"))
    return ControlDecision(str(params["then_node"] if taken else params["else_node"]))


def loop_until(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    """`loop_out` once var == value; else `loop_back`, at most `loop_tries` times.

    The counter is this node's, in this flow; it restarts whenever the loop is left, so a loop
    entered anew gets all its tries again (*fix* of the original).
    """
    if compare(params.get("var"), "eq", params.get("value")):
        return ControlDecision(str(params["loop_out"]), loop_count=0)
    tries = int(params.get("loop_tries") or 0)
    if tries and ctx.loop_count >= tries:
        fail = params.get("loop_fail_node") or params["loop_out"]
        return ControlDecision(str(fail), loop_count=0)
    return ControlDecision(str(params["loop_back"]), loop_count=ctx.loop_count + 1)


def by_map(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    routes = params.get("route_map") or {}
    key = params.get("key")
    for candidate in (key, str(key)):
        if isinstance(candidate, str | int | float | bool) and candidate in routes:
            return ControlDecision(str(routes[candidate]))
    default = params.get("default_node")
    if default is None:
        raise ActionError(
            f"ByMap: key {key!r} is not in route_map ({', '.join(map(str, routes))}) "
            "and there is no default_node"
        )
    return ControlDecision(str(default))


def for_each(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    """Visit `items` one by one: set `$flow{<item>}` (and `$flow{<index>}`) and go to `body`;
    the body's last node comes back here; after the last item, go to `done`."""
    items = params.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ActionError(
            f"ForEach: items must be a list, got {type(items).__name__}",
            hint="pass a list variable, e.g. GetElements' `elements`",
        )
    index = ctx.loop_count
    if index < len(items):
        writes = {
            str(params.get("item") or "item"): items[index],
            str(params.get("index") or "index"): index,
        }
        return ControlDecision(str(params["body"]), loop_count=index + 1, flow_writes=writes)
    return ControlDecision(str(params["done"]), loop_count=0)


def paginate(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    """ "Click next until it is gone": back to `loop_back` while `has_next` is true (e.g.
    ClickItem's `clicked` with no_error), at most `max_pages` pages (0 = no limit), then `done`."""
    more = normalise(params.get("has_next"))
    pages = ctx.loop_count + 1  # pages seen so far, this one included
    limit = int(params.get("max_pages") or 0)
    if more and (not limit or pages < limit):
        return ControlDecision(str(params["loop_back"]), loop_count=pages)
    return ControlDecision(str(params["done"]), loop_count=0)


def end_flow(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
    return ControlDecision(END)


PLUGIN = Plugin(
    name="builtin-controls",
    controls=[
        ControlSpec(
            "builtin.NextNode", next_node, required=("next_node",), node_params=("next_node",)
        ),
        ControlSpec(
            "builtin.IfElse",
            if_else,
            required=("then_node", "else_node"),
            node_params=("then_node", "else_node"),
            optional=("var", "value", "operator"),
        ),
        ControlSpec(
            "builtin.LoopUntil",
            loop_until,
            required=("loop_back", "loop_out"),
            node_params=("loop_back", "loop_out", "loop_fail_node"),
            optional=("var", "value", "loop_tries", "loop_fail_node"),
        ),
        ControlSpec(
            "builtin.ByMap",
            by_map,
            required=("route_map",),
            node_params=("default_node",),
            node_maps=("route_map",),
            optional=("key", "default_node"),
        ),
        ControlSpec("builtin.EndFlow", end_flow),
        ControlSpec(
            "builtin.ForEach",
            for_each,
            required=("body", "done"),
            node_params=("body", "done"),
            optional=("items", "item", "index"),
        ),
        ControlSpec(
            "builtin.Paginate",
            paginate,
            required=("loop_back", "done"),
            node_params=("loop_back", "done"),
            optional=("has_next", "max_pages"),
        ),
    ],
)
