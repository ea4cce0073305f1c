"""The dev UI: `weboter ui` serves a page to step, inspect and time-travel runs in a browser
(docs/ui.md). app.py builds the web app; reads.py and commands.py are what it shows and does;
sse.py streams the log's new events; guard.py decides who may use it; static/ is the page."""
