"""Third-party actions and controls through the `weboter.plugins` entry-point group, found
the way pip-installed packages are found (a real dist-info directory on sys.path)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import flow, node
from weboter.runtime.actions import builtin_plugins
from weboter.runtime.core.catalog import Catalog, load_plugins
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(60)

PLUGIN_CODE = """
from weboter.runtime.core.catalog import ActionSpec, ControlDecision, ControlSpec, Plugin

def shout(ctx, inputs):
    return {"text": str(inputs["text"]).upper() + "!"}

def coin(params, ctx):
    return ControlDecision(params["heads"] if params.get("value") else params["tails"])

PLUGIN = Plugin("shop", actions=[ActionSpec("shop.Shout", shout, required=("text",),
                                            outputs=("text",))],
                controls=[ControlSpec("shop.Coin", coin, required=("heads", "tails"),
                                      node_params=("heads", "tails"))])
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[None]:
    (tmp_path / "shop_plugin.py").write_text(PLUGIN_CODE)
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('broken on purpose')\n")
    dist = tmp_path / "shop_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[weboter.plugins]\nshop = shop_plugin:PLUGIN\nbroken = broken_plugin:PLUGIN\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("shop_plugin", None)


def test_plugin_actions_and_controls_run(
    installed_plugin: None, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = load_plugins()
    assert [p.name for p in plugins] == ["shop"]
    assert "broken" in caplog.text  # a broken plugin is skipped with a warning
    catalog = Catalog([*builtin_plugins(), *plugins])
    assert catalog.find_action("Shout") is catalog.find_action("shop.Shout")
    wf = to_workflow(
        flow(
            node(
                "s",
                "Shout",
                "shop.Coin",
                inputs={"text": "hi"},
                outputs=[{"src": "text", "pos": "global"}],
                params={"value": True, "heads": "__end__", "tails": "nowhere"},
            ),
            node("nowhere", control="EndFlow"),
        ),
        "t",
    )
    with Engine(Settings(db_path=db_path), catalog=catalog) as engine:
        client = engine.client()
        run_id = client.submit(wf)
        assert client.wait(run_id, timeout=10).status == "COMPLETED"
    log = EventLog(db_path)
    assert state_at(log, run_id).globals == {"text": "HI!"}
    log.close()
