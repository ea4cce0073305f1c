"""A workflow writes only inside its workspace (or a folder a person allowed), never onto
the log: every other path is a clear node error, and nothing is written there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import flow, node
from tests.incli import cli
from weboter.runtime.errors import ActionError
from weboter.runtime.store.workspace import PathRefused, Workspace


@pytest.fixture
def space(tmp_path: Path) -> Workspace:
    return Workspace.beside(tmp_path / "home" / "weboter.db")


def test_relative_paths_land_in_the_workspace(space: Workspace, tmp_path: Path) -> None:
    target = space.writable("out/report.csv")
    assert target == (tmp_path / "home" / "workspace" / "out" / "report.csv").resolve()
    assert target.parent.is_dir()


@pytest.mark.parametrize(
    "path",
    [
        "../weboter.db",  # the log, through ..
        "../weboter.db-wal",
        "../artifacts/x.png",
        "../../elsewhere.txt",
        "/etc/passwd",
        "~/.bashrc",
    ],
)
def test_paths_outside_or_onto_the_log_are_refused(space: Workspace, path: str) -> None:
    with pytest.raises(PathRefused) as refused:
        space.writable(path)
    assert isinstance(refused.value, ActionError)
    assert refused.value.hint


def test_a_symlink_out_of_the_workspace_is_followed_and_refused(
    space: Workspace, tmp_path: Path
) -> None:
    space.root.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, space.root / "escape")
    with pytest.raises(PathRefused, match="outside the workspace"):
        space.writable("escape/x.txt")


def test_allowed_folders_widen_it_but_never_to_the_log(tmp_path: Path) -> None:
    space = Workspace.beside(tmp_path / "weboter.db", allow=[tmp_path])
    assert space.writable(str(tmp_path / "x.txt")) == (tmp_path / "x.txt").resolve()
    with pytest.raises(PathRefused, match="event log"):
        space.writable(str(tmp_path / "weboter.db"))


def test_a_workflow_cannot_overwrite_its_own_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    wf = flow(
        node("w", "WriteTextFile", "EndFlow", inputs={"path": "$global{target}", "content": "x"})
    )
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf), encoding="utf-8")
    for target in (str(home / "weboter.db"), str(tmp_path / "bashrc")):
        ran = cli("run", str(path), "--var", f"target={target}", "--json", home=home)
        assert ran.returncode == 1, ran.stderr
        summary = json.loads(ran.stdout)
        assert summary["status"] == "FAILED"
        assert summary["error"]["kind"] == "PathRefused"
    assert not (tmp_path / "bashrc").exists()
    assert cli("runs", home=home).returncode == 0  # the log is intact
    allowed = cli(
        "run",
        str(path),
        "--var",
        f"target={tmp_path / 'bashrc'}",
        "--allow-path",
        str(tmp_path),
        home=home,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "bashrc").read_text() == "x"
