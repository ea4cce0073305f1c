"""The browser layer: one Chromium per Node Runner (Playwright), a context per run, locators,
evidence, and the browser actions (pages, elements)."""
