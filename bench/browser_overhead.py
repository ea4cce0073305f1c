"""The demo workflow through the engine vs the same steps as a plain Playwright script.

Both drive the same Chromium executable, in the same process, against the same demo shop on
loopback; each is warmed up once (browser launched) and then timed over a fresh browser
context per run. Rounds interleave a plain run and the engine's runs (this machine's speed
drifts within minutes); the ratios are the medians of each round's. Prints both times and
their ratio with evidence `on_error` (target <= 1.10) and with `every_node`.

    python bench/browser_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser
from weboter.runtime.core.loader import load_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings


async def plain_playwright(base_url: str, rounds: int) -> list[float]:
    """The demo's steps written directly against Playwright."""
    times = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
        for round_ in range(rounds + 1):  # round 0 warms up
            started = time.perf_counter()
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{base_url}/login")
            await page.get_by_label("Username").fill(USER)
            await page.locator("#password").fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()
            rows: list[dict[str, Any]] = []
            while True:
                await page.locator("li.product").first.wait_for()
                links = [
                    await a.get_attribute("href")
                    for a in await page.locator("li.product a.product-link").all()
                ]
                for href in links:
                    tab = await context.new_page()
                    await tab.goto(f"{base_url}{href}")
                    detail = tab.locator("article.product-detail")
                    rows.append(
                        {
                            "name": await detail.locator("h1.name").inner_text(),
                            "price": await detail.locator("span.price").inner_text(),
                            "stock": await detail.locator("p.stock").get_attribute("data-count"),
                        }
                    )
                    await tab.close()
                try:
                    await page.locator("a.next").click(timeout=1000)
                except Exception:
                    break
            out = Path(tempfile.mkdtemp()) / "plain.csv"
            out.write_text("\n".join(json.dumps(r) for r in rows))
            await context.close()
            assert len(rows) == len(PRODUCTS)
            if round_:
                times.append(time.perf_counter() - started)
        await browser.close()
    return times


class EngineRounds:
    """One engine (its Chromium launched by a first, untimed run) that times demo runs."""

    def __init__(self, base_url: str, evidence: str) -> None:
        self.base_url = base_url
        self.workflow = load_workflow(WORKFLOW)
        env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
        tmp = Path(tempfile.mkdtemp())
        settings = Settings(db_path=tmp / "b.db", evidence=evidence)  # type: ignore[arg-type]
        self.engine = Engine(settings, env=env).start()
        self.client = self.engine.client()
        self.runs = 0
        self.once()  # warms up (launches Chromium)

    def once(self) -> float:
        started = time.perf_counter()
        self.runs += 1
        run_id = self.client.submit(
            self.workflow,
            variables={"base_url": self.base_url, "out": f"e{self.runs}.csv", "rows": []},
        )
        ended = self.client.wait(run_id, timeout=300)
        assert ended.status == "COMPLETED", ended
        return time.perf_counter() - started

    def close(self) -> None:
        self.client.close()
        self.engine.stop()


def _median_ratio(engine: list[float], plain: list[float]) -> float:
    return statistics.median(e / p for e, p in zip(engine, plain, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Rounds interleave plain and engine runs: this machine's speed drifts within minutes,
    # and each ratio compares runs made back to back.
    plains, on_errors, everys = [], [], []
    with ShopServer() as shop:
        on_error_engine = EngineRounds(shop.url, "on_error")
        every_engine = EngineRounds(shop.url, "every_node")
        try:
            for _ in range(args.rounds):
                plains.append(asyncio.run(plain_playwright(shop.url, 1))[0])
                on_errors.append(on_error_engine.once())
                everys.append(every_engine.once())
                print(
                    f"  round: plain {plains[-1]:.3f} s, on_error {on_errors[-1]:.3f} s "
                    f"({on_errors[-1] / plains[-1]:.3f}), every_node {everys[-1]:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            on_error_engine.close()
            every_engine.close()
    plain, on_error, every = (statistics.median(x) for x in (plains, on_errors, everys))
    result = {
        "plain_playwright_s": round(plain, 3),
        "engine_on_error_s": round(on_error, 3),
        "engine_every_node_s": round(every, 3),
        "ratio_on_error": round(_median_ratio(on_errors, plains), 3),
        "ratio_every_node": round(_median_ratio(everys, plains), 3),
        "target_ratio_on_error": 1.10,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"browser overhead (demo workflow, {len(PRODUCTS)} products, "
            f"medians of {args.rounds} rounds):"
        )
        print(f"  plain Playwright          {plain:7.3f} s")
        print(
            f"  engine, evidence on_error {on_error:7.3f} s   ratio "
            f"{result['ratio_on_error']:.3f} (target <= 1.10)"
        )
        print(
            f"  engine, evidence every    {every:7.3f} s   ratio {result['ratio_every_node']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
