"""The browser layer: one Chromium per Node Runner (Playwright), a context per run, locators,
evidence, and the browser actions (pages, elements)."""

from weboter.runtime.browser.host import BrowserHost, BrowserMissing, find_browser
from weboter.runtime.browser.restore import BrowserRestore

__all__ = ["BrowserHost", "BrowserMissing", "BrowserRestore", "find_browser"]
