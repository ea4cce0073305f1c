"""`just bench-heal`: how often the healer finds an element again after a site changed, on
pages it was never tuned to (bench/heal_pages.py: 7 sites, 8 kinds of change, every target
of each), in a real Chromium on loopback.

For each target: its fingerprint is taken on the site before (FINGERPRINT_JS, as a node
records it), the page's candidates after the change (CANDIDATES_JS, as the healer gathers
them), and `choose` (runtime/browser/likeness.py) picks one or refuses. Correct: the same
element (by its `data-bench` key, which no fingerprint reads) — or, for a target that was
removed, a refusal. Wrong: another element. Refused: nothing picked where the element is
there (safe: the run waits in ERROR).

    python bench/heal.py [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).parent))
from heal_pages import KINDS, SITES, draw, targets

from weboter.runtime.browser.heal import CANDIDATES, CANDIDATES_JS
from weboter.runtime.browser.host import LAUNCH_ARGS, find_browser
from weboter.runtime.browser.likeness import NotHealed, choose
from weboter.runtime.browser.support import FINGERPRINT_JS

PAGES: dict[str, str] = {}


class _Pages(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = PAGES.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def pairs() -> list[tuple[str, str, str, str | None]]:
    """(kind, before path, after path, the removed target or None) for every page pair."""
    found = []
    for site in SITES:
        PAGES[f"/{site.name}/before"] = draw(site)
        for kind in KINDS:
            if kind == "removed":
                for target in targets(site):
                    path = f"/{site.name}/removed-{target.key}"
                    PAGES[path] = draw(site, "removed", removed=target.key)
                    found.append((kind, f"/{site.name}/before", path, target.key))
                continue
            PAGES[f"/{site.name}/{kind}"] = draw(site, kind)
            found.append((kind, f"/{site.name}/before", f"/{site.name}/{kind}", None))
    return found


async def measure(base: str) -> tuple[dict[str, collections.Counter[str]], list[str]]:
    tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    wrong: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_browser().path, args=LAUNCH_ARGS)
        page = await browser.new_page()
        for kind, before, after, removed in pairs():
            await page.goto(base + before)
            recorded = {}
            for key in await page.eval_on_selector_all(
                "[data-bench]", "els => els.map(e => e.dataset.bench)"
            ):
                recorded[key] = await page.eval_on_selector(f'[data-bench="{key}"]', FINGERPRINT_JS)
            await page.goto(base + after)
            for key, print_ in recorded.items():
                if removed is not None and key != removed:
                    continue  # a removed page scores only its missing target
                tag, text = print_["tag"], print_["text"]
                candidates = await page.evaluate(CANDIDATES_JS, [tag, text, CANDIDATES])
                try:
                    chosen = choose([print_], candidates, many=False)
                except NotHealed as why:
                    tally[kind]["correct" if removed else "refused"] += 1
                    if not removed:
                        wrong.append(f"{after} {key}: refused: {why.message[:160]}")
                    continue
                got = await page.eval_on_selector(chosen.selector, "e => e.dataset.bench || ''")
                if got == key and removed is None:
                    tally[kind]["correct"] += 1
                else:
                    tally[kind]["wrong"] += 1
                    wrong.append(
                        f"{after} {key}: picked {got or chosen.selector} ({chosen.score:.2f})"
                    )
        await browser.close()
    return tally, wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--wrong", action="store_true", help="list each wrong pick")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tally, wrong = asyncio.run(measure(f"http://127.0.0.1:{server.server_address[1]}"))
    finally:
        server.shutdown()
    total = collections.Counter[str]()
    for counts in tally.values():
        total.update(counts)
    cases = sum(total.values())
    result = {
        "pairs": len(pairs()),
        "cases": cases,
        "kinds": {k: dict(v) for k, v in tally.items()},
        "correct": total["correct"] / cases,
        "wrong": total["wrong"],
        "refused": total["refused"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['pairs']} page pairs, {cases} cases")
    print(f"{'kind':<10} {'correct':>8} {'wrong':>6} {'refused':>8}")
    for kind in KINDS:
        c = tally[kind]
        print(f"{kind:<10} {c['correct']:>8} {c['wrong']:>6} {c['refused']:>8}")
    print(f"correct {result['correct']:.1%}, wrong {total['wrong']}, refused {total['refused']}")
    if args.wrong:
        print("\n".join(wrong))
    return 0


if __name__ == "__main__":
    sys.exit(main())
