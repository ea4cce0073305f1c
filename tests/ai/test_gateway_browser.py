"""`on_error: ai` in real Chromium: a locator breaks, the AI Gateway shows the model the page
(its accessibility text, never a secret) and applies the model's patch; the run completes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.ai.model_server import ModelServer, Reply
from tests.incli import cli
from weboter.runtime.ai.models import ModelConfig
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings

pytestmark = pytest.mark.timeout(240)


def test_the_model_sees_the_page_and_its_patch_completes_the_run(tmp_path: Path) -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    links = next(n for n in data["nodes"] if n["id"] == "links")
    fixed_inputs = {**links["inputs"], "timeout": 5000}  # the default, said: the patch sets it
    links["inputs"]["locator"] = {"element": "li.gone", "type": "css"}  # the break ...
    links["inputs"]["timeout"] = 1000  # ... found out after 1 s, not the default 5
    patch = {
        "kind": "patch",
        "node_id": "links",
        "changes": {"inputs": fixed_inputs},
        "reason": "the products are li.product items",
        "confidence": 0.9,
    }
    env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
    with ModelServer([Reply(json.dumps(patch))]) as model, ShopServer() as shop:
        config = ModelConfig(model="scripted", base_url=model.base_url)
        settings = Settings(db_path=tmp_path / "weboter.db", model=config, allow_paths=[tmp_path])
        engine = Engine(settings, env=env)
        with engine, engine.client() as client:
            run_id = client.submit(
                to_workflow(data, "broken"),
                variables={"base_url": shop.url, "out": str(tmp_path / "p.csv"), "rows": []},
                on_error="ai",
            )
            ended = client.wait(run_id, timeout=200)
    assert ended.status == "COMPLETED", ended.error
    told = model.bodies[0]
    assert PRODUCTS[0].name in told  # the page went with the question ...
    assert PASSWORD not in told  # ... never a secret
    assert len((tmp_path / "p.csv").read_text().splitlines()) == len(PRODUCTS) + 1


def test_weboter_repair_shows_the_model_the_page(tmp_path: Path) -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    links = next(n for n in data["nodes"] if n["id"] == "links")
    links["inputs"]["locator"] = {"element": "li.gone", "type": "css"}
    links["inputs"]["timeout"] = 1000  # the break found out after 1 s, not the default 5
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    skip = {"kind": "skip", "reason": "nothing to list", "confidence": 0.2}
    with ShopServer() as shop, ModelServer([Reply(json.dumps(skip))]) as model:
        ran = cli(
            "run",
            str(broken),
            "--json",
            "--on-error",
            "pause",
            "--var",
            f"base_url={shop.url}",
            "--var",
            f"out={tmp_path / 'p.csv'}",
            "--var",
            "rows=[]",
            "--env-file",
            str(env_file),
            "--allow-path",
            str(tmp_path),
            home=tmp_path,
        )
        run = json.loads(ran.stdout)
        assert run["status"] == "ERROR", ran.stdout + ran.stderr
        asked = cli("repair", run["run_id"], "--json", home=tmp_path, env=model.env())
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["suggestion"]["kind"] == "skip"
    told = model.bodies[0]
    assert PRODUCTS[0].name in told and PASSWORD not in told
