"""Validation before anything runs: every finding with the path of its fault.

Errors: unknown action or control, missing required input or param, an input the action does
not read (a misspelt key), an element action without its locator, a next node that does not
exist, a start node that does not exist, duplicate node ids, a sub-flow that is not visible,
an unknown reference scope, a next node that is not text, a timeout that is not positive,
retries outside 1 .. MAX_ATTEMPTS or with a negative backoff, a host pattern in `allow_hosts`
that is not one (or `allow_hosts` on a sub-flow). Warnings: nodes no control
can reach (only when every next node is written literally; a next node given by a reference
can go anywhere).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from weboter.runtime.core.catalog import ActionSpec, Catalog
from weboter.runtime.core.flows import FlowIndex
from weboter.runtime.core.hosts import pattern_fault
from weboter.runtime.core.items import fans_out, written_faults
from weboter.runtime.core.references import REFERENCE, SCOPE_ALIASES, references_in, unclosed_in
from weboter.runtime.core.repair import check_policy
from weboter.runtime.errors import Finding
from weboter.schemas.workflow import TERMINALS, Flow, Node, Workflow

MAX_ATTEMPTS = 100  # retries of one node (the Node Runner also never does more)


def validate(workflow: Workflow, catalog: Catalog) -> list[Finding]:
    index = FlowIndex(workflow)
    findings: list[Finding] = []
    _flow(workflow, (workflow.id,), "", index, catalog, findings)
    return findings


def _flow(
    flow: Flow,
    path: tuple[str, ...],
    prefix: str,
    index: FlowIndex,
    catalog: Catalog,
    findings: list[Finding],
) -> None:
    def error(where: str, message: str) -> None:
        findings.append(Finding("error", f"{prefix}{where}", message))

    ids = [node.id for node in flow.nodes]
    known = set(ids)
    if not flow.nodes:
        error("nodes", f"flow {flow.id!r} has no nodes")
    for i, node_id in enumerate(ids):
        if node_id in ids[:i]:
            error(f"nodes[{i}].id", f"node id {node_id!r} is used twice in flow {flow.id!r}")
    if flow.start_node_id and flow.start_node_id not in known:
        error("start_node_id", f"start node {flow.start_node_id!r} is not a node of {flow.id!r}")
    if flow.allow_hosts and len(path) > 1:
        error("allow_hosts", "only the workflow itself says allow_hosts, not a sub-flow")
    for i, pattern in enumerate(flow.allow_hosts):
        fault = pattern_fault(pattern)
        if fault is not None:
            error(f"allow_hosts[{i}]", fault)

    edges: dict[str, set[str]] = {}
    dynamic = False
    for i, node in enumerate(flow.nodes):
        edges[node.id], loose = _node(node, f"nodes[{i}]", path, flow, known, index, catalog, error)
        dynamic = dynamic or loose
    if flow.start in known and not dynamic:
        _reachable(flow, edges, known, prefix, findings)

    sub_ids = [sub.id for sub in flow.sub_flows]
    for j, sub in enumerate(flow.sub_flows):
        if sub.id in sub_ids[:j]:
            error(f"sub_flows[{j}].id", f"sub-flow id {sub.id!r} is used twice")
        _flow(sub, (*path, sub.id), f"{prefix}sub_flows[{j}].", index, catalog, findings)


def _calls(
    node: Node,
    at: str,
    path: tuple[str, ...],
    flow: Flow,
    index: FlowIndex,
    error: Callable[[str, str], None],
) -> None:
    """A SubFlow or FanOut node: the sub-flow it names is visible; a FanOut's inputs as written."""
    for name, fault in written_faults(node) if fans_out(node) else []:
        error(f"{at}.inputs.{name}", f"node {node.id!r}: {fault}")
    flow_id = node.inputs.get("flow_id")
    literal = isinstance(flow_id, str) and not REFERENCE.search(flow_id)
    if literal and index.callable_from(path, str(flow_id)) is None:
        error(f"{at}.inputs.flow_id", f"no sub-flow {flow_id!r} is visible from flow {flow.id!r}")


def _node(
    node: Node,
    at: str,
    path: tuple[str, ...],
    flow: Flow,
    known: set[str],
    index: FlowIndex,
    catalog: Catalog,
    error: Callable[[str, str], None],
) -> tuple[set[str], bool]:
    """Check one node; (the next nodes it names, whether some are only known at run time)."""
    targets: set[str] = set()
    dynamic = False
    _limits(node, at, error)
    for scope, _ in references_in([node.inputs, node.params]):
        if scope not in SCOPE_ALIASES:
            error(at, f"node {node.id!r} uses unknown reference scope ${scope}{{}}")
    for text in unclosed_in([node.inputs, node.params]):
        shown = text if len(text) <= 60 else f"{text[:57]}..."
        error(at, f"node {node.id!r} has a reference that is never closed: {shown!r} (add the }})")
    action = catalog.find_action(node.action)
    if action is None:
        error(f"{at}.action", f"unknown action {node.action!r}")
    else:
        for name in action.required:
            if node.inputs.get(name) is None and action.defaults.get(name) is None:
                error(f"{at}.inputs.{name}", f"{action.name} needs input {name!r}")
        _inputs_known(node, action, at, error)
        if action.engine or fans_out(node):
            _calls(node, at, path, flow, index, error)
    control = catalog.find_control(node.control)
    if control is None:
        error(f"{at}.control", f"unknown control {node.control!r}")
        return targets, dynamic
    for name in control.required:
        if node.params.get(name) is None:
            error(f"{at}.params.{name}", f"{control.name} needs param {name!r}")
    named = [(f"{at}.params.{p}", node.params.get(p)) for p in control.node_params]
    for p in control.node_maps:
        mapping = node.params.get(p)
        if isinstance(mapping, dict):
            named += [(f"{at}.params.{p}.{k}", v) for k, v in mapping.items()]
        elif mapping is not None:
            dynamic = True
    for where, target in named:
        if target is None:
            continue
        if not isinstance(target, str):
            error(where, f"a next node is a node id (text), not {type(target).__name__}")
            continue
        if REFERENCE.search(target):
            dynamic = True
            continue
        if target not in known and target not in TERMINALS:
            error(where, f"next node {target!r} does not exist in flow {flow.id!r}")
        targets.add(target)
    return targets, dynamic


def _limits(node: Node, at: str, error: Callable[[str, str], None]) -> None:
    """A node's time, retry and on_error limits: positive, bounded, known policies."""
    if node.timeout is not None and node.timeout <= 0:
        error(f"{at}.timeout", f"timeout {node.timeout} is not a positive number of seconds")
    wrong = check_policy(node.on_error, f"node {node.id!r}")
    if wrong is not None:
        error(f"{at}.on_error", wrong)
    retry = node.retry
    if retry is None:
        return
    if not 1 <= retry.attempts <= MAX_ATTEMPTS:
        error(f"{at}.retry.attempts", f"attempts must be 1 .. {MAX_ATTEMPTS}, not {retry.attempts}")
    if retry.backoff < 0 or retry.factor < 0:
        error(f"{at}.retry", "backoff and factor cannot be negative")


def _reachable(
    flow: Flow, edges: dict[str, set[str]], known: set[str], prefix: str, findings: list[Finding]
) -> None:
    """A warning for every node the start node cannot reach."""
    start = flow.start or ""
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt in known and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for i, node in enumerate(flow.nodes):
        if node.id not in seen:
            findings.append(
                Finding(
                    "warning",
                    f"{prefix}nodes[{i}]",
                    f"node {node.id!r} cannot be reached from {start!r}",
                )
            )


POST_CONDITIONS = ("expect_url", "expect_visible")  # any browser node's (runtime/browser/expect.py)


def _inputs_known(
    node: Node, action: ActionSpec, at: str, error: Callable[[str, str], None]
) -> None:
    """Every input a node gives is one its action reads (a misspelt `locatr` is refused, not
    left unread); an element action is told its element."""
    known = {*action.required, *action.defaults, *action.optional}
    if action.browser:
        known.update(POST_CONDITIONS)
    for name in node.inputs:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            takes = (
                f"did you mean {close[0]!r}?"
                if close
                else f"it takes: {', '.join(sorted(known)) or 'none'}"
            )
            error(f"{at}.inputs.{name}", f"{action.name} has no input {name!r}: {takes}")
    if action.needs_element and not (node.inputs.get("locator") or node.inputs.get("locators")):
        error(
            f"{at}.inputs.locator", f"{action.name} needs input 'locator': the element it acts on"
        )
