"""`weboter demo --serve`: the demo site for the browser examples (they run on it in
tests/browser/test_runs.py): where it serves and what to run on it, every page the examples
open, a port that is taken, and a stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.demo_site import serve_demo
from tests.incli import cli

pytestmark = pytest.mark.timeout(60)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_the_site_says_where_serves_the_examples_pages_and_stops_on_ctrl_c() -> None:
    site = serve_demo("--port", "0", until=lambda line: "login_and_paginate.yaml" in line)
    try:
        url = site.said.split("demo site at ", 1)[1].split(";", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        assert f"--var pages_url={url}/pages" in site.said
        assert f"--var shop_url={url}" in site.said
        assert "stop with Ctrl-C" in site.said
        assert get(f"{url}/pages/playground.html")[0] == 200
        assert "Second page" in get(f"{url}/pages/second.html")[1]
        assert get(f"{url}/pages/../../pyproject.toml")[0] == 404
        assert get(f"{url}/pages/nothing.html")[0] == 404
        assert get(f"{url}/download/report.txt") == (200, "quarterly report\n")
        status, login = get(f"{url}/login")
        assert status == 200
        assert 'id="username"' in login
        assert "<h1>Log in</h1>" in get(f"{url}/products?page=2")[1]  # not logged in: the form
    finally:
        code = site.stop(signal.SIGINT)
    assert code == 0, site.errors()


def test_a_taken_port_is_said_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("demo", "--serve", "--port", str(port), home=tmp_path)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use by another program" in result.stderr
    assert f"weboter demo --serve --port {port + 1}" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_goes_with_serve(tmp_path: Path) -> None:
    result = cli("demo", "--port", "8000", home=tmp_path)
    assert result.returncode == 2
    assert "--port goes with --serve" in result.stderr
