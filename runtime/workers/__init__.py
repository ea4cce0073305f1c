"""The rules of the worker protocol, above the transport that carries it: which worker holds
which run (`leases`: a lease per run, dispatch, heartbeats, requeue) and what the broker
checks of a worker's report before passing it on (`reports`). The broker (actors/broker.py)
applies them; a worker (runtime/engine/worker.py) reads reports with them."""
