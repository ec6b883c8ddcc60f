"""The arithmetic and the conditions of the check table, read safely (``ast``, never ``eval``).

An *expression* is names, numbers, ``+ − × ÷`` (or ``+ - * /``) and parentheses: ``F29 + F30``,
``F05 ÷ F01``, ``1 - yoy_max_fall``. Anything else — a call, an attribute, a power, a comparison —
is refused when the table loads. :func:`evaluate` computes one over whole columns at once (pandas
Series) or over plain numbers, with the table's two rules for blanks: a blank input gives a blank,
and a division by a value ≤ 0 gives a blank.

A *condition* (a rule's ``when``) compares one column with an amount: ``F04 > 0``, ``F13 = 0``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

#: how the table may write an operator, as Python spells it
_OPERATOR_SIGNS = str.maketrans({"×": "*", "÷": "/", "−": "-"})
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_UNARY = (ast.USub, ast.UAdd)

#: a condition's comparison as written (``=`` reads like the domain brief) → the canonical one
COMPARISONS = {"=": "==", "==": "==", "!=": "!=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}
_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=|>=|<=|=|>|<)\s*(.+?)\s*$")


class ExpressionError(ValueError):
    """Text that is not an expression or a condition of the check table."""


@dataclass(frozen=True)
class Expression:
    """Parsed arithmetic: the text as written, its syntax tree, and the names it reads in reading order."""

    text: str
    tree: ast.expr = field(compare=False, repr=False)
    names: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """``column op amount``, e.g. ``F04 > 0``: a row is checked only where this holds."""

    column: str
    op: str  # ==, !=, >=, <=, >, <
    amount: Expression


@lru_cache(maxsize=1024)  # a table reads the same few texts for every form and field
def parse_expression(text: str | float) -> Expression:
    """An :class:`Expression` of ``text`` (a number is an expression too); :class:`ExpressionError` if not one."""
    source = str(text).translate(_OPERATOR_SIGNS)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        raise ExpressionError(f"{text!r} is not arithmetic of names, numbers, + − × ÷ and parentheses") from None
    names: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node)
        elif not _allowed(node):
            raise ExpressionError(f"{text!r}: only names, numbers, + − × ÷ and parentheses are allowed")
    ordered = sorted(names, key=lambda n: (n.lineno, n.col_offset))
    return Expression(str(text), tree, tuple(dict.fromkeys(n.id for n in ordered)))


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _BINARY)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _UNARY)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    return isinstance(node, _BINARY + _UNARY + (ast.Load,))


def parse_condition(text: str) -> Condition:
    """A :class:`Condition` of ``"F04 > 0"``; :class:`ExpressionError` if the text is not one."""
    match = _CONDITION.match(str(text))
    if not match:
        raise ExpressionError(f"condition {text!r} must read 'COLUMN OP AMOUNT' with OP one of = != < <= > >=")
    return Condition(match[1], COMPARISONS[match[2]], parse_expression(match[3]))


def evaluate(expression: Expression, value_of: Callable[[str], Any]) -> Any:
    """The value of ``expression``, each name given by ``value_of`` (a number or a pandas Series).

    Vectorised when the names give Series: one pass of pandas arithmetic per operator. Blank (NaN)
    in, blank out; a division by a value ≤ 0 or blank is blank.
    """
    return _evaluate(expression.tree, value_of)


def _evaluate(node: ast.expr, value_of: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return value_of(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, value_of)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.BinOp), ast.dump(node)  # parse_expression let nothing else through
    left, right = _evaluate(node.left, value_of), _evaluate(node.right, value_of)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / _positive(right)


def _positive(denominator: Any) -> Any:
    """The denominator where it is above 0, blank elsewhere (a Series keeps its index)."""
    if hasattr(denominator, "where"):
        return denominator.where(denominator > 0)
    return denominator if denominator > 0 else math.nan
