"""Weboter's runtime, one subpackage per layer. A layer imports only the layers listed before it in
this list (tests/test_layers.py checks it):

    errors      the one exception tree (every layer raises from it)
    core        pure: fold, decide, routing, references, expressions, flows, validation
    store       the event log, the write path (RunStore), snapshots, projections
    transport   the message seam (ZeroMQ and in-memory), the actor base, security, streams
    browser     Chromium host, locators, evidence, the browser actions
    actions     the other builtin actions and the catalog
    (actors)    weboter.actors: one module per actor, each on the layers above
    engine      an engine in this process (wires the actors), its client, `serve`, settings
    demo        the demo shop and its workflow
    cli         the `weboter` command: parse, call the layers before it, print
"""
