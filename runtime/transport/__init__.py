"""The transport: how messages move between actors and clients (ZeroMQ, or in memory for
tests), the actor base class, actor addresses, CURVE security and the event-stream client."""
