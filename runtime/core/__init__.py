"""The core: pure functions of workflows, commands, events and states. No I/O, no threads.

`decide(state, command) -> Decision` turns a command into events (routing, sub-flows,
breakpoints, live changes, fork, rewind); `apply(state, event)` folds one event; `route` picks
a node's next node; `validate` checks a workflow; references and expressions resolve values.
Tested without sockets or files (tests/core/).
"""
