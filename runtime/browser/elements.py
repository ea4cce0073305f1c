"""Browser actions on elements: click, fill, wait, extract, get, select, press, hover, check,
upload, assert — the original Weboter names and inputs, plus what Automa/Selenium IDE users
expect. Timeouts are milliseconds (as in the original)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from weboter.runtime.browser.locators import build, normalise
from weboter.runtime.browser.support import (
    browser_action,
    browser_error,
    element_value,
    fingerprint,
    locate,
    page_url,
    read,
    read_if_present,
    scope_of,
    timeout_ms,
)
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.errors import ActionError
from weboter.runtime.store.workspace import PathRefused

Inputs = dict[str, Any]


# `timeout` is how long to wait for the element; once it is there, the action itself (a click
# and the navigation it starts) gets at least this long: on a busy machine a click measured
# over 1 s, and a short `timeout` then failed a click that had happened
ACT_MS = 5000.0


async def _act(ctx: ActionContext, inputs: Inputs, verb: str, **kwargs: Any) -> Any:
    """Find the element, record its fingerprint, call `locator.<verb>(**kwargs)`."""
    locator, spec = await locate(ctx, inputs, record=True)
    try:
        return await getattr(locator, verb)(timeout=max(timeout_ms(inputs), ACT_MS), **kwargs)
    except Exception as exc:
        raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc


async def click_item(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    try:
        await _act(ctx, inputs, "click", force=bool(inputs.get("force")))
    except ActionError:
        if inputs.get("no_error"):
            return {"clicked": False}
        raise
    return {"clicked": True}


async def fill_input(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    text = inputs.get("text")
    if isinstance(text, dict | list):  # `$env{shop}` names a mapping: never typed as text
        raise ActionError(
            f"node {ctx.node_id!r}: `text` is a {type(text).__name__}, not text",
            hint="name one value: $env{shop.password}, not $env{shop}",
        )
    await _act(ctx, inputs, "fill", value="" if text is None else str(text))
    return {}


async def wait_element(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """`element_found`: true or false — never raises for a missing element."""
    try:
        await locate(ctx, inputs, record=True)
    except ActionError:
        return {"element_found": False}
    return {"element_found": True}


async def extract_data(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    locator, spec = await locate(ctx, inputs, record=True)
    try:
        return {
            "data": await read(
                locator, str(inputs.get("data_source") or "text"), timeout_ms(inputs)
            )
        }
    except ActionError:
        raise
    except Exception as exc:
        raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc


async def get_element(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    locator, _ = await locate(ctx, inputs)
    first = locator.first
    return {"element": element_value(ctx, first, await fingerprint(ctx, first))}


async def get_elements(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Every element the locator matches (possibly none), for ForEach."""
    try:
        locator, _ = await locate(ctx, inputs, wait=inputs.get("wait", True) is not False)
    except ActionError:
        return {"elements": [], "count": 0}
    found = []
    for index in range(await locator.count()):
        item = locator.nth(index)
        found.append(element_value(ctx, item, await fingerprint(ctx, item)))
    return {"elements": found, "count": len(found)}


async def next_element(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    base = ctx.browser.element(inputs["element"], "inputs.element")
    sibling = base.locator("xpath=following-sibling::*[1]")
    if await sibling.count() == 0:
        return {"next_element": None}
    return {"next_element": element_value(ctx, sibling, await fingerprint(ctx, sibling))}


async def select_option(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    values = inputs.get("value")
    label = inputs.get("label")
    kwargs = {"label": label} if label is not None else {"value": values}
    selected = await _act(ctx, inputs, "select_option", **kwargs)
    return {"selected": selected}


async def press_key(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    key = str(inputs["key"])
    if inputs.get("locator") or inputs.get("locators"):
        await _act(ctx, inputs, "press", key=key)
    else:
        page = await ctx.browser.page()
        await page.keyboard.press(key)
    return {}


async def hover(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    await _act(ctx, inputs, "hover")
    return {}


async def check(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    checked = inputs.get("checked", True) not in (False, "false")
    await _act(ctx, inputs, "set_checked", checked=checked)
    return {"checked": checked}


async def upload_file(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Files from the workspace (or a folder a person allowed) only: an upload sends the file
    to the site."""
    files = inputs["files"]
    files = [files] if isinstance(files, str) else list(files)
    if ctx.workspace is None:
        raise ActionError("UploadFile reads files from the workspace, and this runner has none")
    try:
        found = [str(ctx.workspace.readable(str(f))) for f in files]
    except PathRefused as exc:
        raise PathRefused(f"node {ctx.node_id!r}: {exc.message}", hint=exc.hint) from exc
    await _act(ctx, inputs, "set_input_files", files=found)
    return {"files": files}


async def assert_text(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    locator, _ = await locate(ctx, inputs, record=True)
    actual = await read(locator, "text", timeout_ms(inputs))
    expected = str(inputs["text"])
    exact = bool(inputs.get("exact"))
    if (actual != expected) if exact else (expected not in actual):
        raise ActionError(
            f"node {ctx.node_id!r}: expected text {expected!r}{' exactly' if exact else ''}, "
            f"found {actual[:200]!r} on {await page_url(ctx)}"
        )
    return {"text": actual}


async def assert_visible(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    locator, spec = await locate(ctx, inputs, record=True)
    try:
        await locator.first.wait_for(state="visible", timeout=timeout_ms(inputs))
    except Exception as exc:
        raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc
    return {"visible": True}


async def extract_list(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Records from a repeated element: `fields: {name: {locator, data_source}}` per item."""
    fields = inputs.get("fields") or {}
    if not isinstance(fields, dict) or not fields:
        raise ActionError("ExtractList needs `fields`: {name: {locator: ..., data_source: ...}}")
    try:  # the first item's fingerprint: what the healer looks for again
        items, _ = await locate(ctx, inputs, record=True)
    except ActionError:
        if await _empty_list(ctx, inputs):
            return {"items": [], "count": 0}
        raise
    plain = _plain_fields(fields)
    if plain is not None:  # every field a simple css/xpath: the whole list in one round trip
        rows = await items.evaluate_all(LIST_JS, plain)
        return {"items": rows, "count": len(rows)}
    rows = []
    for index in range(await items.count()):
        item = items.nth(index)
        row: dict[str, Any] = {}
        for name, field in fields.items():
            spec = field.get("locator") if isinstance(field, dict) else field
            source = field.get("data_source", "text") if isinstance(field, dict) else "text"
            target = item if spec in (None, ".", "") else build(item, spec, f"fields.{name}")
            try:
                row[name] = await read_if_present(target, str(source))
            except ActionError:
                raise
            except Exception:
                row[name] = None
        rows.append(row)
    return {"items": rows, "count": len(rows)}


async def _empty_list(ctx: ActionContext, inputs: Inputs) -> bool:
    """No item found: an empty list (`[]`) when `allow_empty` is true, or when it is not
    given and the locator is a chain [list, items] whose list is on the page (found, but
    empty); a locator that finds nothing at all is an error, never a silent `[]`."""
    allowed = inputs.get("allow_empty")
    if allowed is not None:
        return bool(allowed)
    parts = normalise(inputs.get("locator"), "inputs.locator") if inputs.get("locator") else []
    if len(parts) < 2:
        return False
    container = build(await scope_of(ctx, inputs), parts[:-1], "inputs.locator")
    return bool(await container.count())


LIST_JS = """(items, fields) => items.map(item => {
  const row = {};
  for (const f of fields) {
    let el = item;
    if (f.kind === "css") el = item.querySelector(f.sel);
    else if (f.kind === "xpath") el = document.evaluate(  // like Playwright: inside the item
        f.sel.startsWith("/") ? "." + f.sel : f.sel, item, null,
        XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
    if (!el) { row[f.name] = null; continue; }
    if (f.source === "html") row[f.name] = el.innerHTML;
    else if (f.source === "value") row[f.name] = el.value;
    else if (f.source.startsWith("attr:")) row[f.name] = el.getAttribute(f.source.slice(5));
    else row[f.name] = (el.innerText || el.textContent || "").trim();
  }
  return row;
})"""


def _plain_fields(fields: dict[str, Any]) -> list[dict[str, str]] | None:
    """The fields as {name, kind, sel, source} when each is one css/xpath locator (or the item
    itself) read as text/html/value/attr; None when any needs Playwright's own locators."""
    plain = []
    for name, field in fields.items():
        spec = field.get("locator") if isinstance(field, dict) else field
        source = str(field.get("data_source", "text") if isinstance(field, dict) else "text")
        if source not in ("text", "html", "value") and not source.startswith("attr:"):
            return None
        if spec in (None, ".", ""):
            plain.append({"name": name, "kind": "self", "sel": "", "source": source})
            continue
        if isinstance(spec, list):
            if len(spec) != 1:
                return None
            spec = spec[0]
        if isinstance(spec, str):
            spec = {"element": spec, "type": "css"}
        if not isinstance(spec, dict) or spec.get("ext") or spec.get("pos") not in (None, "first"):
            return None
        kind = spec.get("type") or "css"
        if kind not in ("css", "xpath"):
            return None
        plain.append({"name": name, "kind": kind, "sel": str(spec["element"]), "source": source})
    return plain


_FIND = ("locator", "locators", "scope")  # what locate() reads (and `timeout`)


def _spec(
    name: str,
    fn: Any,
    required: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    *,
    optional: tuple[str, ...] = (),
    finds: bool = True,
    element: bool = True,
    **defaults: Any,
) -> ActionSpec:
    """An element action's catalog entry. `finds`: it finds its element with locate(), which
    reads `locator`, `locators`, `scope` and `timeout` (5000 ms by default), and (`element`)
    a node must say which; `optional`: the other inputs it reads that have no default."""
    if finds:
        defaults = {"timeout": 5000, **defaults}
    spec = browser_action(name, fn, required, outputs, **defaults)
    listed = (*(_FIND if finds else ()), *optional)
    unlisted = [n for n in dict.fromkeys(listed) if n not in spec.defaults and n not in required]
    return replace(spec, optional=tuple(unlisted), needs_element=finds and element)


PLUGIN = Plugin(
    name="browser-elements",
    actions=[
        _spec(
            "ClickItem", click_item, outputs=("clicked",), scope=None, no_error=False, force=False
        ),
        _spec("FillInput", fill_input, required=("text",), keeps_storage=True),
        _spec("WaitElement", wait_element, outputs=("element_found",), reads_only=True),
        _spec(
            "ExtractData",
            extract_data,
            outputs=("data",),
            data_source="text",
            scope=None,
            reads_only=True,
        ),
        _spec("GetElement", get_element, outputs=("element",), reads_only=True),
        _spec(
            "GetElements",
            get_elements,
            outputs=("elements", "count"),
            reads_only=True,
            optional=("wait",),
        ),
        _spec(
            "NextElement",
            next_element,
            required=("element",),
            outputs=("next_element",),
            reads_only=True,
            finds=False,
        ),
        _spec("SelectOption", select_option, outputs=("selected",), optional=("value", "label")),
        _spec("PressKey", press_key, required=("key",), element=False),  # else the page's
        _spec("Hover", hover),
        _spec("Check", check, outputs=("checked",), optional=("checked",)),
        _spec("UploadFile", upload_file, required=("files",), outputs=("files",)),
        _spec(
            "AssertText",
            assert_text,
            required=("text",),
            outputs=("text",),
            reads_only=True,
            optional=("exact",),
        ),
        _spec("AssertVisible", assert_visible, outputs=("visible",), reads_only=True),
        _spec(
            "ExtractList",
            extract_list,
            required=("fields",),
            outputs=("items", "count"),
            reads_only=True,
            optional=("allow_empty",),
        ),
    ],
)
