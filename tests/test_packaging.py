"""What `pip install .` (not editable) puts in the wheel: every package of the source tree,
and the data files the code reads (the UI's page, the demo's workflow)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"schemas": "weboter.schemas", "actors": "weboter.actors", "runtime": "weboter.runtime"}


def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_listed() -> None:
    listed = set(config()["packages"])
    found = {
        ".".join([package, *init.parent.relative_to(ROOT / folder).parts])
        for folder, package in FOLDERS.items()
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_the_ui_page_and_its_files_are_package_data() -> None:
    patterns = config()["package-data"]["weboter.runtime.ui"]
    static = ROOT / "runtime" / "ui"
    files = [
        p.relative_to(static).as_posix() for p in (static / "static").rglob("*") if p.is_file()
    ]
    missed = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert files
    assert missed == []


def test_the_demo_sites_pages_are_package_data() -> None:
    patterns = config()["package-data"]["weboter.runtime.demo"]
    demo = ROOT / "runtime" / "demo"
    files = [p.relative_to(demo).as_posix() for p in (demo / "pages").rglob("*") if p.is_file()]
    assert files
    assert [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)] == []
