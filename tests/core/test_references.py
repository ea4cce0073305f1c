"""References resolve anywhere; whole-string references keep their type; errors name places."""

from __future__ import annotations

import pytest

from weboter.runtime.core.references import EnvSource, Resolver, display, split_path
from weboter.runtime.core.secrets import redact
from weboter.runtime.errors import ReferenceError_


def resolver(**scopes: dict) -> Resolver:
    return Resolver(
        EnvSource({"shop": {"url": "http://x", "pass": "s3cret!"}}, use_os=False),
        globals_=scopes.get("g"),
        flow=scopes.get("f"),
        prev=scopes.get("p"),
        output=scopes.get("o"),
    )


def test_whole_string_keeps_type_and_inside_strings_interpolates() -> None:
    r = resolver(f={"n": 3, "items": [1, {"k": "v"}]}, g={"on": True})
    assert r.resolve("$flow{n}") == 3
    assert r.resolve("$flow{items[1].k}") == "v"
    assert r.resolve("n=$flow{n}, on=$global{on}") == "n=3, on=true"
    assert r.resolve({"a": ["$flow{n}", {"b": "$env{shop.url}/p"}]}) == {
        "a": [3, {"b": "http://x/p"}]
    }


def test_aliases() -> None:
    r = resolver(p={"x": 1}, o={"y": 2})
    assert r.resolve(["$prev{x}", "$prev_outputs{x}", "$output{y}", "$cur_outputs{y}"]) == [
        1,
        1,
        2,
        2,
    ]


def test_unknown_scope_and_missing_path_name_the_place() -> None:
    with pytest.raises(
        ReferenceError_, match=r"inputs\.url: unknown scope in reference \$nope\{a\}"
    ):
        resolver().resolve("$nope{a}", "inputs.url")
    with pytest.raises(ReferenceError_, match=r"inputs\.x: \$flow\{a\.b\} does not resolve"):
        resolver(f={"a": {}}).resolve("$flow{a.b}", "inputs.x")
    with pytest.raises(ReferenceError_, match="SHOP_NONE"):
        resolver().resolve("$env{shop.none}")


def test_env_values_are_collected_as_secrets_and_come_back_from_markers() -> None:
    r = resolver()
    value = r.resolve("Bearer $env{shop.pass}")
    assert value == "Bearer s3cret!"
    assert r.secrets == {"shop.pass": "s3cret!"}
    stored = redact({"h": value, "whole": "s3cret!", "other": 5}, r.secrets)
    assert "s3cret!" not in repr(stored)
    assert display(stored) == {
        "h": "Bearer $env{shop.pass}",
        "whole": "$env{shop.pass}",
        "other": 5,
    }
    again = resolver(f=stored)
    assert again.resolve("$flow{h}") == "Bearer s3cret!"
    assert again.resolve("$flow{whole}") == "s3cret!"


def test_data_cannot_smuggle_a_marker() -> None:
    sneaky = "\x00$env{shop.pass}\x00"
    stored = redact({"page_text": sneaky}, {})
    assert resolver(f=stored).resolve("$flow{page_text}") != "s3cret!"


def test_split_path() -> None:
    assert split_path("a.b[0].c") == ["a", "b", 0, "c"]
    assert split_path("items.2") == ["items", "2"]


def test_double_dollar_is_a_literal_dollar() -> None:
    r = resolver(f={"n": 3})
    assert r.resolve("costs $$5 and $$flow{n} is not $flow{n}") == "costs $5 and $flow{n} is not 3"
