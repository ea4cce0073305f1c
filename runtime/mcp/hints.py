"""What each tool does to the world, as MCP tool annotations a host shows its user or uses to
ask before a call: `readOnlyHint` (changes nothing: no run, no page, no file), `destructiveHint`
(may undo or end what was there: a run stopped, rewound, a session ended), `idempotentHint`
(the same call twice does no more than once), `openWorldHint` (reaches outside the log: a
website, a model). Every tool has an entry (tests/mcp/test_mcp.py checks it)."""

from __future__ import annotations

from mcp_types import ToolAnnotations

READS = {
    "catalog",
    "workflow_schema",
    "validate_workflow",
    "list_runs",
    "get_snapshot",
    "get_events",
    "diff_runs",
    "verify_run",
    "export_workflow",
    "session_export",
}
LOOKS = {"page_snapshot", "browser_snapshot", "generate_workflow"}  # read, but reach out
CHANGES = {  # runs change; nothing is lost
    "set_breakpoint",
    "clear_breakpoint",
    "set_variable",
    "patch_node",
    "jump_to",
    "pause_run",
    "run_workflow",
    "step",
    "continue_run",
    "fork_run",
    "suggest_repair",
    "reject_repair",
    "session_start",
}
UNDOES = {
    "rewind",
    "stop_run",
    "repair_run",
    "approve_repair",
    "session_end",
}  # may end or undo a run's course
ACTS = {  # act on a website through the browser
    "browser_navigate",
    "browser_click",
    "browser_type",
    "browser_select_option",
    "browser_press_key",
    "browser_hover",
    "browser_wait_for",
    "browser_navigate_back",
    "browser_tabs",
    "browser_extract",
    "session_save",
}


def hints(tool: str) -> ToolAnnotations:
    """The annotations of `tool`; KeyError for a tool nobody classified."""
    if tool in READS:
        return ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
    if tool in LOOKS:
        return ToolAnnotations(read_only_hint=True, open_world_hint=True)
    if tool in CHANGES:
        return ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    if tool in UNDOES:
        return ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
    if tool in ACTS:  # a click on a website may do anything the site does
        return ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
    raise KeyError(f"the MCP tool {tool!r} has no annotations in runtime/mcp/hints.py")
