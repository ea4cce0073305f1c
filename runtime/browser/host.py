"""The browser: finding Chromium, one Chromium per Node Runner, one context per run.

Found in this order: `WEBOTER_BROWSER` (or the `executable` setting), Playwright's own
download, the system's Chromium (/usr/bin/chromium and friends). Everything here runs on the
Node Runner's asyncio loop; a run's context (cookies, storage, tabs) is closed when the run
ends, and the browser when the runner stops.

What a run's pages may reach: `file://` only inside the workspace and the folders allowed
(every file request of the context is checked, not only the pages a node opens), and, when the
run has a host rule (`--allow-host`, the workflow's `allow_hosts`), only the hosts it allows:
the context then goes through the gate (runtime/browser/gate.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weboter.runtime.browser.gate import Gate
from weboter.runtime.browser.lean import Loads, disable_features_arg, features_lost, learn
from weboter.runtime.browser.snapshot import NotOpened, reopen
from weboter.runtime.browser.traffic import unwatch
from weboter.runtime.core.hosts import WIDEN, HostRule, host_rule
from weboter.runtime.errors import ActionError, WeboterError
from weboter.runtime.store.workspace import PathRefused, Workspace

SYSTEM_CHROMIUMS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
)
# Flags for a Chromium in a container or CI: no sandbox as root, no GPU, and no calls home
# (a closed network makes those fail slowly and noisily).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # WebRTC only through the proxy (none: no WebRTC UDP at all): a page's STUN/TURN traffic
    # would otherwise go around the gate (runtime/browser/gate.py) and a run's host rule
    "--force-webrtc-ip-handling-policy",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]


LOCAL_STORAGE_JS = """() => { try {
  return {origin: location.origin, localStorage: Object.keys(localStorage).map(
    k => ({name: k, value: localStorage.getItem(k)}))};
} catch (e) { return null; } }"""


class BrowserMissing(WeboterError):
    exit_code = 2


@dataclass(frozen=True)
class BrowserFound:
    path: str
    source: str  # "WEBOTER_BROWSER", "setting", "playwright", "system"


def playwright_chromium() -> str | None:
    """Playwright's own Chromium, if it was downloaded (`playwright install chromium`)."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    if not root.is_dir():
        return None
    for candidate in sorted(root.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_browser(setting: str | None = None) -> BrowserFound:
    """The Chromium to launch; BrowserMissing (with what to do) when there is none."""
    for source, value in (
        ("setting", setting),
        ("WEBOTER_BROWSER", os.environ.get("WEBOTER_BROWSER")),
    ):
        if value:
            path = shutil.which(value) or value
            if not os.access(path, os.X_OK):
                raise BrowserMissing(
                    f"{source} names {value}, which is not an executable browser",
                    hint="fix the path, or unset it to let Weboter search",
                )
            return BrowserFound(path, source)
    own = playwright_chromium()
    if own:
        return BrowserFound(own, "playwright")
    for path in SYSTEM_CHROMIUMS:
        if os.access(path, os.X_OK):
            return BrowserFound(path, "system")
    raise BrowserMissing(
        "no Chromium found (checked WEBOTER_BROWSER, Playwright's browsers, "
        f"{', '.join(SYSTEM_CHROMIUMS)})",
        hint="run `weboter browser install`, or set WEBOTER_BROWSER=/path/to/chromium",
    )


@dataclass
class RunSession:
    """One run's browser context, its tabs, and the elements its nodes picked up."""

    context: Any
    pages: list[Any] = field(default_factory=list)
    current: Any = None
    frame: Any = None  # when set, element actions look inside this frame
    elements: dict[str, Any] = field(default_factory=dict)
    # page -> its last snapshot (runtime/browser/snapshot.py): a tab the run is not on is
    # taken again only when its URL changed
    snapshots: dict[Any, dict[str, Any]] = field(default_factory=dict)
    rule: HostRule = field(default_factory=HostRule)  # the hosts its pages may reach
    files: Workspace | None = None  # the files they may read (none without a workspace)
    refused: list[str] = field(default_factory=list)  # what its pages were refused
    traffic: Any = None  # its requests and console messages, once watched (browser/traffic.py)
    loads: Loads = field(default_factory=Loads)  # pages its tabs loaded (browser/lean.py)
    # its context is another run's session's: an item run of a FanOut in its parent's context
    # (its own tabs, the parent's cookies and storage); closing it closes its tabs only
    lender: RunSession | None = None
    borrowers: list[RunSession] = field(default_factory=list)  # sessions in its context

    @property
    def borrowed(self) -> bool:
        return self.lender is not None

    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def reach(self, url: str) -> None:
        """ActionError when the run may not open `url`: a file outside the workspace, a host
        its rule does not allow."""
        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            why = self.file_refusal(unquote(parts.path))
        else:
            why = self.rule.refusal(url)
        if why is not None:
            raise ActionError(
                f"{url} is out of this run's reach: {why}",
                hint=WIDEN,
            )

    def file_refusal(self, path: str) -> str | None:
        if self.files is None:
            return "this browser has no workspace to read files from"
        try:
            self.files.readable(path)
        except PathRefused as exc:
            return exc.message
        return None

    async def page(self) -> Any:
        """The current page, opening one if the run has none yet."""
        if self.current is None or self.current.is_closed():
            live = [p for p in self.pages if not p.is_closed()]
            if live:
                self.current = live[-1]
            else:
                self.current = await self.context.new_page()
                self.pages.append(self.current)
        return self.current

    async def scope(self) -> Any:
        """Where element actions look: the chosen frame, else the current page."""
        page = await self.page()
        return self.frame if self.frame is not None else page

    def remember(self, locator: Any) -> str:
        ref = f"e{next(self._ids)}"
        self.elements[ref] = locator
        return ref

    def element(self, value: Any, where: str) -> Any:
        """The locator behind an element value (`{"$element": "e3", ...}`) from GetElement."""
        ref = value.get("$element") if isinstance(value, dict) else None
        if ref is None:
            raise ActionError(
                f"{where} is not an element (got {type(value).__name__})",
                hint="pass the `element` output of GetElement or GetElements",
            )
        found = self.elements.get(ref)
        if found is None:
            raise ActionError(
                f"{where}: element {ref} is gone (elements do not survive a "
                "restart or the end of their page)",
                hint="run the node that found it again",
            )
        return found


class BrowserHost:
    """One Chromium for a Node Runner, launched on first use, with a context per run."""

    def __init__(
        self,
        *,
        executable: str | None = None,
        headless: bool = True,
        files: Workspace | None = None,
        allow_hosts: Sequence[str] = (),
        holder: str = "",
    ) -> None:
        self.executable = executable
        self.headless = headless
        self.files = files  # what file:// may read
        self.allow_hosts = tuple(allow_hosts)  # the process's --allow-host
        self.holder = holder  # the process, as a refusal names it
        self._playwright: Any = None
        self._browser: Any = None
        self._sessions: dict[str, RunSession] = {}
        self._rules: dict[str, tuple[str, ...]] = {}  # run -> its workflow's allow_hosts
        self._lenders: dict[str, str] = {}  # item run -> the run whose context it may use
        self._gate = Gate()
        self._lock = asyncio.Lock()

    def limit(self, run_id: str, workflow_hosts: Sequence[str]) -> None:
        """The workflow's `allow_hosts` for `run_id`: its context holds to them (one made
        under another rule — a look at the page before any node, say — is made again)."""
        if workflow_hosts:
            self._rules[run_id] = tuple(workflow_hosts)
        else:
            self._rules.pop(run_id, None)

    def lend(self, run_id: str, lender: str) -> None:
        """`run_id` (an item run of a FanOut: runtime/core/items.py) opens its tabs in
        `lender`'s context (its parent's) while that one is live here and under the same
        rule: one log-in for every item, and a context fewer per item at once."""
        if lender:
            self._lenders[run_id] = lender

    def _lent(self, run_id: str) -> RunSession | None:
        """A session of `run_id` in its lender's context, if it has a live one here."""
        lender = self._sessions.get(self._lenders.get(run_id, ""))
        if lender is None or lender.borrowed or lender.rule != self.rule_of(run_id):
            return None
        found = RunSession(context=lender.context, rule=lender.rule, files=self.files)
        found.lender = lender
        lender.borrowers.append(found)
        return found

    def _live(self, session: RunSession) -> bool:
        """A borrowed session lives while its lender's does (its tabs die with the context)."""
        lender = session.lender
        return lender is None or any(s is lender for s in self._sessions.values())

    def rule_of(self, run_id: str) -> HostRule:
        return host_rule(self.allow_hosts, self._rules.get(run_id, ()), self.holder)

    async def _launch(self) -> Any:
        if self._browser is None or not self._browser.is_connected():
            found = find_browser(self.executable)
            from playwright.async_api import async_playwright  # noqa: PLC0415 - heavy import

            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._start(found)
            lost = await features_lost(self._browser)
            if lost:  # this Playwright disables more than Weboter's flag repeats
                learn(lost)
                with contextlib.suppress(Exception):
                    await self._browser.close()
                self._browser = await self._start(found)
        return self._browser

    async def _start(self, found: BrowserFound) -> Any:
        try:
            return await self._playwright.chromium.launch(
                executable_path=found.path,
                headless=self.headless,
                args=[*LAUNCH_ARGS, disable_features_arg()],
            )
        except Exception as exc:
            raise BrowserMissing(
                f"Chromium at {found.path} ({found.source}) did not start: "
                f"{str(exc).splitlines()[0]}",
                hint="`weboter doctor` checks the browser set-up",
            ) from exc

    async def session(
        self, run_id: str, restore: tuple[str, dict[str, Any] | None] | None = None
    ) -> RunSession:
        """The run's session, creating its browser context on first use — from a captured
        (url, storage state) when the run had a browser before (resume, rewind, fork)."""
        async with self._lock:
            found = self._sessions.get(run_id)
            if found is not None and (found.rule != self.rule_of(run_id) or not self._live(found)):
                await self.discard(run_id)  # made under another rule (never reused), or its
                found = None  # lender's context is gone
            if found is None and restore is None:
                found = self._lent(run_id)
                if found is not None:
                    self._sessions[run_id] = found
            if found is None:
                browser = await self._launch()
                storage = restore[1] if restore else None
                rule, refused = self.rule_of(run_id), list[str]()
                proxy = None
                if rule.restricted:
                    proxy = await self._gate.proxy_for(run_id, rule, refused)
                context = await browser.new_context(
                    accept_downloads=True, storage_state=storage, proxy=proxy
                )
                found = RunSession(context=context, rule=rule, files=self.files, refused=refused)
                context.on("page", found.loads.watch)
                await context.route("file://**", partial(_file_request, found))
                self._sessions[run_id] = found
                if restore and restore[0] and restore[0] != "about:blank":
                    try:
                        await reopen(await found.page(), restore[0])
                    except NotOpened:  # no half-restored context stays for the next node
                        await self.discard(run_id)
                        raise
            return found

    async def state_of(self, session: RunSession) -> tuple[str, dict[str, Any]]:
        """(url, storage state) of a session: what `session(restore=...)` puts back."""
        page = session.current
        live = page is not None and not page.is_closed()
        url = page.url if live else ""
        # cookies (one call) and the current origin's localStorage: cheaper than the full
        # storage_state(), which visits every origin of every tab
        state: dict[str, Any] = {"cookies": await session.context.cookies(), "origins": []}
        if live and url.startswith("http"):
            local = await page.evaluate(LOCAL_STORAGE_JS)
            if local and local["localStorage"]:
                state["origins"] = [local]
        return url, state

    def has_session(self, run_id: str) -> bool:
        """The run has a context here, made under its rule (else it is made again)."""
        found = self._sessions.get(run_id)
        return found is not None and found.rule == self.rule_of(run_id) and self._live(found)

    async def close_run(self, run_id: str) -> None:
        self._rules.pop(run_id, None)
        self._lenders.pop(run_id, None)
        await self.discard(run_id)

    async def discard(self, run_id: str) -> None:
        """Close the run's context (its rule stays: the next one is made under it)."""
        self._gate.forget(run_id)
        session = self._sessions.pop(run_id, None)
        if session is None:
            return
        with contextlib.suppress(Exception):  # the browser may already be gone
            if session.lender is None:
                await session.context.close()
                return
            if session in session.lender.borrowers:
                session.lender.borrowers.remove(session)
            if session.traffic is not None:
                unwatch(session.context, session.traffic)
            for page in session.pages:  # its tabs only: the context is its lender's
                await page.close()

    async def close(self) -> None:
        for run_id in list(self._sessions):
            await self.close_run(run_id)
        if self._browser is not None:
            with contextlib.suppress(Exception):  # closing a crashed browser
                await self._browser.close()
            self._browser = None
        await self._gate.close()
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


async def _file_request(session: RunSession, route: Any) -> None:
    """Every file:// request of a run's pages: read only inside the workspace (else aborted,
    and remembered for the node's error)."""
    url = route.request.url
    why = session.file_refusal(unquote(urlsplit(url).path))
    if why is None:
        await route.continue_()
        return
    session.refused.append(f"{url}: {why}")
    await route.abort("accessdenied")
