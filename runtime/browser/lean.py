"""What keeps a run's Chromium renderers small (docs/performance.md, "Many runs at once").

- **No WebUI omnibox popup per run.** Chromium 15x preloads its omnibox popup as WebUI pages
  (`chrome://omnibox-popup.top-chrome/`) for every window, and headless Chromium makes a window
  for every browser context: a renderer process of ~40 MiB per run that no page of the run
  uses. Two features turn it off (the popup is never shown headless). Chromium keeps only the
  last `--disable-features` it is given and Playwright gives its own, so Weboter's flag
  repeats Playwright's list; a launch checks that nothing of Playwright's was lost (another
  Playwright may disable other features) and, if something was, launches again with both.
- **The garbage of old pages collected.** A tab that navigates keeps every page it left (its
  document, and Playwright's injected script for it) until V8 runs a full collection, which
  it puts off for as long as the renderer has room: ~1 MiB of heap per page with the scripts a
  browser node runs, the renderer at 150-200 MiB after 100 pages. After every
  `COLLECT_EVERY` pages a run's tabs loaded, their garbage is collected (one CDP call, ~35-65
  ms on a busy machine).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# the features Weboter turns off: the omnibox popup's WebUI pages, and their renderer
OWN_DISABLED = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
# what Playwright (1.65) disables itself; a launch finds out what another Playwright adds
PLAYWRIGHT_DISABLED = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
]
FEATURES_FLAG = "--disable-features="

COLLECT_EVERY = 5  # pages loaded by a run's tabs between two collections of their garbage


def disable_features_arg() -> str:
    """The one `--disable-features` a Weboter Chromium gets: Playwright's and its own."""
    return FEATURES_FLAG + ",".join(dict.fromkeys([*PLAYWRIGHT_DISABLED, *OWN_DISABLED]))


async def features_lost(browser: Any) -> list[str]:
    """The features the launcher's own `--disable-features` turned off that the last one
    (Weboter's, the one Chromium keeps) leaves on; [] when none, or when the browser's command
    line cannot be read (not Linux, not a local browser)."""
    try:
        cdp = await browser.new_browser_cdp_session()
        try:
            info = await cdp.send("SystemInfo.getProcessInfo")
        finally:
            await cdp.detach()
        pid = next(p["id"] for p in info["processInfo"] if p["type"] == "browser")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except Exception:  # nothing to check against: launch as it is
        return []
    given = [a[len(FEATURES_FLAG) :].split(",") for a in argv if a.startswith(FEATURES_FLAG)]
    if len(given) < 2:
        return []
    kept = set(given[-1])
    return [f for flag in given[:-1] for f in flag if f and f not in kept]


def learn(lost: list[str]) -> None:
    """Disable `lost` too from now on (the next launch of this process)."""
    log.warning(
        "this Playwright disables Chromium features Weboter's launch did not repeat (%s): "
        "launching again with them (runtime/browser/lean.py lists Playwright's)",
        ", ".join(lost),
    )
    PLAYWRIGHT_DISABLED.extend(f for f in lost if f not in PLAYWRIGHT_DISABLED)


class Loads:
    """Counts the pages a run's tabs load; `due()` says when their garbage is to be collected."""

    def __init__(self, every: int = COLLECT_EVERY) -> None:
        self.every = every
        self.count = 0

    def watch(self, page: Any) -> None:
        """Count `page`'s main-frame loads from now on."""

        def loaded(frame: Any) -> None:
            if frame.parent_frame is None:
                self.count += 1

        page.on("framenavigated", loaded)

    def due(self) -> bool:
        if self.every <= 0 or self.count < self.every:
            return False
        self.count = 0
        return True


async def collect_garbage(context: Any, pages: list[Any]) -> None:
    """A full garbage collection in each of `pages` (their renderers give back what the pages
    they left held); never raises."""
    for page in pages:
        if page.is_closed():
            continue
        with contextlib.suppress(Exception):  # a page closing meanwhile, a crashed renderer
            cdp = await context.new_cdp_session(page)
            try:
                await cdp.send("HeapProfiler.collectGarbage")
            finally:
                await cdp.detach()
