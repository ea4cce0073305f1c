"""The peer of bench/throughput.py: Crawlee for Python's PlaywrightCrawler scraping the bench
shop as its documentation shows, run as a process of its own (needs the `bench` extra).

The list page's product links and its "Next" link go to Crawlee's request queue; each product
page's name, price and stock are pushed to its dataset, exported to a CSV at the end. Chromium
is the system's (`executable_path`), headless, with Weboter's launch flags (no sandbox as root,
no GPU, no calls home); pages share one browser context (Crawlee's default). `--concurrency N`
pins Crawlee's autoscaled pool to N pages at once (min = desired = max = N); `auto` leaves it
to the pool (Crawlee's defaults: from 10, between 1 and 100 by CPU, memory and event loop).
Storage (request queue, dataset) goes to $CRAWLEE_STORAGE_DIR, Crawlee's default file system
storage.

    python bench/throughput_crawlee.py URL OUT.csv --concurrency 8 --browser /usr/bin/chromium
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from crawlee import ConcurrencySettings
from crawlee.crawlers import PlaywrightCrawler, PlaywrightCrawlingContext

from weboter.runtime.browser.host import LAUNCH_ARGS
from weboter.runtime.browser.lean import disable_features_arg


def crawler(concurrency: str, browser: str, lean: bool = False) -> PlaywrightCrawler:
    """`lean`: Chromium without the WebUI omnibox popup per window, as Weboter launches it."""
    args = [*LAUNCH_ARGS, disable_features_arg()] if lean else LAUNCH_ARGS
    settings = ConcurrencySettings()
    if concurrency != "auto":
        n = int(concurrency)
        settings = ConcurrencySettings(min_concurrency=n, max_concurrency=n, desired_concurrency=n)
    made = PlaywrightCrawler(
        headless=True,
        browser_type="chromium",
        browser_launch_options={"executable_path": browser, "args": args},
        concurrency_settings=settings,
        max_requests_per_crawl=100_000,
        configure_logging=False,
    )

    @made.router.default_handler
    async def list_page(context: PlaywrightCrawlingContext) -> None:
        await context.enqueue_links(selector="a.product-link", label="DETAIL")
        await context.enqueue_links(selector="a.next", label="LIST")

    @made.router.handler("LIST")
    async def next_page(context: PlaywrightCrawlingContext) -> None:
        await list_page(context)

    @made.router.handler("DETAIL")
    async def product(context: PlaywrightCrawlingContext) -> None:
        detail = context.page.locator("article.product-detail")
        await context.push_data(
            {
                "name": await detail.locator("h1.name").inner_text(),
                "price": await detail.locator("span.price").inner_text(),
                "stock": await detail.locator("p.stock").get_attribute("data-count"),
            }
        )

    return made


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--concurrency", default="8")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    parser.add_argument("--lean", action="store_true", help="Weboter's --disable-features too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    made = crawler(args.concurrency, args.browser, args.lean)
    stats = await made.run([f"{args.url}/products?page=1"])
    await made.export_data(args.out)
    print(f"crawlee: {stats.requests_finished} pages, {stats.requests_failed} failed", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
