"""Mutants of the examples for the fuzz test and bench/fuzz.py: a random place in a workflow
changed to a hostile or careless value, deleted, or duplicated."""

from __future__ import annotations

import contextlib
import functools
import json
import random
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from weboter.runtime.core.loader import parse_text
from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer
from weboter.runtime.demo.static import PAGES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NO_BROWSER = ("counter.json", "data_pipeline.yaml")  # examples a mutant may run without a site
VARS = {"counter.json": ["target=3"], "data_pipeline.yaml": ["out=summary.json"]}
SHOP_ENV = {"SHOP_USER": USER, "SHOP_PASSWORD": PASSWORD}  # the login example's `$env`


@contextlib.contextmanager
def sites() -> Iterator[dict[str, list[str]]]:
    """The demo shop and the test pages on loopback, while inside; yields every example's
    `--var`s (the browser examples' site URLs included)."""
    handler = functools.partial(_Quiet, directory=str(PAGES))
    pages = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    pages_url = f"http://127.0.0.1:{pages.server_address[1]}/pages"
    try:
        with ShopServer() as shop:
            yield {
                **VARS,
                "login_and_paginate.yaml": [f"shop_url={shop.url}", "out=products.json"],
                "tabs_frames_js.yaml": [f"pages_url={pages_url}"],
                "forms_and_elements.yaml": [f"pages_url={pages_url}"],
            }
    finally:
        pages.shutdown()
        pages.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.path = self.path.removeprefix("/pages")
        super().do_GET()


HOSTILE: list[Any] = [
    None,
    -1,
    0,
    2**70,
    1e308,
    True,
    "",
    "x" * 10_000,
    [],
    {},
    "$global{missing}",
    "$env{NOT_SET_ANYWHERE}",
    "__end__",
    "__exit__",
    "../../etc/passwd",
    "(a|aa)+$",
    "'a'.ljust(10**9)",
    {"nested": [[[[[[[[[[1]]]]]]]]]]},
    [[1] * 50] * 50,
]


def places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into `value` (keys and indexes)."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += places(item, (*path, index))
    return found


def mutate(data: Any, rng: random.Random) -> Any:
    """`data` (a workflow) with one to three random changes."""
    for _ in range(rng.randint(1, 3)):
        where = rng.choice(places(data)[1:] or [()])
        if not where:
            continue
        parent = data
        for step in where[:-1]:
            parent = parent[step]
        last = where[-1]
        kind = rng.random()
        if kind < 0.2 and isinstance(parent, dict):
            del parent[last]
        elif kind < 0.3 and isinstance(parent, list):
            parent.insert(last, json.loads(json.dumps(parent[last])))
        else:
            parent[last] = json.loads(json.dumps(rng.choice(HOSTILE)))  # a copy of its own
    return data


def mutant(rng: random.Random) -> tuple[str, str]:
    """(example name, the JSON text of one of its mutants)."""
    path = rng.choice(sorted(EXAMPLES.glob("*.*")))
    data = parse_text(path.read_text(encoding="utf-8"), str(path))
    return path.name, json.dumps(mutate(data, rng))
