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
from collections.abc import Callable, Mapping
from typing import Any

from simpleeval import (
    DEFAULT_OPERATORS,
    DISALLOW_FUNCTIONS,
    MAX_COMPREHENSION_LENGTH,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    InvalidExpression,
    IterableTooLong,
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
    "tuple": W(tuple, "tuple"),
    "set": W(set, "set"),
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
    ast.In: lambda x, y: bounded.contains(y, x),
    ast.NotIn: lambda x, y: not bounded.contains(y, x),
}


_LOOKED_THROUGH = frozenset({ast.Call, ast.Attribute})  # where a foreign object could come from


def _shown(node: ast.AST) -> str:
    """The part of the expression `node` is, as an error names it."""
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _counting(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`handler`, counting what it built against the expression's work budget: text made by
    an f-string, a slice (a copy; an item picked out is not), a literal list or map (`[*x]`,
    `{**x}` copy what they unpack)."""

    def counted(node: Any) -> Any:
        built = handler(node)
        if not isinstance(node, ast.Subscript) or isinstance(node.slice, ast.Slice):
            bounded.spend(bounded.items(built), lambda: _shown(node))
        return built

    return counted


class _Bounded(EvalWithCompoundTypes):
    """simpleeval, with the methods an expression calls checked and everything it builds,
    searches or walks counted against its work budget (runtime/core/bounded.py)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.functions.update(FUNCTIONS)  # simpleeval put the unbounded list, dict ... back
        for kind in (ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Subscript):
            self.nodes[kind] = _counting(self.nodes[kind])

    def _check_disallowed_items(self, item: Any, node: ast.AST | None = None) -> None:
        """simpleeval looks through every result for modules and forbidden functions; here
        each object once (shared parts are not walked again) and at most MAX_WALK of them.
        What it looks through counts against the expression's work budget."""
        if isinstance(item, str | bytes | int | float | bool) or item is None:
            return
        todo, seen, looked = [item], set(), 0
        while todo:
            value = todo.pop()
            looked += 1
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
        bounded.spend(
            looked * bounded.WALK_COST,
            lambda: f"looking through what {_shown(node) if node else 'a call'} returned",
        )

    def _eval(self, node: ast.AST) -> Any:
        """simpleeval's, but only what a call returns (or an attribute) is looked through for
        forbidden things: every other part is made of given data and parts already looked
        through, and looking through all of them again at every step made a comprehension
        over a big value quadratic."""
        handler = self.nodes.get(type(node))
        if handler is None:
            raise FeatureNotAvailable(
                f"Sorry, {type(node).__name__} is not available in this evaluator"
            )
        result = handler(node)
        if type(node) in _LOOKED_THROUGH:
            self._check_disallowed_items(result, node)
        return result

    def _eval_call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Attribute):
            result = super()._eval_call(node)
            if isinstance(result, str | bytes):  # what it walked was counted; the text it made
                bounded.spend(len(result), lambda: _shown(node))
            return result
        method = self._eval(node.func)
        check = bounded.check_method(method)
        args = [self._eval(a) for a in node.args]
        if node.keywords:
            raise ExpressionError("methods in expressions take no keyword arguments")
        if check is not None:
            check(method.__self__, *args)
        result = method(*args)
        work = bounded.scanned(method.__self__) + bounded.items(result)
        if work:
            bounded.spend(work, lambda: _shown(node))
        return result


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
    bounded.start_work()
    try:
        return evaluator.eval(expr, _parsed(expr))
    except ExpressionError:
        raise
    except IterableTooLong as exc:
        why = str(exc)
        if "Comprehension" in why:
            why = f"its comprehensions go through more than {MAX_COMPREHENSION_LENGTH:,} items"
        raise ExpressionError(f"expression {expr!r} was refused: {why}", hint=bounded.HINT) from exc
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
