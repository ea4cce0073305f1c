"""Safe expressions (PyEvalAction, conditions): simpleeval, never Python `eval`.

Only literals, arithmetic, comparisons, boolean logic, subscripts, comprehensions over given
values, a short list of pure functions and a short list of methods of text, lists and maps are
allowed. Names are what the caller passes in. Dunder attributes, imports, lambdas and
assignments are refused by simpleeval itself; operations that could build something huge or
run for long are checked first (runtime/core/bounded.py).
"""

from __future__ import annotations

import ast
import functools
import json
import math
import threading
import types
from collections.abc import Mapping
from typing import Any

from simpleeval import (
    DEFAULT_OPERATORS,
    DISALLOW_FUNCTIONS,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    InvalidExpression,
)

from weboter.runtime.core import bounded
from weboter.runtime.errors import ExpressionError

MAX_EXPRESSION = 2000

W = bounded.walking
FUNCTIONS: dict[str, Any] = {
    "len": len,
    "int": int,
    "float": float,
    "str": W(str, "str"),
    "bool": bool,
    "abs": abs,
    "min": W(min, "min"),
    "max": W(max, "max"),
    "sum": bounded.bounded_sum,
    "round": round,
    "sorted": W(sorted, "sorted"),
    "list": W(list, "list"),
    "dict": W(dict, "dict"),
    "any": W(any, "any"),
    "all": W(all, "all"),
    "floor": math.floor,
    "ceil": math.ceil,
    "json_loads": json.loads,
    "json_dumps": W(json.dumps, "json_dumps"),
    "re_search": bounded.regex_search,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "strip": lambda s: str(s).strip(),
}
OPERATORS: dict[Any, Any] = {
    **DEFAULT_OPERATORS,
    ast.Mult: bounded.mul,
    ast.Add: bounded.add,
    ast.Pow: bounded.power,
    ast.LShift: bounded.lshift,
    ast.Mod: bounded.mod,
}


class _Bounded(EvalWithCompoundTypes):
    """simpleeval, with the methods an expression calls checked (runtime/core/bounded.py)."""

    def _check_disallowed_items(self, item: Any) -> None:
        """simpleeval looks through every result for modules and forbidden functions; here
        each object once (shared parts are not walked again) and at most MAX_WALK of them."""
        todo, seen = [item], set()
        while todo:
            value = todo.pop()
            if isinstance(value, str | bytes | int | float | bool) or value is None:
                continue
            if id(value) in seen:
                continue
            seen.add(id(value))
            if len(seen) > bounded.MAX_WALK:
                raise ExpressionError("the result is too big to check", hint=bounded.HINT)
            if isinstance(value, types.ModuleType):
                raise FeatureNotAvailable("Sorry, modules are not allowed")
            if isinstance(value, list | tuple | set | frozenset):
                todo.extend(value)
            elif isinstance(value, dict):
                todo.extend(value.values())
            elif callable(value) and value in DISALLOW_FUNCTIONS:
                raise FeatureNotAvailable("This function is forbidden")

    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            method = self._eval(node.func)
            check = bounded.check_method(method)
            args = [self._eval(a) for a in node.args]
            if node.keywords:
                raise ExpressionError("methods in expressions take no keyword arguments")
            if check is not None:
                check(method.__self__, *args)
            return method(*args)
        return super()._eval_call(node)


_local = threading.local()  # one evaluator per thread: building one costs more than most uses


def _evaluator(names: Mapping[str, Any]) -> _Bounded:
    """This thread's evaluator, with `names` bound and its node table as built (a
    comprehension that failed midway may have left its own names in it)."""
    made: tuple[_Bounded, dict[Any, Any]] | None = getattr(_local, "made", None)
    if made is None:
        evaluator = _Bounded(functions=dict(FUNCTIONS), names={}, operators=OPERATORS)
        made = _local.made = (evaluator, dict(evaluator.nodes))
    evaluator, nodes = made
    evaluator.nodes = dict(nodes)
    evaluator.names = dict(names)
    return evaluator


@functools.lru_cache(maxsize=1024)
def _parsed(expr: str) -> ast.stmt:
    """The syntax tree of `expr` (a loop evaluates the same few expressions again and again;
    the trees are only read). SyntaxError and InvalidExpression as simpleeval raises them."""
    return _Bounded.parse(expr)


def check_syntax(expr: str) -> None:
    """ExpressionError unless `expr` is text of a valid length that parses as an expression
    (names and functions are checked only when it is evaluated)."""
    if not isinstance(expr, str):
        raise ExpressionError(f"expression must be text, got {type(expr).__name__}")
    if len(expr) > MAX_EXPRESSION:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION} characters")
    try:
        ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"expression {expr!r} is not valid: {exc.msg}",
            hint='write a comparison over the run\'s variables, e.g. "page > 2"',
        ) from exc


def evaluate(expr: str, names: Mapping[str, Any]) -> Any:
    """The value of `expr` with `names` bound; ExpressionError says why it was refused."""
    if not isinstance(expr, str):
        raise ExpressionError(f"expression must be text, got {type(expr).__name__}")
    if len(expr) > MAX_EXPRESSION:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION} characters")
    evaluator = _evaluator(names)
    try:
        return evaluator.eval(expr, _parsed(expr))
    except ExpressionError:
        raise
    except (FeatureNotAvailable, InvalidExpression) as exc:
        raise ExpressionError(
            f"expression {expr!r} was refused: {exc}",
            hint="expressions may use literals, operators, the given names and "
            f"these functions: {', '.join(sorted(FUNCTIONS))}",
        ) from exc
    except SyntaxError as exc:
        raise ExpressionError(f"expression {expr!r} is not valid: {exc.msg}") from exc
    except Exception as exc:
        raise ExpressionError(f"expression {expr!r} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        evaluator.names = {}  # the thread keeps the evaluator, not the run's values
