"""What a model may change in a run without a person.

A model's repair is data, never authority: it was made from the run's error and from page text
that the site controls (a page can ask the model, in plain words, to send a secret somewhere).
So a repair whose source is a `model` is applied without a person only when it cannot reach
anything new:

- `retry` (nothing changes), or
- a `patch` of the failing node that changes only how long it waits (`timeout`,
  `wait_until`, `wait`, `duration`: a number up to 600,000, or a page state), and, on a node
  that only reads or waits (ExtractData, GetElement, AssertText, WaitElement ...), where it
  looks (`locator`, `locators`, `scope`) — with values that hold no reference (`$env{...}`,
  `$global{...}` ...), no URL, no file and no way into another frame (`>>`, `internal:`).

A new locator on a node that acts (a click, a fill, a selection, an upload ...) is a new
action: pointed elsewhere by a page, it would click "Confirm transfer" or type a password into
another site's frame. So it, and anything else — another action or control, other inputs or
params, another node, a skip, a jump, variables, an abort — is held for a person: recorded as
RepairSuggested with the reason (`needs approval: ...`), which the run's state shows as
`waiting_for` until a person applies or rejects it. The write path refuses a model's repair that
needs approval (runtime/core/repair.py), whoever sends it.
"""

from __future__ import annotations

import re
from typing import Any

from weboter.runtime.core.flows import index_for
from weboter.schemas.context import RepairAction
from weboter.schemas.state import RunState

SURE_ENOUGH = 0.5  # a model's repair below this confidence waits for a person
LOOKING = frozenset({"locator", "locators", "scope"})  # where a node looks for its element
WAITING = frozenset({"timeout", "wait_until", "wait", "duration"})  # how long it waits
LONGEST_WAIT = 600_000  # a model's wait, at most (milliseconds or seconds: the action's unit)
# the builtin actions that only read the page or wait on it: a model may point them elsewhere
READING = frozenset(
    {
        "ExtractData",
        "ExtractList",
        "GetElement",
        "GetElements",
        "AssertText",
        "AssertVisible",
        "WaitElement",
    }
)
# a value that could reach something new: a reference (a secret, a variable), a URL, a file,
# or a selector that enters another frame
_REACHING = re.compile(
    r"\$[A-Za-z_]+\{|\x00|://|^\s*(?:file|data|javascript):|>>|internal:", re.IGNORECASE
)


def needs_approval(state: RunState, action: RepairAction) -> str:
    """Why a model's `action` must wait for a person ("needs approval: ..."), or "" when it
    may be applied alone (a retry; a patch of the failing node's locators, waits, timeouts)."""
    failing = state.current_node or ""
    if action.kind == "retry":
        return ""
    if action.kind == "skip":
        return f"needs approval: it skips node {failing!r} (its outputs are never made)"
    if action.kind == "jump":
        return f"needs approval: it moves the run to node {action.target_node!r}"
    if action.kind == "set_variables":
        names = ", ".join(sorted(action.variables)) or "none"
        return f"needs approval: it sets variables ({names})"
    if action.kind == "abort":
        return "needs approval: it ends the run"
    return _patch_reason(state, action, failing)


def _patch_reason(state: RunState, action: RepairAction, failing: str) -> str:
    target = action.node_id or failing
    if target != failing:
        return f"needs approval: it changes node {target!r}, not the failing node {failing!r}"
    node = index_for(state.workflow).node(state.frame.flow_path, target)
    changes = action.modifications
    if node is None or changes is None:
        return "needs approval: it names no change of the failing node"
    if changes.action is not None and _name(changes.action) != _name(node.action):
        return f"needs approval: it changes the action from {node.action} to {changes.action}"
    if changes.control is not None and _name(changes.control) != _name(node.control):
        return f"needs approval: it changes the control from {node.control} to {changes.control}"
    if changes.params is not None and changes.params != node.params:
        return "needs approval: it changes the control's params"
    if changes.inputs is None:
        return ""
    before, after = node.inputs, changes.inputs
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) == after.get(key):
            continue
        why = _input_reason(node.action, key, after)
        if why:
            return why
    return ""


def _input_reason(action: str, key: str, after: dict[str, Any]) -> str:
    """Why a model's change of the input `key` (to `after[key]`) needs a person ("": it may)."""
    if key in LOOKING and _name(action) not in READING:
        return (
            f"needs approval: it points {_name(action)} at another element ({key!r}): an "
            "action somewhere else is a new action"
        )
    if key not in LOOKING and key not in WAITING:
        return f"needs approval: it changes the input {key!r}"
    value = after.get(key)
    if key in WAITING and not _a_wait(value):
        return f"needs approval: its {key!r} is not a wait of at most {LONGEST_WAIT:,}"
    if _reaches(value):
        return f"needs approval: its {key!r} holds a reference, a URL, a file or another frame"
    return ""


def _a_wait(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value.isidentifier()):  # a page state
        return True
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= LONGEST_WAIT
    )


def _name(action: str) -> str:
    return action.removeprefix("builtin.")


def _reaches(value: Any) -> bool:
    if isinstance(value, str):
        return _REACHING.search(value) is not None
    if isinstance(value, dict):
        return any(_reaches(k) or _reaches(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_reaches(v) for v in value)
    return False


def held_back(state: RunState, action: RepairAction, confidence: float) -> str:
    """Why the AI gateway does not apply a model's repair on its own ("" when it does): too
    little confidence, or a change that needs approval."""
    if confidence < SURE_ENOUGH:
        return (
            f"confidence {confidence:.2f}, below {SURE_ENOUGH}: the model is not sure enough "
            f"of its {action.kind}"
        )
    return needs_approval(state, action)
