"""The data plugin: JSON, regular expressions, base64, dict and list helpers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import regex

from weboter.runtime.core.bounded import REGEX_SECONDS
from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.core.references import _MISSING, lookup
from weboter.runtime.errors import ActionError

_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE}


def json_parse(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    text = inputs["text"]
    if not isinstance(text, str | bytes):
        return {"data": text}  # already structured
    try:
        return {"data": json.loads(text)}
    except json.JSONDecodeError as exc:
        raise ActionError(
            f"text is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def json_stringify(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    indent = 2 if inputs.get("pretty") else None
    try:
        text = json.dumps(
            inputs.get("data"), indent=indent, ensure_ascii=bool(inputs.get("ensure_ascii"))
        )
    except TypeError as exc:
        raise ActionError(f"data cannot be written as JSON: {exc}") from exc
    return {"text": text}


def json_get_path(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    path = str(inputs["path"])
    found = lookup(inputs.get("data"), path)
    if found is _MISSING:
        if inputs.get("strict"):
            raise ActionError(
                f"path {path!r} is not in the data", hint="check the path, or set strict: false"
            )
        return {"value": inputs.get("default"), "found": False}
    return {"value": found, "found": True}


def regex_extract(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    text = "" if inputs.get("text") is None else str(inputs.get("text"))
    flags = 0
    for letter in str(inputs.get("flags") or ""):
        if letter not in _FLAGS:
            raise ActionError(f"unknown regex flag {letter!r}", hint="flags are i, m, s, x")
        flags |= _FLAGS[letter]
    try:
        pattern = regex.compile(str(inputs["pattern"]), flags)
    except regex.error as exc:
        raise ActionError(f"pattern {inputs['pattern']!r} is not a valid regex: {exc}") from exc
    group = inputs.get("group", 0)
    group = int(group) if isinstance(group, str) and group.isdigit() else group
    try:  # bounded in time: a pattern that backtracks without end is stopped
        values = [m.group(group) for m in pattern.finditer(text, timeout=REGEX_SECONDS)]
    except (IndexError, regex.error) as exc:
        raise ActionError(f"pattern has no group {group!r}") from exc
    except TimeoutError as exc:
        raise ActionError(
            f"pattern {inputs['pattern']!r} searched for more than {REGEX_SECONDS} s",
            hint="nested repeats like (a+)+ backtrack without end; make the pattern simpler",
        ) from exc
    if not inputs.get("all"):
        values = values[:1]
    return {"value": values[0] if values else None, "values": values, "matched": bool(values)}


def base64_encode(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    text = inputs.get("text")
    raw = text if isinstance(text, bytes) else str(text or "").encode()
    return {"base64": base64.b64encode(raw).decode("ascii")}


def base64_decode(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        raw = base64.b64decode(str(inputs.get("base64") or ""), validate=True)
        return {"text": raw.decode(inputs.get("encoding") or "utf-8")}
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ActionError(f"input is not base64 of text: {exc}") from exc


def dict_merge(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index, item in enumerate(inputs.get("items") or []):
        if not isinstance(item, dict):
            raise ActionError(f"items[{index}] is a {type(item).__name__}, not a dict")
        result.update(item)
    return {"result": result}


def list_unique(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    seen: list[Any] = []
    keys: set[str] = set()
    for item in inputs.get("items") or []:
        key = json.dumps(item, sort_keys=True, default=str)
        if key not in keys:
            keys.add(key)
            seen.append(item)
    return {"result": seen}


PLUGIN = Plugin(
    name="data",
    actions=[
        ActionSpec("data.JsonParse", json_parse, required=("text",), outputs=("data",)),
        ActionSpec(
            "data.JsonStringify",
            json_stringify,
            defaults={"data": None, "pretty": False, "ensure_ascii": False},
            outputs=("text",),
        ),
        ActionSpec(
            "data.JsonGetPath",
            json_get_path,
            required=("path",),
            defaults={"data": None, "default": None, "strict": False},
            outputs=("value", "found"),
        ),
        ActionSpec(
            "data.RegexExtract",
            regex_extract,
            required=("pattern",),
            defaults={"text": "", "group": 0, "all": False, "flags": ""},
            outputs=("value", "values", "matched"),
        ),
        ActionSpec("data.Base64Encode", base64_encode, defaults={"text": ""}, outputs=("base64",)),
        ActionSpec(
            "data.Base64Decode",
            base64_decode,
            defaults={"base64": ""},
            outputs=("text",),
            optional=("encoding",),
        ),
        ActionSpec("data.DictMerge", dict_merge, defaults={"items": []}, outputs=("result",)),
        ActionSpec("data.ListUnique", list_unique, defaults={"items": []}, outputs=("result",)),
    ],
)
