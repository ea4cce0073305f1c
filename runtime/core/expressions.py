"""Safe expressions (PyEvalAction, conditions): simpleeval, never Python `eval`.

Only literals, arithmetic, comparisons, boolean logic, subscripts, comprehensions over given
values and a short list of pure functions are allowed. Names are what the caller passes in.
Dunder attributes, imports, lambdas and assignments are refused by simpleeval itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes, FeatureNotAvailable, InvalidExpression

from weboter.runtime.errors import ExpressionError

MAX_EXPRESSION = 2000

FUNCTIONS: dict[str, Any] = {
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "sum": sum,
    "round": round,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "any": any,
    "all": all,
    "floor": math.floor,
    "ceil": math.ceil,
    "json_loads": json.loads,
    "json_dumps": json.dumps,
    "re_search": lambda pattern, text: m.group(0) if (m := re.search(pattern, text)) else None,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "strip": lambda s: str(s).strip(),
}


def evaluate(expr: str, names: Mapping[str, Any]) -> Any:
    """The value of `expr` with `names` bound; ExpressionError says why it was refused."""
    if not isinstance(expr, str):
        raise ExpressionError(f"expression must be text, got {type(expr).__name__}")
    if len(expr) > MAX_EXPRESSION:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION} characters")
    evaluator = EvalWithCompoundTypes(functions=dict(FUNCTIONS), names=dict(names))
    try:
        return evaluator.eval(expr)
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
