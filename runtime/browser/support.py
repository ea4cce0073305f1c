"""What the browser actions share: finding elements (with alternatives and a deadline),
fingerprints of what they act on, reading data out of elements, and turning Playwright's
errors into messages that name the node, the locator and the page."""

from __future__ import annotations

from typing import Any

from weboter.runtime.browser.locators import build, describe
from weboter.runtime.core.catalog import ActionContext, ActionSpec
from weboter.runtime.errors import ActionError, ElementNotFound

# Runs in the page: what a person, the healer (runtime/browser/heal.py) or a model needs to
# find the element again: who it is, what it says, where it sits.
FINGERPRINT_JS = """(el) => {
  const r = el.getBoundingClientRect();
  const attrs = {};
  for (const name of ["name", "type", "href", "src", "placeholder", "value", "data-testid",
                      "aria-label", "title", "alt", "for"]) {
    const v = el.getAttribute(name); if (v !== null) attrs[name] = v.slice(0, 200);
  }
  const text = (el.innerText || el.textContent || "").trim().replace(/\\s+/g, " ");
  const ancestors = [];
  for (let p = el.parentElement; p && ancestors.length < 4; p = p.parentElement) {
    ancestors.push(p.tagName.toLowerCase() + (p.id ? "#" + p.id : "")
      + Array.from(p.classList).map(c => "." + c).join(""));
  }
  const kin = el.parentElement
    ? Array.from(el.parentElement.children).filter(s => s.tagName === el.tagName) : [el];
  const words = (e) => e ? (e.innerText || e.textContent || "").trim().replace(/\\s+/g, " ") : "";
  const by = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
  const label = by.length ? by.map(id => words(document.getElementById(id))).join(" ")
    : (el.labels && el.labels.length ? words(el.labels[0]) : "");
  let near = "";  // the words just before it: a heading, a label, the item's name
  for (let s = el.previousElementSibling, i = 0; s && !near && i < 3;
       s = s.previousElementSibling, i++) near = words(s);
  for (let p = el.parentElement, i = 0; p && !near && i < 3; p = p.parentElement, i++) {
    for (let s = p.previousElementSibling, j = 0; s && !near && j < 2;
         s = s.previousElementSibling, j++) near = words(s);
  }
  return {tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || "",
          label: label.slice(0, 120), near: near.slice(0, 80),
          name: (el.getAttribute("aria-label") || el.getAttribute("title") || el.getAttribute("alt")
                 || text).slice(0, 120),
          id: el.id || "", classes: Array.from(el.classList), text: text.slice(0, 200),
          attributes: attrs, ancestors, index: kin.indexOf(el),
          box: {x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width),
                height: Math.round(r.height)}};
}"""


FIRST_FINGERPRINT_JS = f"(els) => els.length ? ({FINGERPRINT_JS})(els[0]) : null"


def timeout_ms(inputs: dict[str, Any], default: float = 5000) -> float:
    value = inputs.get("timeout")
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError) as exc:
        raise ActionError(f"timeout must be milliseconds, got {value!r}") from exc


async def page_url(ctx: ActionContext) -> str:
    try:
        page = await ctx.browser.page()
        return str(page.url)
    except Exception:
        return "(no page)"


async def scope_of(ctx: ActionContext, inputs: dict[str, Any]) -> Any:
    """Where to look: an element given as `scope`, else the current frame or page."""
    scope = inputs.get("scope")
    if scope not in (None, "", "page"):
        return ctx.browser.element(scope, "inputs.scope")
    return await ctx.browser.scope()


async def locate(
    ctx: ActionContext,
    inputs: dict[str, Any],
    *,
    wait: bool = True,
    key: str = "locator",
    record: bool = False,
) -> tuple[Any, Any]:
    """(locator, the spec that matched): the first of `locator` and then `locators` that
    matches something within `timeout` ms. ActionError naming all that were tried otherwise.
    `record`: also record the fingerprint of the (first) element matched — what the node acts
    on — taken by the same round trip that looks for it.

    Waiting happens in the browser (`wait_for` on all alternatives at once), so a node goes on
    the moment its element appears."""
    alternatives = inputs.get("locators") or []
    if inputs.get(key) is not None:
        alternatives = [inputs[key], *alternatives]
    if not alternatives:
        raise ActionError(
            f"node {ctx.node_id!r}: give `{key}` (or `locators`)",
            hint='e.g. locator: {"element": "#submit", "type": "css"}',
        )
    scope = await scope_of(ctx, inputs)
    built = [(build(scope, spec, f"inputs.{key}"), spec) for spec in alternatives]
    for locator, spec in built:  # already there? one quick look each (no waiting machinery)
        try:
            if await _there(ctx, locator, record):
                return locator, spec
        except Exception as exc:  # a malformed selector fails at once, not on time-out
            raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc
    if wait:
        anyone = built[0][0]
        for locator, _ in built[1:]:
            anyone = anyone.or_(locator)
        try:
            await anyone.first.wait_for(state="attached", timeout=timeout_ms(inputs))
        except Exception as exc:
            if "Timeout" not in type(exc).__name__:  # a malformed selector, a closed page
                raise browser_error(ctx, exc, alternatives[0], await page_url(ctx)) from exc
            tried = "; ".join(describe(spec) for _, spec in built)
            raise ElementNotFound(
                f"node {ctx.node_id!r}: no element matched {tried} within "
                f"{timeout_ms(inputs):.0f} ms on {await page_url(ctx)}",
                hint="check the locator against the saved DOM, or raise `timeout`",
            ) from None
        if len(built) == 1:
            if record:
                await fingerprint(ctx, built[0][0])
            return built[0]
    for locator, spec in built:
        try:
            if await _there(ctx, locator, record):
                return locator, spec
        except Exception as exc:
            raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc
    tried = "; ".join(describe(spec) for _, spec in built)
    raise ElementNotFound(
        f"node {ctx.node_id!r}: no element matches {tried} on {await page_url(ctx)}"
    )


async def _there(ctx: ActionContext, locator: Any, record: bool) -> bool:
    """Whether `locator` matches now; `record`: its first element's fingerprint is recorded,
    in the same round trip."""
    if record:
        found = await _recorded(ctx, locator)
        if found is not None:
            return bool(found)
    return bool(await locator.count() > 0)  # raises for a malformed selector


def browser_error(ctx: ActionContext, exc: BaseException, spec: Any, url: str) -> ActionError:
    """A Playwright error as a message a person can act on."""
    text = str(exc).split("\n")[0]
    where = f"node {ctx.node_id!r}: locator {describe(spec)} on {url}"
    if "strict mode violation" in text:
        return ActionError(
            f"{where} matched several elements: {text}",
            hint='make the locator more specific, or add "pos": "first"',
        )
    if "Timeout" in type(exc).__name__ or "Timeout" in text:
        return ActionError(
            f"{where} timed out: {text}",
            hint="the element exists but never became ready (visible, enabled, "
            "stable); check the saved screenshot",
        )
    if "closed" in text.lower():
        return ActionError(
            f"{where}: the page or browser was closed: {text}",
            hint="an earlier node may have closed the tab; see SwitchPage",
        )
    return ActionError(f"{where}: {text}")


async def fingerprint(ctx: ActionContext, locator: Any) -> dict[str, Any]:
    """Record what the action acted on (kept in the node's event); {} if nothing is there."""
    return await _recorded(ctx, locator.first) or {}


async def _recorded(ctx: ActionContext, locator: Any) -> dict[str, Any] | None:
    """The fingerprint of `locator`'s first element, recorded, in one round trip (a handle
    would take three: find, evaluate, dispose); {} when nothing matches; None when the page
    broke the script."""
    try:
        found: dict[str, Any] | None = await locator.evaluate_all(FIRST_FINGERPRINT_JS)
    except Exception:
        return None
    if not found:
        return {}
    ctx.elements.append(found)
    return found


READ_JS = """(els, source) => {
  if (!els.length) return null;
  const el = els[0];
  if (source === "html") return el.innerHTML;
  if (source === "value") return el.value;
  if (source.startsWith("attr:")) return el.getAttribute(source.slice(5));
  return (el.innerText || el.textContent || "").trim();
}"""


async def read_if_present(locator: Any, source: str) -> Any:
    """Like `read`, in one round trip, without waiting: None when nothing matches."""
    if source not in ("text", "html", "value") and not source.startswith("attr:"):
        raise ActionError(f"data_source {source!r} is not text, html, value or attr:NAME")
    return await locator.evaluate_all(READ_JS, source)


async def read(locator: Any, source: str, timeout: float) -> Any:
    """text / html / attr:NAME / value of the first element of `locator`."""
    target = locator.first
    if source in ("text", "", None):
        return (await target.inner_text(timeout=timeout)).strip()
    if source == "html":
        return await target.inner_html(timeout=timeout)
    if source == "value":
        return await target.input_value(timeout=timeout)
    if source.startswith("attr:"):
        return await target.get_attribute(source[5:], timeout=timeout)
    raise ActionError(f"data_source {source!r} is not text, html, value or attr:NAME")


def element_value(ctx: ActionContext, locator: Any, found: dict[str, Any]) -> dict[str, Any]:
    """An element as a variable: a reference for later nodes plus its fingerprint."""
    return {"$element": ctx.browser.remember(locator), **found}


def browser_action(
    name: str,
    fn: Any,
    required: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    *,
    reads_only: bool = False,
    keeps_storage: bool = False,
    **defaults: Any,
) -> ActionSpec:
    """The catalog entry of a builtin browser action (async, needs the run's session).
    `reads_only`: it only reads the page; `keeps_storage`: it changes the page but not cookies
    or storage. For both, the run's captured browser state is carried over instead of read
    again; re-driving a run's browser skips only `reads_only` actions."""
    return ActionSpec(
        f"builtin.{name}",
        fn,
        required=required,
        outputs=outputs,
        defaults=defaults,
        is_async=True,
        browser=True,
        reads_only=reads_only,
        keeps_storage=keeps_storage,
    )
