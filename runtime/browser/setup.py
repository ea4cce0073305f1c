"""`weboter browser install` and `weboter doctor`: getting a Chromium, and saying what is there.

Install order: Playwright's own download (needs its CDN), then the system package manager
(`apt-get install chromium`, only as root and only when allowed), else the commands to run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from weboter.runtime.browser.host import LAUNCH_ARGS, BrowserMissing, find_browser

Say = Callable[[str], None]


def install(*, allow_system: bool, say: Say, if_missing: bool = False) -> dict[str, Any]:
    """Try each way to get a Chromium; returns what happened, step by step."""
    steps: list[dict[str, Any]] = []
    if if_missing:
        try:
            found = find_browser()
            say(f"browser already there: {found.path} ({found.source})")
            return {"ok": True, "steps": steps, "browser": found.path, "source": found.source}
        except BrowserMissing:
            pass
    say("trying Playwright's download (python -m playwright install chromium) ...")
    done = _run([sys.executable, "-m", "playwright", "install", "chromium"], timeout=900)
    steps.append({"step": "playwright", "ok": done.returncode == 0, "detail": _last(done)})
    if done.returncode != 0:
        say(f"  Playwright's download failed: {_last(done)}")
        if allow_system and shutil.which("apt-get") and os.geteuid() == 0:
            say("trying the system package (apt-get install chromium) ...")
            update = _run(["apt-get", "update", "-qq"], timeout=600)
            got = _run(
                ["apt-get", "install", "-y", "-qq", "chromium"],
                timeout=1200,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            ok = update.returncode == 0 and got.returncode == 0
            steps.append({"step": "apt-get", "ok": ok, "detail": _last(got)})
            if not ok:
                say(f"  apt-get failed: {_last(got)}")
        elif allow_system:
            steps.append(
                {
                    "step": "apt-get",
                    "ok": False,
                    "detail": "needs root and apt-get; run: sudo apt-get install chromium",
                }
            )
    try:
        found = find_browser()
    except BrowserMissing as exc:
        return {"ok": False, "steps": steps, "error": exc.message, "hint": exc.hint}
    say(f"browser: {found.path} ({found.source})")
    return {"ok": True, "steps": steps, "browser": found.path, "source": found.source}


def _run(
    cmd: list[str], timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 1, "", str(exc))


def _last(done: subprocess.CompletedProcess[str]) -> str:
    lines = [
        line.strip() for line in (done.stderr or done.stdout or "").splitlines() if line.strip()
    ]
    errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
    picked = errors[0] if errors else (lines[-1] if lines else f"exit code {done.returncode}")
    return picked[:300]


async def _launch_check(path: str) -> str:
    from playwright.async_api import async_playwright  # noqa: PLC0415 - heavy import

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            await page.set_content("<p>ok</p>")
            return str(browser.version)
        finally:
            await browser.close()


def doctor(db_path: Path) -> dict[str, Any]:
    """What Weboter finds on this machine, each with what to do when it is missing."""
    from importlib.metadata import version  # noqa: PLC0415

    checks: list[dict[str, Any]] = [
        {"check": "python", "ok": sys.version_info >= (3, 11), "detail": sys.version.split()[0]},
        {"check": "playwright", "ok": True, "detail": version("playwright")},
    ]
    try:
        found = find_browser()
        try:
            detail = (
                f"{found.path} ({found.source}), Chromium {asyncio.run(_launch_check(found.path))}"
            )
            checks.append({"check": "browser", "ok": True, "detail": detail})
        except Exception as exc:
            checks.append(
                {
                    "check": "browser",
                    "ok": False,
                    "detail": f"{found.path} does not start: {str(exc).splitlines()[0]}",
                    "hint": "reinstall it: weboter browser install",
                }
            )
    except BrowserMissing as exc:
        checks.append({"check": "browser", "ok": False, "detail": exc.message, "hint": exc.hint})
    parent = db_path.parent
    writable = os.access(parent if parent.exists() else parent.parent, os.W_OK)
    checks.append(
        {
            "check": "event log",
            "ok": writable,
            "detail": str(db_path),
            "hint": "" if writable else "pass --db with a writable path",
        }
    )
    return {"ok": all(c["ok"] for c in checks), "checks": checks}
