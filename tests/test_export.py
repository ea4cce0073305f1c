"""`weboter export RUN`: the run's workflow as it stands now, as a file `weboter run` reads — a
run started from a YAML file is written as that file with the changes made in place (its
comments and layout kept); otherwise the workflow as the log holds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.incli import cli
from weboter.runtime.core.loader import load_workflow
from weboter.runtime.engine.handle import RunHandle, through_log
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import NodeModifications
from weboter.schemas.workflow import Node

pytestmark = pytest.mark.timeout(60)

FLOW = """\
# counts to a target
id: count
name: count
nodes:
  - id: start
    action: EmptyAction
    control: NextNode
    params: {next_node: add}  # then add
  - id: add
    action: PyEvalAction
    inputs: {expr: "param1 + 1", param1: 1}  # one more
    outputs: [{src: result, name: n, pos: global}]
    control: NextNode
    params: {next_node: __end__}
"""


def paused_run(home: Path) -> tuple[Path, str]:
    """A run of FLOW paused before `add`, then changed: `add` patched, a node added."""
    source = home / "count.yaml"
    source.write_text(FLOW)
    ran = cli("run", str(source), "--break", "add", "--json", home=home)
    assert ran.returncode == 0, ran.stderr
    run = json.loads(ran.stdout)["run_id"]
    handle = RunHandle(run, through_log(home / "weboter.db"))
    handle.patch("add", NodeModifications(inputs={"expr": "param1 + 2", "param1": 1}))
    handle.add_node(Node(id="done", action="EmptyAction", params={"next_node": "__end__"}))
    return source, run


def test_a_run_from_a_file_is_exported_as_that_file_changed(tmp_path: Path) -> None:
    _, run = paused_run(tmp_path)
    target = tmp_path / "changed.yaml"
    done = cli("export", run[:8], "-o", str(target), "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert text.startswith("# counts to a target\n")  # every comment kept, in place
    assert "params: {next_node: add}  # then add" in text
    assert 'inputs: {expr: "param1 + 2", param1: 1}  # one more' in text
    assert "  - id: done" in text  # the added node, in the file's own layout
    with Reader(tmp_path / "weboter.db") as log:
        assert load_workflow(target) == log.state(run).workflow


def test_a_file_changed_since_the_run_started_is_not_taken_for_it(tmp_path: Path) -> None:
    source, run = paused_run(tmp_path)
    source.write_text(FLOW.replace("param1: 1}", "param1: 5}"))
    shown = cli("export", run, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "# counts" not in shown.stdout and "param1: 1" in shown.stdout  # the log's
    with Reader(tmp_path / "weboter.db") as log:
        workflow = log.state(run).workflow
    assert [n.id for n in workflow.nodes] == ["start", "add", "done"]
