"""The store: the SQLite event log and everything read from or written to it.

`RunStore.execute(command)` is the one write path (read state, decide, redact, append in one
transaction, fold once); `state_at`, `runs`, `history` and `context_snapshot` are the one read
model, derived from the same fold. sqlite3 and msgspec errors are mapped to `LogError` here.
"""
