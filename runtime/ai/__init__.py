"""The AI gateway's layer: the model providers (OpenAI-compatible servers, Anthropic) and the
gateway's operations — generate a workflow, suggest a repair, modify a run — each validated
by the engine before it is used. (The healer needs no model: runtime/browser/heal.py.)

Stands on `core`, `store`, `actions` and `engine` (its write path); the MCP server and the
command line stand on it.
"""
