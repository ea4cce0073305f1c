"""ExportData: rows (a list of dicts) to CSV, JSON or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.errors import ActionError
from weboter.runtime.store.private import write_private

FORMATS = ("csv", "json", "jsonl")


def export_data(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    rows = inputs.get("data")
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ActionError(
            "ExportData: `data` must be a list of records (dicts)",
            hint="ExtractList's `items`, or a list built with SetData",
        )
    path = ctx.writable(str(inputs["path"]))
    fmt = str(inputs.get("format") or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ActionError(f"ExportData: format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        text = buffer.getvalue()
    elif fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    try:
        write_private(path, text.encode("utf-8"))  # a new file: 0600, whatever the umask
    except OSError as exc:
        raise ActionError(f"ExportData: cannot write {path}: {exc.strerror}") from exc
    return {"path": str(path), "rows": len(rows), "format": fmt}


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


PLUGIN = Plugin(
    name="export",
    actions=[
        ActionSpec(
            "builtin.ExportData",
            export_data,
            required=("path",),
            defaults={"data": [], "format": None},
            outputs=("path", "rows", "format"),
        )
    ],
)
