"""The shop bench/throughput.py scrapes: `count` products on list pages of `per_page`, every
page answering after 20-200 ms (seeded: the same delay for the same page, whatever asks).

No log-in (every contender would pay it once per session; it is not what is measured). The
markup is the demo shop's (runtime/demo/shop.py): `li.product a.product-link` on a list page
`/products?page=N` with `a.next` while there is a next page; `article.product-detail` with
`h1.name`, `span.price` and `p.stock[data-count]` on `/product/ID`. A list page past the last
answers an empty list (a run walking pages by number stops there). The server counts what it
served, per page, and when: the span from the first request to the last answer is the scrape
seen from the site.
"""

from __future__ import annotations

import csv
import html
import random
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from weboter.runtime.demo.shop import Product, _page, _product

WORDS = ("Walnut", "Linen", "Stoneware", "Brass", "Oak", "Wool", "Ceramic", "Copper", "Glass")
THINGS = ("Lamp", "Towel", "Mug", "Opener", "Board", "Throw", "Planter", "Kettle", "Carafe")


def catalogue(count: int, seed: int) -> list[Product]:
    """`count` products with names, prices and stock drawn from `seed`."""
    rng = random.Random(seed)
    return [
        Product(
            i + 1,
            f"{rng.choice(WORDS)} {rng.choice(THINGS)} {i + 1}",
            f"{rng.randint(300, 12000) / 100:.2f}",
            rng.choice([0, *range(1, 60)]),
        )
        for i in range(count)
    ]


class BenchShopHandler(BaseHTTPRequestHandler):
    server: BenchShop

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        began = time.monotonic()
        url = urlparse(self.path)
        shop = self.server
        time.sleep(shop.delay(url.path + "?" + url.query))  # the site's latency, not a sync
        status, body = 200, b""
        if url.path == "/products":
            number = int(parse_qs(url.query).get("page", ["1"])[0])
            body = _page(f"Products, page {number}", shop.list_page(number))
        elif url.path.startswith("/product/") and url.path[9:].isdigit():
            index = int(url.path[9:]) - 1
            if 0 <= index < len(shop.products):
                body = _page(shop.products[index].name, _product(shop.products[index]))
        if not body:
            status, body = 404, _page("Not found", "<h1>Not found</h1>")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        shop.served(url.path + ("?" + url.query if url.query else ""), began)


class BenchShop(ThreadingHTTPServer):
    """`with BenchShop(500) as shop: shop.url` — served on a free loopback port."""

    daemon_threads = True

    def __init__(self, count: int, per_page: int = 20, seed: int = 7) -> None:
        super().__init__(("127.0.0.1", 0), BenchShopHandler)
        self.products = catalogue(count, seed)
        self.per_page, self.seed = per_page, seed
        self.pages = (count + per_page - 1) // per_page
        self._lock = threading.Lock()
        self.reset()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed its page before the answer (a favicon, a page a crawler is done
        with) is no error of the shop's: not printed. Anything else is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def delay(self, path: str) -> float:
        """20-200 ms, the same for a page every time and for every contender."""
        return random.Random(f"{self.seed}:{path}").uniform(0.020, 0.200)

    def list_page(self, number: int) -> str:
        start = (number - 1) * self.per_page
        items = "".join(
            f'<li class="product"><a class="product-link" href="/product/{p.id}">'
            f"{html.escape(p.name)}</a> <span class=price>{p.price}</span></li>"
            for p in self.products[max(start, 0) : max(start + self.per_page, 0)]
        )
        more = 1 <= number < self.pages
        nav = f'<a class="next" href="/products?page={number + 1}">Next</a>' if more else ""
        return f'<h1>Products</h1><ul class="products">{items}</ul>{nav}'

    def reset(self) -> None:
        """Forget what was served (before the next contender)."""
        with self._lock:
            self.hits: Counter[str] = Counter()
            self.first: float | None = None
            self.last: float | None = None
            self.ends: list[float] = []  # when each answer went out

    def served(self, path: str, began: float) -> None:
        with self._lock:
            self.hits[path] += 1
            self.first = began if self.first is None else min(self.first, began)
            self.last = time.monotonic()
            self.ends.append(self.last)

    def span(self) -> float:
        """Seconds from the first request to the last answer."""
        return (self.last or 0.0) - (self.first or 0.0)

    def tail(self, share: float = 0.1) -> float:
        """The part of the span the last `share` of the answers took: ~`share` when pages went
        out at an even pace to the end, more when fewer pages were asked for at once at the end
        (runs that had finished their part while others had not)."""
        if len(self.ends) < 10 or self.span() <= 0:
            return 0.0
        ends = sorted(self.ends)
        return (ends[-1] - ends[int(len(ends) * (1 - share))]) / self.span()

    def expected(self) -> Counter[tuple[str, str, str]]:
        return Counter((p.name, p.price, str(p.stock)) for p in self.products)

    def __enter__(self) -> BenchShop:
        threading.Thread(target=self.serve_forever, name="bench-shop", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def rows_of(files: list[Path]) -> Counter[tuple[str, str, str]]:
    """(name, price, stock) of every row of the CSV files (a header row each)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for file in files:
        with file.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                found[(row["name"].strip(), row["price"].strip(), str(row["stock"]).strip())] += 1
    return found


def check(shop: BenchShop, files: list[Path]) -> str:
    """ "ok" when the CSVs hold every product exactly once, else what is wrong."""
    if not files:
        return "no CSV written"
    want, got = shop.expected(), rows_of(files)
    missing = sum((want - got).values())
    extra = sum((got - want).values())
    return "ok" if not missing and not extra else f"WRONG: {missing} missing, {extra} extra"
