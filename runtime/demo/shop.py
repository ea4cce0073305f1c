"""A small shop website served on loopback, for the demo and the browser tests.

Log in (user `demo`, password `demo-pass-123`), walk the product list page by page ("Next"),
open each product, read name, price and stock. Sessions are cookies, so two browser contexts
never share a login. The same server answers `/pages/...` and `/download/...`, the pages the
browser examples open (runtime/demo/static.py); `weboter demo --serve` keeps it up.
"""

from __future__ import annotations

import html
import secrets
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from weboter.runtime.demo.static import static

USER, PASSWORD = "demo", "demo-pass-123"
PER_PAGE = 4


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    price: str
    stock: int


PRODUCTS = [
    Product(i + 1, name, price, stock)
    for i, (name, price, stock) in enumerate(
        [
            ("Walnut Desk Lamp", "49.90", 12),
            ("Linen Tea Towel", "9.50", 40),
            ("Stoneware Mug", "14.00", 0),
            ("Brass Bottle Opener", "19.99", 7),
            ("Oak Cutting Board", "34.00", 15),
            ("Wool Throw Blanket", "89.00", 3),
            ("Ceramic Planter", "24.50", 22),
            ("Copper Kettle", "64.00", 5),
            ("Cotton Apron", "21.00", 30),
            ("Glass Carafe", "27.90", 9),
            ("Cast Iron Skillet", "42.00", 11),
        ]
    )
]
PAGES = (len(PRODUCTS) + PER_PAGE - 1) // PER_PAGE


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em} li{margin:.4em 0}</style></head>"
        f"<body><header><a href=/products>Shop</a></header><main>{body}</main></body></html>"
    ).encode()


class ShopHandler(BaseHTTPRequestHandler):
    server: ShopServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        for old, new in VARIANTS[self.server.variant]:
            body = body.replace(old.encode(), new.encode())
        self._answer(status, body, {"Content-Type": "text/html; charset=utf-8", **(headers or {})})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, to: str, headers: dict[str, str] | None = None) -> None:
        self._send(303, b"", {"Location": to, **(headers or {})})

    def _user(self) -> str | None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        token = cookie["session"].value if "session" in cookie else ""
        return self.server.sessions.get(token)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.server.requests.append(f"GET {url.path}")
        page = static(url.path)  # the examples' pages: no log-in, no variant
        if page is not None:
            self._answer(*page)
            return
        if url.path in ("/", "/login"):
            self._send(200, _page("Log in", LOGIN_FORM))
            return
        if self._user() is None:
            self._redirect("/login")
            return
        if url.path == "/products":
            number = int(parse_qs(url.query).get("page", ["1"])[0])
            self._send(200, _page(f"Products, page {number}", _product_list(number)))
        elif url.path.startswith("/product/"):
            found = next((p for p in PRODUCTS if f"/product/{p.id}" == url.path), None)
            if found is None:
                self._send(404, _page("Not found", "<h1>No such product</h1>"))
            else:
                self._send(200, _page(found.name, _product(found)))
        else:
            self._send(404, _page("Not found", "<h1>Not found</h1>"))

    def do_POST(self) -> None:
        self.server.requests.append(f"POST {urlparse(self.path).path}")
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        user = form.get("username", [""])[0]
        if (
            urlparse(self.path).path == "/login"
            and user == USER
            and form.get("password", [""])[0] == PASSWORD
        ):
            token = secrets.token_hex(16)
            self.server.sessions[token] = user
            self._redirect("/products?page=1", {"Set-Cookie": f"session={token}; Path=/; HttpOnly"})
            return
        self._send(401, _page("Log in", '<p class="error">Wrong user or password</p>' + LOGIN_FORM))


LOGIN_FORM = """<h1>Log in</h1>
<form method="post" action="/login">
  <label for="username">Username</label> <input id="username" name="username">
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button id="submit" type="submit">Log in</button>
</form>"""


# The shop redesigned, for the self-healing tests: what a site's next release does to a
# recorded workflow. "renamed": ids and classes renamed, the log-in button moved; "twins": a
# second form with a password field just like the first, under the same label (no healer can
# tell which is meant).
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "": [],
    "renamed": [
        ('<label for="password">', '<label for="pw">'),
        ('<input id="password"', '<input id="pw"'),
        (
            '<form method="post" action="/login">',
            '<form method="post" action="/login"><button id="go" type="submit">Log in</button>',
        ),
        ('<button id="submit" type="submit">Log in</button>', ""),
        ('<li class="product">', '<li class="item">'),
        ('<ul class="products">', '<ul class="catalogue">'),
        ('<article class="product-detail">', '<article class="card">'),
    ],
    "twins": [
        ('<label for="password">', '<label for="pw-a">'),
        ('<input id="password"', '<input id="pw-a"'),
        (
            "</form>",
            '</form><form method="post" action="/login"><label for="login">Login</label> '
            '<input id="login" name="login"><label for="pw-b">Password</label> '
            '<input id="pw-b" name="password" type="password"></form>',
        ),
    ],
}


def _product_list(number: int) -> str:
    start = (number - 1) * PER_PAGE
    items = "".join(
        f'<li class="product"><a class="product-link" href="/product/{p.id}">'
        f"{html.escape(p.name)}</a> <span class=price>{p.price}</span></li>"
        for p in PRODUCTS[start : start + PER_PAGE]
    )
    nav = f'<a class="next" href="/products?page={number + 1}">Next</a>' if number < PAGES else ""
    return (
        f'<h1>Products</h1><p class="page">Page {number} of {PAGES}</p>'
        f'<ul class="products">{items}</ul>{nav}'
    )


def _product(p: Product) -> str:
    stock = f"{p.stock} in stock" if p.stock else "out of stock"
    return (
        f'<article class="product-detail"><h1 class="name">{html.escape(p.name)}</h1>'
        f'<p>Price: <span class="price">{p.price}</span> EUR</p>'
        f'<p class="stock" data-count="{p.stock}">{stock}</p>'
        "<details><summary>Shipping</summary><p>Ships in 2 days</p></details>"
        '<a href="javascript:history.back()">Back</a></article>'
    )


class ShopServer(ThreadingHTTPServer):
    """`with ShopServer() as shop: shop.url` — a running shop on a free loopback port."""

    daemon_threads = True
    allow_reuse_port = False  # a port another server listens on is taken: say so, never share

    def __init__(self, host: str = "127.0.0.1", port: int = 0, variant: str = "") -> None:
        super().__init__((host, port), ShopHandler)
        self.variant = variant  # "" (as recorded), "renamed" or "twins": see VARIANTS
        self.sessions: dict[str, str] = {}
        self.requests: list[str] = []  # "GET /login", "POST /login", ... in the order served
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ShopServer:
        self._thread = threading.Thread(target=self.serve_forever, name="weboter-shop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> ShopServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
