"""Declarative value checks of catalog entries (like a dbt schema's tests): what an indicator's values,
or a label's or an override's condition, must look like on any month.

In YAML, ``checks`` is a list of::

    not_null                          # never missing
    type: boolean | count | amount | number | category
                                      # boolean: 0 or 1 (or a SQL boolean); count: a whole number >= 0;
                                      # amount: a number >= 0; number: a finite number; category: text
    accepted_range: {min: 0, max: 3}  # either bound may be left out
    accepted_values: [A, B, C]        # the only values allowed (missing values aside: see not_null)

:func:`run_checks` evaluates them in the engine over a table (the month's indicators): one
:class:`CheckResult` per check, with the rows that fail it.  An indicator's checks hold for the
entities it applies to (``applies_to``; it is missing for the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, model_validator

from ..sql import literal

TYPES = ("boolean", "count", "amount", "number", "category")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "FLOAT", "DOUBLE", "DECIMAL")


class Check(BaseModel):
    """One value check; written in YAML as ``not_null`` or a one-key mapping (module docstring)."""

    check: Literal["not_null", "type", "accepted_range", "accepted_values"]
    type: Literal["boolean", "count", "amount", "number", "category"] | None = None
    min: float | None = None
    max: float | None = None
    values: list[str | float] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: object) -> object:
        if isinstance(v, str):
            return {"check": v}
        if isinstance(v, dict) and "check" not in v and len(v) == 1:
            (k, arg), = v.items()
            if k == "type":
                return {"check": "type", "type": arg}
            if k == "accepted_range":
                return {"check": "accepted_range", **(arg or {})}
            if k == "accepted_values":
                return {"check": "accepted_values", "values": arg}
            return {"check": k}
        return v

    @model_validator(mode="after")
    def _args(self) -> Check:
        if self.check == "type" and self.type is None:
            raise ValueError(f"type: one of {', '.join(TYPES)}")
        if self.check == "accepted_range" and self.min is None and self.max is None:
            raise ValueError("accepted_range: give min, max or both")
        if self.check == "accepted_values" and not self.values:
            raise ValueError("accepted_values: give the values")
        return self

    def label(self) -> str:
        if self.check == "type":
            return f"type {self.type}"
        if self.check == "accepted_range":
            return f"accepted_range [{self.min}, {self.max}]"
        if self.check == "accepted_values":
            return f"accepted_values {self.values}"
        return self.check


def _lit(v: str | float) -> str:
    return literal(v) if isinstance(v, str) else repr(float(v))


def failing_sql(expr: str, check: Check, sql_type: str = "DOUBLE") -> str:
    """A SQL condition true for a row whose value of ``expr`` (of engine type ``sql_type``) fails ``check``."""
    x = f"({expr})"
    numeric = sql_type.split("(")[0] in NUMERIC
    if check.check == "not_null":
        return f"{x} IS NULL"
    if check.check == "accepted_range":
        parts = ([f"{x} < {check.min!r}"] if check.min is not None else []) + \
                ([f"{x} > {check.max!r}"] if check.max is not None else [])
        return " OR ".join(parts)
    if check.check == "accepted_values":
        vals = [v for v in check.values or []]
        if numeric:
            return f"{x} NOT IN ({', '.join(repr(float(v)) for v in vals)})"
        return f"CAST({x} AS VARCHAR) NOT IN ({', '.join(_lit(str(v)) for v in vals)})"
    # type
    if check.type == "category":
        return "false" if sql_type == "VARCHAR" else "true"
    if sql_type == "BOOLEAN" and check.type == "boolean":
        return "false"
    if not numeric:
        return f"{x} IS NOT NULL"  # text (or another type) where a number is expected
    return {"boolean": f"{x} NOT IN (0, 1)", "count": f"{x} < 0 OR {x} <> floor({x})", "amount": f"{x} < 0",
            "number": f"NOT isfinite(CAST({x} AS DOUBLE))"}[check.type or "number"]


@dataclass
class CheckResult:
    name: str  # the entry checked (indicator, label or override code)
    check: str  # the check, as text
    rows: int  # rows checked
    failures: int  # rows that fail it
    example: object = None  # one failing value

    @property
    def ok(self) -> bool:
        return self.failures == 0


def run_checks(con, table: str, targets: dict[str, tuple]) -> list[CheckResult]:
    """Evaluate checks over ``table``: ``targets`` maps a name to (SQL expression over the table's columns,
    its checks[, a condition choosing the rows it applies to]).  One result per check."""
    out = []
    for name, (expr, checks, *where) in targets.items():
        if not checks:
            continue
        scope = f"({where[0]})" if where and where[0] else "true"
        rows = con.execute(f"SELECT count(*) FROM {table} WHERE {scope}").fetchall()[0][0]
        sql_type = str(con.execute(f"DESCRIBE SELECT {expr} AS v FROM {table}").fetchall()[0][1])
        for c in checks:
            cond = failing_sql(expr, c, sql_type)
            n, example = con.execute(f"SELECT count(*), any_value({expr}) FROM {table} "
                                     f"WHERE {scope} AND coalesce({cond}, false)").fetchall()[0]
            out.append(CheckResult(name, c.label(), int(rows), int(n), example))
    return out
