"""The layers of runtime/ import only layers below them, actors never import each other, and
no module imports itself back through others (walks every import with ast)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"schemas": "weboter.schemas", "actors": "weboter.actors", "runtime": "weboter.runtime"}
# lowest first; a module may import its own layer and any layer before it
LAYERS = [
    "weboter.schemas",
    "weboter.runtime.errors",
    "weboter.runtime.core",
    "weboter.runtime.store",
    "weboter.runtime.transport",
    "weboter.runtime.workers",
    "weboter.runtime.browser",
    "weboter.runtime.actions",
    "weboter.runtime.ai",
    "weboter.actors",
    "weboter.runtime.engine",
    "weboter.runtime.mcp",
    "weboter.runtime.ui",
    "weboter.runtime.demo",
    "weboter.runtime.cli",
]


@functools.cache  # the tests here all read the same sources: each parsed once a session
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


@functools.cache
def nodes(path: Path) -> list[ast.AST]:
    """Every node of the module at `path`, in ast.walk's order."""
    return list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def imports(path: Path, name: str) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    typing_only = {
        id(inner)
        for block in nodes(path)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for inner in ast.walk(block)
    }
    for node in nodes(path):
        if id(node) in typing_only:
            continue  # an import for type annotations only: not a dependency at run time
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("weboter"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("weboter"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def layer(module: str) -> int:
    best = -1
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            best = i
    return best


@functools.cache
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m in imports(path, name) if m in mods} for name, path in mods.items()}


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [m for m in modules() if layer(m) < 0 and m != "weboter.runtime"]
    assert unplaced == []


def test_no_upward_imports() -> None:
    upward = [
        f"{name} ({LAYERS[layer(name)]}) imports {dep} ({LAYERS[layer(dep)]})"
        for name, deps in graph().items()
        for dep in deps
        if layer(dep) > layer(name)
    ]
    assert upward == []


def test_actors_do_not_import_each_other() -> None:
    crossing = [
        f"{name} imports {dep}"
        for name, deps in graph().items()
        if name.startswith("weboter.actors.")
        for dep in deps
        if dep.startswith("weboter.actors.")
    ]
    assert crossing == []


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if dep == node:
                continue
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    # a package's __init__ re-exporting its own modules is not a cycle of the design
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    real = [c for c in cycles if not packages.intersection(c)]
    assert real == [], "\n".join(" -> ".join(c) for c in real)


# front ends whose functions are small with no exception: an MCP tool is a method of its own
NO_TABLES = ("weboter.runtime.mcp",)


def test_big_modules_and_functions() -> None:
    """No module over ~400 lines, no function over ~60 (parsers and tables say so: `# table`,
    except in NO_TABLES)."""
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 420:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in nodes(path):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                first = text.splitlines()[node.lineno - 1]
                table = "# table" in first and not name.startswith(NO_TABLES)
                if length > 65 and not table:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


# the commands that change a run: made by the run handle (runtime/engine/handle.py) only
RUN_COMMANDS = {
    "SetBreakpoint",
    "ClearBreakpoint",
    "SetVariable",
    "PatchNode",
    "AddNode",
    "JumpTo",
    "Rewind",
    "PauseRun",
    "ApplyRepair",
    "RejectRepair",
    "SuggestRepair",
}
DRIVING = {"StartRun", "Drive", "Step", "Stop", "ForkJob"}  # the engine client's to make
FRONT_ENDS = ("weboter.runtime.cli", "weboter.runtime.mcp", "weboter.runtime.ui")


def test_no_front_end_builds_a_command_itself() -> None:
    """The CLI, the terminal debugger, MCP and the UI change a run through its handle."""
    builders = []
    for name, path in modules().items():
        if not name.startswith(FRONT_ENDS) and name != "weboter.runtime.engine.client":
            continue
        for node in nodes(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("weboter"):
                names = {a.name for a in node.names}
                made = (RUN_COMMANDS | (DRIVING if name.startswith(FRONT_ENDS) else set())) & names
                builders += [f"{name}: {m}" for m in sorted(made)]
    assert builders == []


def _calls(name: str) -> dict[str, list[str]]:
    """module -> the lines that call the function `name` imported by name, or import it."""
    found: dict[str, list[str]] = {}
    for module, path in modules().items():
        for node in nodes(path):
            called = isinstance(node, ast.Call) and getattr(node.func, "id", "") == name
            if called or (
                isinstance(node, ast.ImportFrom) and name in {a.name for a in node.names}
            ):
                found.setdefault(module, []).append(f"line {node.lineno}")
    return found


def test_one_place_decides_where_a_run_goes() -> None:
    """A node's control runs in core/advance.py only; the on_error policy is decided in
    core/recover.py, called by the decider only — no actor, runner or front end decides."""
    assert set(_calls("route")) == {"weboter.runtime.core.advance"}
    assert set(_calls("recover")) == {"weboter.runtime.core.decide"}
    assert set(_calls("policy_at")) <= {
        "weboter.runtime.core.recover",
        "weboter.runtime.core.repair",
    }


def test_status_travels_as_a_run_status() -> None:
    """Every message and event field named `status` is a RunStatus, not loose text (RunEnded
    alone also says "REJECTED": a run that could not be driven is no status of a run)."""
    import msgspec  # noqa: PLC0415

    from weboter.schemas import context, events, messages, state  # noqa: PLC0415
    from weboter.schemas.status import RunStatus  # noqa: PLC0415

    loose = []
    for module in (context, events, messages, state):
        for name, kind in vars(module).items():
            if isinstance(kind, type) and issubclass(kind, msgspec.Struct) and name != "RunEnded":
                hints = getattr(kind, "__annotations__", {})
                if "status" in hints and "RunStatus" not in str(hints["status"]):
                    loose.append(f"{module.__name__}.{name}.status: {hints['status']}")
    assert loose == []
    assert messages.Committed(command_id="c", run_id="r", events=[]).status is RunStatus.IDLE


# the one read path: the log is opened by the store's Reader (runtime/store/reading.py) for
# every read; an EventLog is made only by the store, the writer and the actors that follow the
# log's tail with one kept open
OPENS_THE_LOG = {
    "weboter.actors.state_manager",  # the writer (through RunStore)
    "weboter.actors.launcher",  # these three keep the log open to follow it
    "weboter.actors.broker",
    "weboter.actors.context_bus",
    "weboter.runtime.engine.engine",  # makes the log with its durability before the writer
    "weboter.runtime.engine.handle",  # a one-shot command's write path (RunStore), no engine
}


def test_everything_else_reads_the_log_through_the_reader() -> None:
    opened = []
    for name, path in modules().items():
        if name.startswith("weboter.runtime.store") or name in OPENS_THE_LOG:
            continue
        for node in nodes(path):
            if isinstance(node, ast.Call) and "EventLog" in ast.unparse(node.func):
                opened.append(f"{name}:{node.lineno}")
    assert opened == []


def test_the_ui_reads_nothing_through_mcp() -> None:
    """The UI and MCP are two front ends on the same read path; neither reads through the other."""
    crossing = [
        f"{name} imports {dep}"
        for name, deps in graph().items()
        for dep in deps
        if (name.startswith("weboter.runtime.ui") and dep.startswith("weboter.runtime.mcp"))
        or (name.startswith("weboter.runtime.mcp") and dep.startswith("weboter.runtime.ui"))
    ]
    assert crossing == []


def test_front_ends_drive_a_run_through_its_handle() -> None:
    """Step, continue, stop and fork go through RunHandle, not the engine client's verbs."""
    verbs = {"cont", "start_step", "step", "stop", "fork"}
    direct = []
    for name, path in modules().items():
        if not name.startswith(FRONT_ENDS):
            continue
        for node in nodes(path):
            func = node.func if isinstance(node, ast.Call) else None
            if (
                isinstance(func, ast.Attribute)
                and func.attr in verbs
                and isinstance(func.value, ast.Name)
                and "client" in func.value.id
            ):
                direct.append(f"{name}:{node.lineno} {ast.unparse(func)}")
    assert direct == []


def test_pykka_is_used_through_its_public_api() -> None:
    """No module reaches into pykka's non-public names (`_create_actor_inbox`, `pykka._…`): a
    pykka release may change those without notice (docs/decisions.md, Transport)."""
    private = []
    for name, path in modules().items():
        for node in nodes(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pykka._"):
                private.append(f"{name}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.FunctionDef) and node.name == "_create_actor_inbox":
                private.append(f"{name}:{node.lineno} overrides _create_actor_inbox")
            elif isinstance(node, ast.Attribute) and ast.unparse(node).startswith("pykka._"):
                private.append(f"{name}:{node.lineno} uses {ast.unparse(node)}")
    assert private == []
