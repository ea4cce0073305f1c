"""The catalog of actions and controls: builtins plus plugins from the `weboter.plugins`
entry-point group.

A plugin is a module-level `Plugin(name, actions=[...], controls=[...])`; register it in
your package's pyproject:

    [project.entry-points."weboter.plugins"]
    shop = "my_package.weboter_plugin:PLUGIN"

Names are `package.Name`. A name without a package means `builtin.Name`, or the one package
that has `Name` when no builtin does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from weboter.runtime.core.hosts import HostRule
from weboter.runtime.errors import CatalogError

if TYPE_CHECKING:  # the layers above: for types only, never imported at run time
    from pathlib import Path

    from weboter.runtime.browser.host import RunSession
    from weboter.runtime.store.artifacts import ArtifactStore
    from weboter.runtime.store.workspace import Workspace

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "weboter.plugins"


@dataclass
class ActionContext:
    """What an action may use besides its inputs. Writes become variable updates.

    Browser actions also get the run's browser `session` (runtime/browser/host.py: RunSession), the
    `artifacts` store, and record every element they act on in `elements` (fingerprints).
    """

    run_id: str
    node_id: str
    flow_vars: Mapping[str, Any]
    globals: Mapping[str, Any]
    flow_writes: dict[str, Any] = field(default_factory=dict)
    global_writes: dict[str, Any] = field(default_factory=dict)
    session: RunSession | None = None
    artifacts: ArtifactStore | None = None
    elements: list[dict[str, Any]] = field(default_factory=list)
    workspace: Workspace | None = None  # where files may be written
    hosts: HostRule | None = None  # the hosts the run may reach (None: any)

    def write(self, scope: str, name: str, value: Any) -> None:
        (self.global_writes if scope == "global" else self.flow_writes)[name] = value

    @property
    def browser(self) -> RunSession:
        """The run's browser session (for a browser action, the Node Runner gives one)."""
        if self.session is None:
            raise CatalogError("this action needs the run's browser, and none was given to it")
        return self.session

    @property
    def store(self) -> ArtifactStore:
        """Where the action keeps files it produces (screenshots, downloads)."""
        if self.artifacts is None:
            raise CatalogError("this action keeps files, and no artifact store was given to it")
        return self.artifacts

    def writable(self, path: str) -> Path:
        """The real path this action may write `path` to (inside the workspace or an allowed
        folder, never the log); an ActionError otherwise."""
        if self.workspace is None:
            raise CatalogError("this action writes files, and no workspace was given to it")
        return self.workspace.writable(path)


ActionFn = Callable[[ActionContext, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


@dataclass(frozen=True)
class ActionSpec:
    """An action: `fn(ctx, inputs) -> outputs` (sync, or async for I/O).

    Every input the action reads is listed once: in `required`, in `defaults` (optional, with
    the value it gets when the node does not give it) or in `optional` (optional, no value
    filled in; the action decides what its absence means)."""

    name: str
    fn: ActionFn
    required: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    is_async: bool = False
    raw_inputs: frozenset[str] = frozenset()  # inputs passed unresolved (SetData.key)
    engine: bool = False  # handled by the engine itself (SubFlow), not by a Node Runner
    browser: bool = False  # needs the run's browser session (ctx.session)
    reads_only: bool = False  # a browser action that only reads the page (re-driving skips it)
    keeps_storage: bool = False  # changes the page, but not cookies or storage (typing)
    doc: str = ""
    optional: tuple[str, ...] = ()  # optional inputs without an entry in `defaults`
    # ends on its own, soon (the builtins: bounded values, expressions and regexes). A
    # synchronous action that is not (a plugin's) runs on a worker thread under its node's
    # timeout, or the engine's node timeout; a bounded one runs inline, the fast way
    bounded: bool = False
    needs_element: bool = False  # acts on an element: a node must give `locator` or `locators`


@dataclass(frozen=True)
class ControlDecision:
    next_node: str
    loop_count: int | None = None  # the node's new loop counter, when the control keeps one
    flow_writes: Mapping[str, Any] = field(default_factory=dict)  # e.g. ForEach's item


@dataclass(frozen=True)
class ControlContext:
    node_id: str
    loop_count: int  # LoopUntil's counter for this node in this flow


ControlFn = Callable[[dict[str, Any], ControlContext], ControlDecision]


@dataclass(frozen=True)
class ControlSpec:
    """A control: `fn(params, ctx) -> ControlDecision`. Pure: it may run anywhere.
    Every param it reads is listed once, in `required` or in `optional`."""

    name: str
    fn: ControlFn
    required: tuple[str, ...] = ()
    node_params: tuple[str, ...] = ()  # params that name next nodes (validation, UI edges)
    node_maps: tuple[str, ...] = ()  # params that are {key: node id} maps (ByMap.route_map)
    doc: str = ""
    optional: tuple[str, ...] = ()  # params it reads that a node may leave out


@dataclass(frozen=True)
class Plugin:
    name: str
    actions: list[ActionSpec] = field(default_factory=list)
    controls: list[ControlSpec] = field(default_factory=list)


class Catalog:
    """Looks actions and controls up by name."""

    def __init__(self, plugins: list[Plugin]) -> None:
        self.actions: dict[str, ActionSpec] = {}
        self.controls: dict[str, ControlSpec] = {}
        for plugin in plugins:
            self.add(plugin)
        self._action_cache: dict[str, ActionSpec | None] = {}
        self._control_cache: dict[str, ControlSpec | None] = {}

    def add(self, plugin: Plugin) -> None:
        for action in plugin.actions:
            self.actions[action.name] = action
        for control in plugin.controls:
            self.controls[control.name] = control
        self._action_cache = {}
        self._control_cache = {}

    def find_action(self, name: str) -> ActionSpec | None:
        if name not in self._action_cache:
            self._action_cache[name] = _find(self.actions, name)
        return self._action_cache[name]

    def find_control(self, name: str) -> ControlSpec | None:
        if name not in self._control_cache:
            self._control_cache[name] = _find(self.controls, name)
        return self._control_cache[name]

    def action(self, name: str) -> ActionSpec:
        found = self.find_action(name)
        if found is None:
            raise CatalogError(f"unknown action {name!r}", hint=_suggest(name, self.actions))
        return found

    def described(self) -> dict[str, list[dict[str, Any]]]:
        """Every action and control as `describe` gives them: `weboter catalog`, MCP, the UI."""
        return {
            "actions": [describe(a) for a in self.actions.values()],
            "controls": [describe(c) for c in self.controls.values()],
        }

    def control(self, name: str) -> ControlSpec:
        found = self.find_control(name)
        if found is None:
            raise CatalogError(f"unknown control {name!r}", hint=_suggest(name, self.controls))
        return found


def describe(spec: ActionSpec | ControlSpec) -> dict[str, Any]:
    """A catalog entry as plain data (`weboter catalog`): every input or param it reads, as
    `required` and `optional`; an action's optional inputs with a default are also in
    `defaults`."""
    if isinstance(spec, ControlSpec):
        return {
            "name": spec.name,
            "doc": spec.doc,
            "required": list(spec.required),
            "optional": list(spec.optional),
            "next_nodes": list(spec.node_params),
        }
    return {
        "name": spec.name,
        "doc": spec.doc,
        "required": list(spec.required),
        "optional": list(dict.fromkeys([*spec.optional, *spec.defaults])),
        "defaults": dict(spec.defaults),
        "outputs": list(spec.outputs),
    }


def describe_inputs(entry: Mapping[str, Any]) -> str:
    """`required: a, b  optional: c, d=5` for an entry of `describe`."""
    defaults = entry.get("defaults", {})
    optional = [
        name if defaults.get(name) is None else f"{name}={json.dumps(defaults[name], default=str)}"
        for name in entry["optional"]
    ]
    required = ", ".join(entry["required"]) or "-"
    return f"required: {required}  optional: {', '.join(optional) or '-'}"


def _find(table: Mapping[str, Any], name: str) -> Any:
    if name in table:
        return table[name]
    if "." not in name:
        if f"builtin.{name}" in table:
            return table[f"builtin.{name}"]
        matches = [v for k, v in table.items() if k.rsplit(".", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
    return None


def _suggest(name: str, table: Mapping[str, Any]) -> str:
    import difflib  # noqa: PLC0415 - only on the error path

    short = {k.rsplit(".", 1)[-1]: k for k in table}
    close = difflib.get_close_matches(name.rsplit(".", 1)[-1], list(short), n=3)
    if close:
        return "did you mean " + " or ".join(short[c] for c in close) + "?"
    return "`weboter catalog` lists every action and control"


def load_plugins() -> list[Plugin]:
    """Plugins registered through entry points. A broken one is skipped with a warning."""
    found: list[Plugin] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = ep.load()
        except Exception as exc:
            log.warning("plugin %s (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if not isinstance(plugin, Plugin):
            log.warning("plugin %s (%s) is not a weboter Plugin; skipped", ep.name, ep.value)
            continue
        found.append(plugin)
    return found
