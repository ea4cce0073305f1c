"""How an agent's act is written down: the node it becomes (an id from the verb and the
element's words, unique in the session), and what the tool answers after it ran."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, NotRequired

import msgspec
from pydantic import Field
from typing_extensions import TypedDict

from weboter.runtime.actions import default_catalog
from weboter.runtime.browser.appeared import appeared
from weboter.runtime.core.untrusted import flat_values
from weboter.runtime.engine.handle import RunHandle
from weboter.runtime.errors import UsageError
from weboter.schemas.context import NodeModifications
from weboter.schemas.page import PageLooked
from weboter.schemas.state import RunState
from weboter.schemas.workflow import END, Node

# what a model reads about the acting tools' arguments (their JSON schema's descriptions)
Element = Annotated[str, Field(description="the element in words, as a person names it")]
Ref = Annotated[str, Field(description="the element's ref in the latest browser_snapshot: e12")]
Target = Annotated[str, Field(description="the same as ref (Playwright MCP 0.0.83's name)")]
Text = Annotated[str, Field(description="what to type; a secret as $env{NAME}, never in clear")]
Url = Annotated[str, Field(description="the address to go to, http(s)://…")]


class Acted(TypedDict):
    run_id: str
    node_id: str  # the node the act was recorded as
    status: str  # PAUSED (done: waiting for the next act) or ERROR (the act failed)
    url: str  # the page's URL after the act
    locator: dict[str, Any] | None  # how the element is found on a later run
    error: dict[str, Any] | None
    variables: dict[str, Any]  # the session's variables after the act ($env values never)
    tabs: NotRequired[list[dict[str, Any]]]  # browser_tabs list: {index, url, title, current}


def act_node(
    verb: str,
    what: str,
    action: str,
    inputs: dict[str, Any],
    outputs: list[dict[str, Any]],
    taken: set[str],
) -> Node:
    """The node an act becomes: `click_log_in` (`_2`, `_3`… when taken), going to `__end__`
    until the next act is linked from it."""
    base = "_".join(filter(None, [verb, slug(what)[:30]]))
    node_id, count = base, 1
    while node_id in taken:
        count += 1
        node_id = f"{base}_{count}"
    spec: dict[str, Any] = {
        "id": node_id,
        "action": action,
        "inputs": inputs,
        "outputs": outputs,
        "params": {"next_node": END},
    }
    if what:
        spec["name"] = what
    return msgspec.convert(spec, Node)


def action_is_data(node: Node) -> bool:
    """A node whose action uses no browser (nothing to check on a page)."""
    spec = default_catalog().find_action(node.action)
    return spec is None or not spec.browser


def acted(state: RunState, node: Node | None, pinned: Any) -> Acted:
    error = msgspec.to_builtins(state.error) if state.error is not None else None
    return {
        "run_id": state.run_id,
        "node_id": node.id if node is not None else "",
        "status": str(state.status),
        "url": state.browser.url if state.browser else "",
        "locator": pinned,
        "error": error,
        "variables": {k: v for k, v in state.globals.items() if not k.endswith("_page")},
    }


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# acts after which something may have appeared on a page that kept its URL
SHOWING = {"ClickItem", "PressKey", "Hover", "SelectOption"}


def expecting(
    handle: RunHandle,
    node: Node,
    before: str,
    state: RunState,
    variables: dict[str, Any],
    shown: dict[str, Any] | None = None,
) -> Node:
    """`node` with its post-condition: where the page went, if the act moved it, else the
    element that appeared (`shown`), if one did (a replay that ends up elsewhere, or on which
    it does not appear, stops in ERROR there, never goes on as if the act had worked)."""
    after = state.browser.url if state.browser else ""
    if not after or action_is_data(node):
        return node
    if after != before:
        inputs = {**node.inputs, "expect_url": templated(variables, after)}
    elif shown is not None:
        inputs = {**node.inputs, "expect_visible": shown}
    else:
        return node
    handle.patch(node.id, NodeModifications(inputs=inputs))
    return msgspec.structs.replace(node, inputs=inputs)


def shown_after(
    look: Callable[[], PageLooked], seen: tuple[str, str] | None, node: Node, url: str
) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """After an act that left the page at `url`, what appeared on it since the page was
    `seen` (url, ARIA text), and the page as seen now; nothing for an act of another kind
    or when the page was last seen elsewhere (a typed field is not what an act showed)."""
    if seen is None or seen[0] != url:
        return None, None
    if node.action not in SHOWING:
        return None, seen
    found = look()
    if found.error is not None:
        return None, None
    now = (found.url, found.aria)
    return appeared(seen[1], found.aria), now


def templated(variables: dict[str, Any], url: str) -> str:
    """`url` with a leading session variable's value written as the variable."""
    for name, value in variables.items():
        if isinstance(value, str) and value and url.startswith(value):
            return f"$global{{{name}}}" + url[len(value) :]
    return url


def element_ref(ref: str, target: str) -> str:
    """The element an act is on: `ref` (or `target`, Playwright MCP 0.0.83's name)."""
    if ref and target and ref != target:
        raise UsageError(f"ref {ref} and target {target} name two elements: give one")
    if not (ref or target):
        raise UsageError(
            "this act needs the element: its `ref` from the latest browser_snapshot",
            hint="call browser_snapshot, find the element's [ref=…], pass it as `ref`",
        )
    return ref or target


def as_reference(text: str, env: Mapping[str, Any]) -> str:
    """`text` that is one of the server's own `$env` values (its --env-file), typed in clear
    by an agent: the reference instead, so it is typed resolved and never recorded in clear."""
    for path, value in flat_values(env):
        if text == value:
            return f"$env{{{path}}}"
    return text
