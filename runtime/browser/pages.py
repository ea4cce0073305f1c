"""Browser actions on pages and tabs: open, navigate, tabs, frames, page-side JavaScript,
screenshots, scrolling, downloads."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from weboter.runtime.browser.locators import build
from weboter.runtime.browser.support import (
    browser_action,
    browser_error,
    locate,
    page_url,
    timeout_ms,
)
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.core.hosts import WIDEN
from weboter.runtime.errors import ActionError

Inputs = dict[str, Any]


async def _page_info(page: Any, index: int) -> dict[str, Any]:
    try:  # in the page's own world: the snapshot taken after this node reads it there too
        title = await page.evaluate("document.title")
    except Exception:
        title = ""
    return {"url": page.url, "title": title, "index": index}


async def open_browser(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """The run's browser context exists from here on (one Chromium per runner)."""
    kind = str(inputs.get("browser_type") or "chromium")
    if kind != "chromium":
        raise ActionError(f"browser_type {kind!r} is not available; Weboter drives chromium")
    await ctx.browser.page()
    return {"browser": {"browser_type": kind, "headless": True}}


async def _goto(ctx: ActionContext, page: Any, inputs: Inputs) -> Any:
    """Navigate `page` to `inputs.url`; errors name the node, the URL and the reason (a URL
    out of the run's reach is refused before the browser goes there)."""
    url = str(inputs["url"])
    session = ctx.browser
    try:
        session.reach(url)
    except ActionError as exc:
        raise ActionError(f"node {ctx.node_id!r}: {exc.message}", hint=exc.hint) from exc
    refused = len(session.refused)
    try:
        response = await page.goto(
            url, timeout=timeout_ms(inputs, 30000), wait_until=inputs.get("wait_until") or "load"
        )
    except Exception as exc:
        text = str(exc).split("\n")[0]
        _out_of_reach(ctx, url, session.refused[refused:])  # the likely cause
        raise ActionError(
            f"node {ctx.node_id!r}: opening {url} failed: {text}",
            hint="check the URL and that the site is up",
        ) from exc
    if response is not None and response.status == 403:  # the page itself, or a hop to it?
        landed = f"{response.url}: "  # the gate keeps "URL: why" of what it refused
        _out_of_reach(ctx, url, [r for r in session.refused[refused:] if r.startswith(landed)])
    if response is not None and response.status >= 400 and not inputs.get("allow_error_status"):
        raise ActionError(
            f"node {ctx.node_id!r}: {url} answered HTTP {response.status}",
            hint="set allow_error_status: true to go on anyway",
        )
    return response


def _out_of_reach(ctx: ActionContext, url: str, refused: list[str]) -> None:
    """The navigation was sent somewhere the run may not reach (a redirect, say)."""
    if refused:
        raise ActionError(
            f"node {ctx.node_id!r}: opening {url} was refused: {refused[0]}",
            hint=WIDEN,
        )


async def open_page(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    session = ctx.browser
    page = await session.page()
    session.frame = None
    response = await _goto(ctx, page, inputs)
    info = await _page_info(page, session.pages.index(page))
    return {"page": info, "status": response.status if response else None}


async def go_back(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    page = await ctx.browser.page()
    await page.go_back(timeout=timeout_ms(inputs, 30000))
    return {"url": page.url}


async def reload(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    page = await ctx.browser.page()
    await page.reload(timeout=timeout_ms(inputs, 30000))
    return {"url": page.url}


async def new_page(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    session = ctx.browser
    page = await session.context.new_page()
    session.pages.append(page)
    session.current, session.frame = page, None
    if inputs.get("url"):
        await _goto(ctx, page, inputs)
    return {"page": await _page_info(page, len(session.pages) - 1)}


async def switch_page(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Make another tab current: by `index`, or the first whose URL contains `url`."""
    session = ctx.browser
    if not session.borrowed:  # its tabs, those a page opened included; not its borrowers'
        theirs = {id(p) for b in session.borrowers for p in b.pages}  # (a FanOut's items)
        session.pages = [p for p in session.context.pages if id(p) not in theirs]
    target = None
    if inputs.get("index") is not None:
        index = int(inputs["index"])
        if not -len(session.pages) <= index < len(session.pages):
            raise ActionError(
                f"node {ctx.node_id!r}: there is no tab {index} (the run has {len(session.pages)})"
            )
        target = session.pages[index]
    elif inputs.get("url"):
        target = next((p for p in session.pages if str(inputs["url"]) in p.url), None)
        if target is None:
            urls = ", ".join(p.url for p in session.pages)
            raise ActionError(
                f"node {ctx.node_id!r}: no tab's URL contains {inputs['url']!r} (tabs: {urls})"
            )
    else:
        raise ActionError("SwitchPage needs `index` or `url`")
    session.current, session.frame = target, None
    await target.bring_to_front()
    return {"page": await _page_info(target, session.pages.index(target))}


async def close_page(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    session = ctx.browser
    page = await session.page()
    await page.close()
    session.pages[:] = [p for p in session.pages if not p.is_closed()]  # the same list: the
    session.current = session.pages[-1] if session.pages else None  # traffic filter holds it
    session.frame = None
    return {"pages_left": len(session.pages)}


async def switch_frame(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Element actions after this look inside the frame matched by `locator` (an iframe);
    without a locator, back to the page."""
    session = ctx.browser
    page = await session.page()
    if not inputs.get("locator"):
        session.frame = None
        return {"frame": None}
    session.frame = None
    scope = build(page, inputs["locator"], "inputs.locator")
    session.frame = scope.first.content_frame
    return {"frame": str(inputs["locator"])}


async def evaluate_js(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Run `script` in the page (never in Python); `arg` is passed to it."""
    page = await ctx.browser.page()
    try:
        result = await page.evaluate(str(inputs["script"]), inputs.get("arg"))
    except Exception as exc:
        raise ActionError(
            f"node {ctx.node_id!r}: script failed in the page: {str(exc).splitlines()[0]}"
        ) from exc
    return {"result": result}


async def screenshot(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    page = await ctx.browser.page()
    if inputs.get("locator"):
        locator, spec = await locate(ctx, inputs)
        try:
            data = await locator.first.screenshot(timeout=timeout_ms(inputs))
        except Exception as exc:
            raise browser_error(ctx, exc, spec, page.url) from exc
    else:
        data = await page.screenshot(full_page=bool(inputs.get("full_page")))
    address = ctx.store.put(data, ".png")
    return {"artifact": address, "path": str(ctx.store.path(address))}


async def scroll(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Scroll by `amount` px (down; negative: up), to `to` (top/bottom), or to the bottom again
    and again `until_no_new` items match that locator (infinite lists), `max_rounds` at most."""
    page = await ctx.browser.page()
    until = inputs.get("until_no_new")
    if until:
        items = build(await ctx.browser.scope(), until, "inputs.until_no_new")
        count, rounds = await items.count(), 0
        for rounds in range(1, int(inputs.get("max_rounds") or 50) + 1):  # noqa: B007
            await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            await asyncio.sleep(float(inputs.get("pause") or 0.3))
            now = await items.count()
            if now <= count:
                break
            count = now
        return {"count": count, "rounds": rounds}
    if inputs.get("to") in ("bottom", "top"):
        y = "document.body.scrollHeight" if inputs["to"] == "bottom" else "0"
        await page.evaluate(f"window.scrollTo(0, {y})")
    else:
        await page.mouse.wheel(0, float(inputs.get("amount") or 600))
    return {"y": await page.evaluate("window.scrollY")}


async def download(ctx: ActionContext, inputs: Inputs) -> dict[str, Any]:
    """Click `locator`, wait for the download it starts, keep the file as an artifact."""
    page = await ctx.browser.page()
    locator, spec = await locate(ctx, inputs)
    try:
        async with page.expect_download(timeout=timeout_ms(inputs, 30000)) as info:
            await locator.first.click(timeout=timeout_ms(inputs))
        done = await info.value
        path = await done.path()
    except Exception as exc:
        raise browser_error(ctx, exc, spec, await page_url(ctx)) from exc
    data = await asyncio.to_thread(Path(path).read_bytes)
    suffix = (
        "." + done.suggested_filename.rsplit(".", 1)[-1] if "." in done.suggested_filename else ""
    )
    address = ctx.store.put(data, suffix)
    return {
        "artifact": address,
        "filename": done.suggested_filename,
        "path": str(ctx.store.path(address)),
        "bytes": len(data),
    }


_NAVIGATE = ("timeout", "wait_until", "allow_error_status")  # what _goto reads besides url
_FIND = ("locator", "locators", "scope", "timeout")  # what locate() reads


def _spec(
    name: str,
    fn: Any,
    required: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    *,
    optional: tuple[str, ...] = (),
    **defaults: Any,
) -> ActionSpec:
    """A page action's catalog entry; `optional`: the inputs it reads that have no default."""
    spec = browser_action(name, fn, required, outputs, **defaults)
    return replace(spec, optional=tuple(n for n in optional if n not in spec.defaults))


PLUGIN = Plugin(
    name="browser-pages",
    actions=[
        _spec(
            "OpenBrowser",
            open_browser,
            outputs=("browser",),
            browser_type="chromium",
            headless=True,
        ),
        _spec(
            "OpenPage", open_page, required=("url",), outputs=("page", "status"), optional=_NAVIGATE
        ),
        _spec("GoBack", go_back, outputs=("url",), optional=("timeout",)),
        _spec("Reload", reload, outputs=("url",), optional=("timeout",)),
        _spec("NewPage", new_page, outputs=("page",), optional=("url", *_NAVIGATE)),
        _spec(
            "SwitchPage",
            switch_page,
            outputs=("page",),
            keeps_storage=True,
            optional=("index", "url"),
        ),
        _spec("ClosePage", close_page, outputs=("pages_left",), keeps_storage=True),
        _spec(
            "SwitchFrame",
            switch_frame,
            outputs=("frame",),
            keeps_storage=True,
            optional=("locator",),
        ),
        _spec(
            "EvaluateJS", evaluate_js, required=("script",), outputs=("result",), optional=("arg",)
        ),
        _spec(
            "Screenshot",
            screenshot,
            outputs=("artifact", "path"),
            full_page=False,
            reads_only=True,
            optional=_FIND,
        ),
        _spec(
            "Scroll",
            scroll,
            outputs=("y", "count", "rounds"),
            optional=("amount", "to", "until_no_new", "max_rounds", "pause"),
        ),
        replace(  # it clicks an element to start the download: a node must say which
            _spec(
                "Download",
                download,
                outputs=("artifact", "filename", "path", "bytes"),
                optional=_FIND,
            ),
            needs_element=True,
        ),
    ],
)
