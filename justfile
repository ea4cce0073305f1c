# Weboter's tasks. `just --list` shows them. Everything runs from the project's .venv.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
bin := venv + "/bin"

# show the tasks
default:
    @just --list

# create .venv, install Weboter with its development tools, and get a Chromium
setup:
    test -x {{bin}}/python || python3 -m venv {{venv}}
    {{bin}}/python -m pip install -q --upgrade pip
    {{bin}}/python -m pip install -q -e '.[dev]'
    {{bin}}/weboter browser install --if-missing

# run the test suite (pass pytest arguments after it: just test -k log)
test *args:
    {{bin}}/python -m pytest -q -n 3 {{args}}

# formatting, lint and types
lint:
    {{bin}}/ruff format --check .
    {{bin}}/ruff check .
    mkdir -p .mypy_path/weboter
    for d in schemas actors runtime; do ln -sfn ../../$d .mypy_path/weboter/$d; done
    MYPYPATH=.mypy_path {{bin}}/mypy -p weboter.schemas -p weboter.actors -p weboter.runtime

# format the code in place
fmt:
    {{bin}}/ruff format .
    {{bin}}/ruff check --fix .

# everything that must pass before a commit
check: lint test

# the screenshots docs/ui.md shows, made again by the UI's end-to-end tests
doc-shots:
    WEBOTER_DOC_SHOTS=1 {{bin}}/python -m pytest -q -n 3 tests/ui

# the healer on sites it was never tuned to: correct / wrong / refused per kind of change
bench-heal:
    {{bin}}/python bench/heal.py

# context cost of an agent session beside Playwright MCP (npm: @playwright/mcp)
bench-context:
    {{bin}}/python bench/context_cost.py

# the log on PostgreSQL beside SQLite: appends/s, per-node overhead, takeover after SIGKILL
bench-postgres:
    {{bin}}/python bench/postgres.py

# benchmarks: ratios against baselines measured in the same run
bench:
    {{bin}}/python bench/node_overhead.py --durability sync
    {{bin}}/python bench/node_overhead.py --durability full --no-memory
    {{bin}}/python bench/browser_overhead.py
    {{bin}}/python bench/time_travel.py
    {{bin}}/python bench/ui_open.py
    {{bin}}/python bench/restore.py
    {{bin}}/python bench/workers.py
    {{bin}}/python bench/actor_hop.py

# Weboter against LangGraph + SqliteSaver on the same loop (installs the `peer` extra first)
bench-peer:
    {{bin}}/python -m pip install -q -e '.[peer]'
    {{bin}}/python bench/peer.py

# many runs at once: pages/min and peak memory of Weboter against Crawlee's PlaywrightCrawler on
# a local shop (installs the `bench` extra first; --quick for a smoke test)
bench-throughput *args:
    {{bin}}/python -m pip install -q -e '.[bench]'
    {{bin}}/python bench/throughput.py {{args}}

# mutants of the examples through validate and run: counts of exit codes, no crash, no hang
fuzz count="600":
    {{bin}}/python bench/fuzz.py --count {{count}}

# fork the demo at every one of its browser steps in every restore mode (about 4 minutes)
fidelity:
    WEBOTER_FIDELITY=all {{bin}}/pytest -q tests/browser/test_fork_fidelity.py

# scrape the demo shop (served on loopback) in headless Chromium and write a CSV
demo:
    {{bin}}/weboter demo
