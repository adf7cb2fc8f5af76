"""Conditions: the one-line tests that ``branch`` nodes and callback rules are written in.

A supervisor writes ``amount >= 500 and risk > 0.7`` or ``not heard``; a
condition is parsed once, when its file is loaded (so a typo is a load-time
error naming file and key, never a surprise mid-call), and then evaluated
against a mapping of facts. Deliberately tiny: clauses joined by ``and`` (a
rule table's order gives "or"), each clause ``NAME``, ``not NAME`` or
``NAME OP VALUE`` with OP one of ``== != < <= > >=``. VALUE is a number, a
quoted text, ``true``/``false``/``null`` or another name (``params.max_days``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_NAME = r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?"
_CLAUSE = re.compile(rf"^\s*(?:(not)\s+)?({_NAME})\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$")
_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class ConditionError(ValueError):
    """A condition that cannot be parsed or names something unknown."""


@dataclass(frozen=True)
class Name:
    """A reference to a fact, resolved at evaluation time."""

    name: str


@dataclass(frozen=True)
class Clause:
    name: str
    op: str | None = None            # None: truthiness of ``name``
    value: Any = None                # a literal or a :class:`Name`
    negate: bool = False


@dataclass(frozen=True)
class Condition:
    text: str
    clauses: tuple[Clause, ...]

    def names(self) -> set[str]:
        out = {c.name for c in self.clauses}
        out |= {c.value.name for c in self.clauses if isinstance(c.value, Name)}
        return out

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """True when every clause holds; a missing fact or a comparison of unlike values is False."""
        return all(_holds(clause, facts) for clause in self.clauses)


def parse_condition(text: str, known: set[str] | None = None) -> Condition:
    """Parse ``text``; with ``known``, every name used must be one of them."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty text like 'amount > 500'")
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.match(part)
        if not match:
            raise ConditionError(f"cannot read {part.strip()!r}: write NAME, 'not NAME' or NAME OP VALUE "
                                 f"with OP one of == != < <= > >=")
        negate, name, op, raw = match.groups()
        if negate and op:
            raise ConditionError(f"{part.strip()!r}: 'not' goes only before a bare name")
        clauses.append(Clause(name=name, op=op, value=_literal(raw) if op else None, negate=bool(negate)))
    condition = Condition(text=text, clauses=tuple(clauses))
    if known is not None:
        unknown = sorted(condition.names() - known)
        if unknown:
            raise ConditionError(f"unknown name {unknown[0]!r}; known here: {', '.join(sorted(known))}")
    return condition


def _literal(raw: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    if re.fullmatch(_NAME, raw):
        return Name(raw)
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ConditionError(f"{raw!r} is not a number, a quoted text, true/false/null or a name") from None


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _holds(clause: Clause, facts: Mapping[str, Any]) -> bool:
    left = facts.get(clause.name)
    if clause.op is None:
        return (not left) if clause.negate else bool(left)
    right = facts.get(clause.value.name) if isinstance(clause.value, Name) else clause.value
    left, right = _comparable(left), _comparable(right)
    if clause.op in ("==", "!="):
        return _OPS[clause.op](left, right)
    try:
        return bool(_OPS[clause.op](left, right))
    except TypeError:                 # None < 3, "a" < 3: the fact is absent or of another kind
        return False
