"""Every actor's address, in one place. A message is sent to an address; the bridge knows
whether it lives in this process (an inproc inbox) or is a remote client's socket identity."""

LAUNCHER = "launcher"
STATE_MANAGER = "state_manager"
CONTINUOUS_EXECUTOR = "continuous_executor"
STEP_EXECUTOR = "step_executor"
EXECUTORS = (CONTINUOUS_EXECUTOR, STEP_EXECUTOR)
NODE_RUNNER = "node_runner"
BUS = "bus"  # the Context Bus: the event stream's publisher and the catch-up service
AI_GATEWAY = "ai_gateway"  # asks the model for repairs (on_error: ai)
FAN_OUT = "fan_out"  # carries out FanOut nodes: an item run per item (actors/fan_out.py)

ACTORS = (
    LAUNCHER,
    STATE_MANAGER,
    CONTINUOUS_EXECUTOR,
    STEP_EXECUTOR,
    NODE_RUNNER,
    BUS,
    AI_GATEWAY,
    FAN_OUT,
)
