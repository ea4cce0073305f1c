"""What one long-lived tab costs in Chromium renderers, page after page (docs/performance.md,
"Many runs at once"): the bench shop's product pages opened one after another in one tab,
in Weboter's BrowserHost with nothing else done, and doing what a run does after each browser node
(the page's title, an element's fingerprint, a list read, the page-state snapshot and the
cookies), with and without runtime/browser/lean.py (the omnibox popup's renderer per window;
the garbage of the pages left collected every COLLECT_EVERY pages).

Counted: the renderer processes of this process's own Chromium (its descendants: never another
program's), their PSS after every page (max and mean), the page's V8 heap and documents
(CDP `Runtime.getHeapUsage`, `Memory.getDOMCounters`) at the end, seconds per page.

    python bench/renderers.py [--pages 120] [--contexts 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from throughput_memory import descendants, kind, pss_kib
from throughput_shop import BenchShop

from weboter.runtime.browser import lean
from weboter.runtime.browser.host import BrowserHost
from weboter.runtime.browser.snapshot import take
from weboter.runtime.browser.support import FIRST_FINGERPRINT_JS


def renderers() -> list[int]:
    return [p for p in descendants() if kind(p) == "chromium renderer"]


async def node_work(session: Any, page: Any) -> None:
    """What a run does on a product page besides the navigation."""
    await page.evaluate("document.title")
    detail = page.locator("article.product-detail")
    await detail.first.evaluate_all(FIRST_FINGERPRINT_JS)
    await detail.evaluate_all("(els) => els.map(e => e.innerText)")
    await asyncio.gather(take(session, {}), session.context.cookies())
    if session.loads.due():  # as runtime/browser/restore.py's capture does
        await lean.collect_garbage(session.context, list(session.context.pages))


async def one(config: str, url: str, pages: int, contexts: int) -> str:
    own, every = lean.OWN_DISABLED, lean.COLLECT_EVERY
    if config in ("goto-only", "weboter-before"):
        lean.OWN_DISABLED = ()
    host = BrowserHost(executable="/usr/bin/chromium")
    try:
        sessions = [await host.session(f"r{i}") for i in range(contexts)]
        for s in sessions:
            s.loads.every = every if config == "weboter" else 0
        tabs = [await s.page() for s in sessions]
        seen: list[int] = []
        began = time.perf_counter()
        for i in range(1, pages + 1):
            for s, tab in zip(sessions, tabs, strict=True):
                await tab.goto(f"{url}/product/{i}")
                if config != "goto-only":
                    await node_work(s, tab)
            seen.append(sum(pss_kib(p) for p in renderers()) // 1024)
        spent = (time.perf_counter() - began) / pages / contexts
        cdp = await sessions[0].context.new_cdp_session(tabs[0])
        heap = await cdp.send("Runtime.getHeapUsage")
        dom = await cdp.send("Memory.getDOMCounters")
        return (
            f"{config:<15} {len(renderers()):>3} renderers  PSS max {max(seen):4d} MiB "
            f"mean {statistics.mean(seen):5.0f}  heap {heap['usedSize'] / 2**20:5.1f} MiB  "
            f"documents {dom['documents']:3d}  {spent * 1000:4.0f} ms/page"
        )
    finally:
        await host.close()
        lean.OWN_DISABLED = own


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--contexts", type=int, default=2, help="runs (contexts) at once")
    args = parser.parse_args()
    with BenchShop(args.pages, 20) as shop:
        print(f"{args.pages} pages in one tab each of {args.contexts} context(s):")
        for config in ("goto-only", "weboter-before", "weboter"):
            print(" ", await one(config, shop.url, args.pages, args.contexts), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
