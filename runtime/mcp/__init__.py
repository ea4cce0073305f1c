"""The MCP layer: Weboter as a Model Context Protocol server (`weboter mcp`), on the official
`mcp` SDK. AI clients read runs from the log, change them through the write path, and drive
them with an engine in the server process. Stands on `engine`, `store` and `core`.
"""

from weboter.runtime.mcp.server import PROFILES, build_server

__all__ = ["PROFILES", "build_server"]
