"""The actors of an engine, one module each (docs/architecture.md, "The actors"): Launcher,
State Manager, Continuous and Step Executors, Node Runner, Context Bus, AI Gateway, and the
Broker that stands in for the Node Runner when nodes run on workers. An actor owns its state
and talks to the others only by message; none imports another."""
