"""Every builtin action and control lists every input or param it reads, and `weboter catalog`
shows them all.

`READS` is the table of what each entry reads. The source is checked against it: every
`inputs["x"]` / `inputs.get("x")` (`params[...]` for controls) in the entry's function, and in
the helpers it calls, must be in the table; and every name of the table must be in the entry's
`required`, `defaults` or `optional`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from weboter.runtime.actions import basic, builtin_plugins, data, export, http
from weboter.runtime.browser import elements, pages, support
from weboter.runtime.cli.main import main
from weboter.runtime.core import controls

FIND = {"locator", "locators", "scope", "timeout"}  # what support.locate reads
HTTP = {"headers", "timeout", "params", "json_body", "form_body", "body", "url"}
NAVIGATE = {"url", "timeout", "wait_until", "allow_error_status"}

READS: dict[str, set[str]] = {
    "builtin.EmptyAction": set(),
    "builtin.SleepFor": {"duration"},
    "builtin.SetData": {"key", "value"},
    "builtin.PyEvalAction": {"expr", "param1", "param2", "param3", "param4"},
    "builtin.WriteTextFile": {"path", "content", "encoding", "append"},
    "builtin.SubFlow": {"flow_id", "data_in", "data_out"},  # read by the engine (decide.py)
    # read by the engine's fan-out (runtime/core/items.py)
    "builtin.FanOut": {"flow_id", "items", "item", "at_once", "data_in", "data_out"},
    "data.JsonParse": {"text"},
    "data.JsonStringify": {"data", "pretty", "ensure_ascii"},
    "data.JsonGetPath": {"path", "data", "default", "strict"},
    "data.RegexExtract": {"text", "pattern", "group", "all", "flags"},
    "data.Base64Encode": {"text"},
    "data.Base64Decode": {"base64", "encoding"},
    "data.DictMerge": {"items"},
    "data.ListUnique": {"items"},
    "builtin.FetchUrl": {"url", "timeout", "encoding"},
    "http.HttpRequest": {"method", *HTTP},
    **{f"http.Http{verb}": HTTP for verb in ("Get", "Post", "Put", "Delete", "Patch", "Head")},
    "builtin.OpenBrowser": {"browser_type"},
    "builtin.OpenPage": NAVIGATE,
    "builtin.GoBack": {"timeout"},
    "builtin.Reload": {"timeout"},
    "builtin.NewPage": NAVIGATE,
    "builtin.SwitchPage": {"index", "url"},
    "builtin.ClosePage": set(),
    "builtin.SwitchFrame": {"locator"},
    "builtin.EvaluateJS": {"script", "arg"},
    "builtin.Screenshot": {"full_page", *FIND},
    "builtin.Scroll": {"amount", "to", "until_no_new", "max_rounds", "pause"},
    "builtin.Download": FIND,
    "builtin.ClickItem": {"no_error", "force", *FIND},
    "builtin.FillInput": {"text", *FIND},
    "builtin.WaitElement": FIND,
    "builtin.ExtractData": {"data_source", *FIND},
    "builtin.GetElement": FIND,
    "builtin.GetElements": {"wait", *FIND},
    "builtin.NextElement": {"element"},
    "builtin.SelectOption": {"value", "label", *FIND},
    "builtin.PressKey": {"key", *FIND},
    "builtin.Hover": FIND,
    "builtin.Check": {"checked", *FIND},
    "builtin.UploadFile": {"files", *FIND},
    "builtin.AssertText": {"text", "exact", *FIND},
    "builtin.AssertVisible": FIND,
    "builtin.ExtractList": {"fields", "allow_empty", *FIND},
    "builtin.ExportData": {"path", "data", "format"},
    "builtin.NextNode": {"next_node"},
    "builtin.IfElse": {"var", "value", "operator", "then_node", "else_node"},
    "builtin.LoopUntil": {"var", "value", "loop_back", "loop_out", "loop_tries", "loop_fail_node"},
    "builtin.ByMap": {"key", "route_map", "default_node"},
    "builtin.EndFlow": set(),
    "builtin.ForEach": {"items", "item", "index", "body", "done"},
    "builtin.Paginate": {"has_next", "max_pages", "loop_back", "done"},
}

MODULES: list[ModuleType] = [basic, data, http, export, pages, elements, support, controls]
ARGUMENTS = ("inputs", "params")


def _specs() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for plugin in builtin_plugins():
        found.update({a.name: a for a in plugin.actions})
        found.update({c.name: c for c in plugin.controls})
    return found


SPECS = _specs()


@functools.cache
def _functions() -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every module-level function of the builtin modules, by name."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for module in MODULES:
        for node in ast.parse(inspect.getsource(module)).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.setdefault(node.name, node)
    return found


def _key(node: ast.expr, defaults: dict[str, str]) -> str | None:
    """The key a read uses: a string literal, or a parameter with a string default."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return defaults.get(node.id)
    return None


def _reads_here(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[str]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults = {
        a.arg: d.value
        for a, d in [
            *zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]
        if isinstance(d, ast.Constant) and isinstance(d.value, str)
    }
    for node in ast.walk(function):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id in ARGUMENTS:
                key = _key(node.slice, defaults)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if (
                node.func.attr == "get"
                and isinstance(target, ast.Name)
                and target.id in ARGUMENTS
                and node.args
            ):
                key = _key(node.args[0], defaults)
        if key is not None:
            yield key


def _calls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[str]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            yield node.func.id


def source_reads(fn: Any) -> set[str]:
    """The literal keys `fn` and the module functions it calls read from inputs/params."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    functions = _functions()
    todo, seen, keys = [fn.__name__], set(), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        keys.update(_reads_here(functions[name]))
        todo.extend(_calls(functions[name]))
    return keys


def listed(spec: Any) -> set[str]:
    return {*spec.required, *getattr(spec, "defaults", {}), *spec.optional}


def test_the_table_names_every_builtin_entry() -> None:
    assert set(READS) == set(SPECS)


@pytest.mark.parametrize("name", sorted(READS))
def test_the_source_reads_nothing_beyond_the_table(name: str) -> None:
    extra = source_reads(SPECS[name].fn) - READS[name]
    assert not extra, f"{name} reads {sorted(extra)}; add them to READS and to its catalog entry"


@pytest.mark.parametrize("name", sorted(READS))
def test_the_catalog_entry_lists_every_read(name: str) -> None:
    spec = SPECS[name]
    missing = READS[name] - listed(spec)
    assert not missing, f"{name} does not list {sorted(missing)}"
    assert not set(spec.optional) & set(spec.required), f"{name}: optional and required overlap"
    assert not set(spec.optional) & set(getattr(spec, "defaults", {})), (
        f"{name}: an input with a default belongs in `defaults`, not also in `optional`"
    )


def test_the_source_scan_finds_reads_through_helpers() -> None:
    assert {"locator", "locators", "scope", "timeout"} <= source_reads(elements.click_item)
    assert {"wait_until", "allow_error_status"} <= source_reads(pages.new_page)
    assert "method" in source_reads(http.http_request)
    assert "method" not in source_reads(SPECS["http.HttpGet"].fn)  # the verb is in the name


def test_catalog_json_lists_every_input_and_param(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    entries = {e["name"]: e for e in [*shown["actions"], *shown["controls"]]}
    assert set(READS) <= set(entries)
    for name, reads in READS.items():
        entry = entries[name]
        missing = reads - {*entry["required"], *entry["optional"]}
        assert not missing, f"`weboter catalog --json` does not list {sorted(missing)} for {name}"
        assert set(entry.get("defaults", {})) <= set(entry["optional"]), name
        assert not set(entry["required"]) & set(entry["optional"]), name
    loop = entries["builtin.LoopUntil"]
    assert loop["required"] == ["loop_back", "loop_out"]
    assert set(loop["optional"]) == {"var", "value", "loop_tries", "loop_fail_node"}


def test_catalog_text_lists_every_input_and_param(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name, reads in READS.items():
        line = lines[name]
        for read in reads:
            assert f" {read}" in line or f"{read}=" in line, f"{name}: {read} not shown: {line}"
    assert "optional: var, value, loop_tries, loop_fail_node" in lines["builtin.LoopUntil"]
