"""One node's logic, free of I/O: resolve inputs, map outputs into variables, run the control.

Used by the Node Runner around the action, by `decide` when a SubFlow returns, and by `verify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weboter.runtime.core.catalog import ActionSpec, Catalog, ControlContext, ControlDecision
from weboter.runtime.core.references import REFERENCE, SCOPE_ALIASES, EnvSource, Resolver
from weboter.runtime.errors import ActionError, ReferenceError_
from weboter.schemas.workflow import Node, OutputSpec


def resolve_inputs(node: Node, spec: ActionSpec, resolver: Resolver) -> dict[str, Any]:
    """The action's inputs: defaults, then the node's inputs resolved; required ones checked."""
    inputs = dict(spec.defaults)
    for name, value in node.inputs.items():
        inputs[name] = (
            value if name in spec.raw_inputs else resolver.resolve(value, f"inputs.{name}")
        )
    missing = [name for name in spec.required if inputs.get(name) is None]
    if missing:
        raise ActionError(
            f"node {node.id!r}: missing required input(s) {', '.join(missing)} for {spec.name}",
            hint=f"add them under nodes[{node.id}].inputs",
        )
    return inputs


def convert(value: Any, cvt: str | None, where: str) -> Any:
    if cvt is None or value is None:
        return value
    try:
        if cvt == "int":
            return int(float(value)) if isinstance(value, str) and "." in value else int(value)
        if cvt == "float":
            return float(value)
        if cvt == "str":
            return str(value)
        if cvt == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1", "yes", "on")
            return bool(value)
    except (TypeError, ValueError) as exc:
        raise ActionError(f"{where}: cannot convert {value!r} to {cvt}") from exc
    raise ActionError(f"{where}: unknown conversion {cvt!r}", hint="cvt is int, float, str or bool")


@dataclass
class Writes:
    """Variables a node writes: into its flow's scope and into the global scope."""

    flow: dict[str, Any] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)


def map_outputs(node: Node, outputs: Mapping[str, Any], writes: Writes) -> Writes:
    """Copy outputs into variables as the node's `outputs[]` say."""
    for index, spec in enumerate(node.outputs):
        where = f"node {node.id!r} outputs[{index}]"
        if spec.src not in outputs:
            raise ActionError(
                f"{where}: the action has no output {spec.src!r} "
                f"(it returned: {', '.join(outputs) or 'nothing'})",
                hint="fix `src`, or check what the action returns with `weboter catalog`",
            )
        value = convert(outputs[spec.src], spec.cvt, where)
        _target(spec, writes)[spec.target] = value
    return writes


def _target(spec: OutputSpec, writes: Writes) -> dict[str, Any]:
    return writes.globals if spec.pos == "global" else writes.flow


def route(
    node: Node,
    catalog: Catalog,
    env: EnvSource,
    *,
    globals_: Mapping[str, Any],
    flow: Mapping[str, Any],
    prev: Mapping[str, Any],
    outputs: Mapping[str, Any],
    loop_count: int,
    secrets: dict[str, str],
) -> ControlDecision:
    """Run the node's control with its params resolved against the scopes after the action."""
    control = catalog.control(node.control)
    params = node.params
    if not all(map(_literal, params.values())):
        resolver = Resolver(env, globals_=globals_, flow=flow, prev=prev, output=outputs)
        params = {k: resolver.resolve(v, f"params.{k}") for k, v in params.items()}
        secrets.update(resolver.secrets)
    else:
        params = dict(params)  # a control may keep what it gets; the node stays as it is
    missing = [name for name in control.required if params.get(name) is None]
    if missing:
        raise ActionError(
            f"node {node.id!r}: control {control.name} needs param(s) {', '.join(missing)}",
            hint=f"add them under nodes[{node.id}].params",
        )
    decision = control.fn(params, ControlContext(node_id=node.id, loop_count=loop_count))
    if not isinstance(decision.next_node, str) or not decision.next_node:
        raise ActionError(f"node {node.id!r}: control {control.name} chose no next node")
    return decision


def _literal(value: Any) -> bool:
    """True for a param that resolves to itself: a number, a flag, nothing, or text with no
    reference and no secret marker in it (most controls' params: node ids, counts)."""
    if isinstance(value, str):
        return "$" not in value and "\x00" not in value
    return value is None or isinstance(value, (int, float))


def picker_target(dst: str) -> tuple[str, str]:
    """A VarPicker's `dst`: `$flow{x}` / `$global{x}` / a plain name (the flow scope)."""
    match = REFERENCE.fullmatch(dst)
    if match and SCOPE_ALIASES.get(match.group(1)) in ("flow", "global"):
        return SCOPE_ALIASES[match.group(1)], match.group(2)
    return "flow", dst


def pick(pickers: Any, resolver: Resolver, where: str) -> list[tuple[str, Any]]:
    """Evaluate VarPickers `{name, src, dst, value?}` -> [(dst, value)]."""
    if not isinstance(pickers, list):
        raise ActionError(f"{where} must be a list of {{src, dst}} pickers")
    picked: list[tuple[str, Any]] = []
    for index, picker in enumerate(pickers):
        at = f"{where}[{index}]"
        if not isinstance(picker, dict) or "dst" not in picker:
            raise ActionError(
                f"{at}: a picker needs `src` and `dst`", hint='{"src": "$flow{x}", "dst": "x"}'
            )
        value: Any = None
        if picker.get("src") is not None:
            try:
                value = resolver.resolve(picker["src"], f"{at}.src")
            except ReferenceError_:
                if "value" not in picker:
                    raise
        if value in (None, "") and "value" in picker:
            value = resolver.resolve(picker["value"], f"{at}.value")
        picked.append((str(picker["dst"]), value))
    return picked
