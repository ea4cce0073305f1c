"""Self-healing locators (`on_error: heal`): when a node's locator finds nothing, the page's
candidates are scored against the fingerprints of the elements this node acted on in its
earlier successful runs (runtime/browser/likeness.py); a unique match above the threshold
gets a selector, and the action runs again with it. Only its success counts — the action
done, the node's post-condition holding after it, a read finding something: the node's result
then carries what was healed (`Healed`), which the State Manager records as RepairSuggested,
RepairApplied (source `healer`) and NodePatched — so later runs of the node, and
`weboter heal RUN --write`, use the new locator. No model and no network are involved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from weboter.runtime.browser.expect import check
from weboter.runtime.browser.likeness import (
    THRESHOLD,
    Choice,
    NotHealed,
    choose,
    describe,
    says_the_same,
    score,
)
from weboter.runtime.browser.locators import build
from weboter.runtime.browser.support import FINGERPRINT_JS, timeout_ms
from weboter.runtime.core.catalog import ActionContext, ActionSpec
from weboter.runtime.errors import ElementNotFound, PostConditionFailed, WeboterError
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import Healed
from weboter.schemas.messages import ExecuteNode

MANY = ("builtin.ExtractList", "builtin.GetElements")  # a locator that finds a family
CANDIDATES = 3000  # elements of the page scored at most

Call = Callable[[ActionSpec, ActionContext, dict[str, Any]], Awaitable[dict[str, Any]]]

# Runs in the page: every element of the recorded tag (and those showing the recorded text),
# each with its fingerprint and the selectors that would find it (and how many they find).
CANDIDATES_JS = (
    """([tag, text, limit]) => {
  const q = (s) => { try { return document.querySelectorAll(s).length; } catch (e) { return 0; } };
  const finger = """
    + FINGERPRINT_JS
    + """;
  const selectors = (el) => {
    const tagName = el.tagName.toLowerCase(), out = [];
    const add = (s) => out.push([s, q(s)]);
    if (el.id) add("#" + CSS.escape(el.id));
    const tid = el.getAttribute("data-testid");
    if (tid) add('[data-testid="' + CSS.escape(tid) + '"]');
    const nm = el.getAttribute("name");
    if (nm) add(tagName + '[name="' + CSS.escape(nm) + '"]');
    if (el.classList.length) {
      add(tagName + Array.from(el.classList).map(c => "." + CSS.escape(c)).join(""));
    }
    const path = [];
    for (let e = el; e && e.tagName && e.tagName.toLowerCase() !== "html"; e = e.parentElement) {
      const kin = e.parentElement
        ? Array.from(e.parentElement.children).filter(s => s.tagName === e.tagName) : [e];
      path.unshift(e.tagName.toLowerCase() + ":nth-of-type(" + (kin.indexOf(e) + 1) + ")");
    }
    add(path.join(" > "));
    return out;
  };
  const seen = new Set(), found = [];
  const take = (el) => {
    if (!seen.has(el) && found.length < limit) { seen.add(el); found.push(el); }
  };
  document.querySelectorAll(tag || "*").forEach(take);
  if (text) {
    for (const el of document.querySelectorAll("body *")) {
      if (found.length >= limit) break;
      const t = (el.innerText || "").trim().replace(/\\s+/g, " ");
      if (t === text) take(el);
    }
  }
  return found.map(el => ({...finger(el), selectors: selectors(el)}));
}"""
)


async def acting(
    call: Call,
    spec: ActionSpec,
    ctx: ActionContext,
    inputs: dict[str, Any],
    task: ExecuteNode,
    db_path: Path | None,
) -> tuple[dict[str, Any], dict[str, Any], Healed | None]:
    """(inputs, outputs, what was healed): the action — with the locator the workflow's
    repair memory holds for it, if a heal or repair of an earlier run replaced the one it is
    written with; when its locator finds nothing and the node heals, healed and run again.
    ElementNotFound says why it was not healed."""
    recalled = await _recalled(call, spec, ctx, inputs, task, db_path)
    if recalled is not None:
        return recalled
    try:
        return inputs, await call(spec, ctx, inputs), None
    except ElementNotFound as exc:
        if not task.heal or not spec.browser:
            raise
        try:
            return await _healed(call, spec, ctx, inputs, task, db_path)
        except NotHealed as refused:
            raise ElementNotFound(
                f"{exc.message}; not healed: {refused.message}",
                hint="the run waits in ERROR: patch the node's locator, then weboter retry RUN",
                waiting_for=f"not healed: {refused.message}",
            ) from exc


async def _healed(
    call: Call,
    spec: ActionSpec,
    ctx: ActionContext,
    inputs: dict[str, Any],
    task: ExecuteNode,
    db_path: Path | None,
) -> tuple[dict[str, Any], dict[str, Any], Healed]:
    if inputs.get("scope") not in (None, "", "page"):
        raise NotHealed("the node looks inside a `scope` element; healing looks at the page")
    # a worker has no log: the engine sent the fingerprints with the node
    recorded = task.fingerprints if db_path is None else fingerprints(db_path, task)
    tag = str(recorded[0].get("tag") or "") if recorded else ""
    text = str(recorded[0].get("text") or "") if recorded else ""
    scope = await ctx.browser.scope()
    candidates = await scope.evaluate(CANDIDATES_JS, [tag, text, CANDIDATES])
    chosen = choose(recorded, candidates, many=spec.name in MANY)
    locator = {"element": chosen.selector, "type": "css"}
    tried = {k: v for k, v in inputs.items() if k != "locators"} | {"locator": locator}
    ctx.elements.clear()
    outputs = await call(spec, ctx, tried)  # the heal counts only if the action succeeds,
    await _held(ctx, spec, tried, outputs, chosen)  # and what must hold after it holds
    raw = {k: v for k, v in task.node.inputs.items() if k != "locators"} | {"locator": locator}
    reason = (
        f"the locator found nothing; {chosen.selector} scored {chosen.score:.2f} against "
        f"{len(recorded)} fingerprint(s) of earlier runs (next best {chosen.runner_up:.2f})"
    )
    return tried, outputs, Healed(inputs=raw, locator=locator, score=chosen.score, reason=reason)


async def _recalled(
    call: Call,
    spec: ActionSpec,
    ctx: ActionContext,
    inputs: dict[str, Any],
    task: ExecuteNode,
    db_path: Path | None,
) -> tuple[dict[str, Any], dict[str, Any], Healed] | None:
    """The action with the locator an earlier run of the workflow healed (or repaired) this
    node's written locator to — tried first, so a known redesign costs no wait; None when
    there is none, or it no longer works (then the node goes on as written)."""
    written = task.node.inputs.get("locator")
    if not task.heal or not spec.browser or db_path is None or not isinstance(written, dict):
        return None
    if task.node.inputs.get("locators"):
        return None
    memory = _memory(db_path, task)
    if memory is None or memory[0] != task.node.inputs.get("locator"):
        return None
    if not isinstance(memory[1], dict):  # a heal's locator is a mapping (Healed.locator)
        return None
    if ":nth-of-type" in str(memory[1].get("element", "")):  # a position: not tried blind
        return None
    was, now, found_in = memory
    tried = {**inputs, "locator": now}
    if not await same_element(ctx, tried, _prints(db_path, task)):
        return None  # another element now answers to it: as written, then healing as usual
    ctx.elements.clear()
    try:
        outputs = await call(
            spec, ctx, {**tried, "timeout": min(float(inputs.get("timeout") or 5000), 1000)}
        )
    except ElementNotFound:  # the page changed again: as written, then healing as usual
        ctx.elements.clear()
        return None
    await check(ctx.browser, tried)  # it acted: what must hold after it holds, or the node fails
    raw = {**task.node.inputs, "locator": now}
    reason = f"remembered: run {found_in} replaced this node's locator {was} with {now}"
    return tried, outputs, Healed(inputs=raw, locator=now, score=1.0, reason=reason)


async def same_element(
    ctx: ActionContext, inputs: dict[str, Any], recorded: list[dict[str, Any]]
) -> bool:
    """Whether the element the remembered locator finds now is the one this node acted on
    before: it says the same and is alike enough to its recorded fingerprints — checked
    before it is acted on, so a locator that now finds another element never clicks it."""
    if not recorded:
        return False
    scope = await ctx.browser.scope()
    try:
        found = build(scope, inputs["locator"], "inputs.locator").first
        await found.wait_for(state="attached", timeout=min(timeout_ms(inputs), 1000))
        print_ = await found.evaluate(f"(el) => ({FINGERPRINT_JS})(el)")
    except Exception:  # not there (or the page changed under it): the node as written
        return False
    alike = max(score(r, print_) for r in recorded)
    return alike >= THRESHOLD and any(says_the_same(r, print_) for r in recorded)


Key = tuple[str, str, tuple[str, ...], str]  # log, run, flow path, node
_MEMORY: dict[Key, Any] = {}  # the repair memory of a node, per run
_PRINTS: dict[Key, Any] = {}  # its recorded fingerprints, per run
_KEPT = 2000


def _prints(db_path: Path, task: ExecuteNode) -> list[dict[str, Any]]:
    """The node's recorded fingerprints, read once per run and node ([] if the log is busy)."""
    found = _once(_PRINTS, db_path, task, lambda: fingerprints(db_path, task))
    return [] if found is None else list(found)


def _memory(db_path: Path, task: ExecuteNode) -> Any:
    """The workflow's repair memory for the task's node, read from the log once per run and
    node (a node in a loop runs many times; the per-node path stays one dict lookup)."""

    def read() -> Any:
        with Reader(db_path) as log:
            workflow = task.flow_path[0] if task.flow_path else ""
            return log.remembered(workflow, task.flow_path, task.node.id)

    return _once(_MEMORY, db_path, task, read)


def _once(cache: dict[Key, Any], db_path: Path, task: ExecuteNode, read: Any) -> Any:
    """`read()` for the task's run and node, kept in `cache` (the oldest of _KEPT dropped);
    None, not kept, when the log cannot be read for a moment (the node goes as written)."""
    key = (str(db_path), task.run_id, tuple(task.flow_path), task.node.id)
    if key not in cache:
        try:
            cache[key] = read()
        except WeboterError:
            return None
        if len(cache) > _KEPT:
            del cache[next(iter(cache))]
    return cache[key]


async def _held(
    ctx: ActionContext, spec: ActionSpec, inputs: dict[str, Any], outputs: Any, chosen: Choice
) -> None:
    """NotHealed unless the healed action did what the node is there for: its post-condition
    (expect_url, expect_visible) holds, and a read found something to read — a wrong element
    that happens to take a click is never a silent heal."""
    found = f"{describe(chosen.candidate)} ({chosen.score:.2f}, next best {chosen.runner_up:.2f})"
    try:
        await check(ctx.browser, inputs)
    except PostConditionFailed as failed:
        raise NotHealed(f"{found} took the action, but then {failed.message}") from failed
    empty = isinstance(outputs, dict) and all(v in (None, "", [], {}, 0) for v in outputs.values())
    if spec.reads_only and empty:
        raise NotHealed(f"{found} reads nothing: not the element that was read before")


def fingerprints(db_path: Path, task: ExecuteNode) -> list[dict[str, Any]]:
    """The elements this node (same workflow, same flow, same id) acted on when it succeeded
    in the workflow's most recent runs, newest first (read through the store's read path)."""
    workflow_id = task.flow_path[0] if task.flow_path else ""  # the run's top flow
    with Reader(db_path) as log:
        return log.fingerprints(workflow_id, task.flow_path, task.node.id)
