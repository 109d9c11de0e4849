"""Inspection tasks (抽查任务): what is checked, where, in which domain, when."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb

from ..contract import ENTITY_TYPES
from ..errors import RiskgradeError
from .tables import ensure_schema

DOMAIN_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass
class Task:
    task_id: int | None
    name: str
    domain: str = "general"
    region_prefix: str = ""      # GB/T 2260 prefix: "" the province, "3701" a city, "370102" a county
    industry_prefix: str = ""    # GB/T 4754: a section letter ("F") or class digits ("52", "5211")
    entity_types: tuple[str, ...] = ()  # empty: all
    check_items: str = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    created_at: dt.datetime | None = None

    def validate(self) -> Task:
        if not self.name.strip():
            raise RiskgradeError("a task needs a name")
        if not DOMAIN_RE.match(self.domain):
            raise RiskgradeError(f"domain {self.domain!r}: lower-case letters, digits and _ (general, food, drug, ...)")
        if self.region_prefix and not re.fullmatch(r"\d{2}(\d{2}(\d{2})?)?", self.region_prefix):
            raise RiskgradeError(f"region {self.region_prefix!r}: a GB/T 2260 prefix of 2, 4 or 6 digits")
        if self.industry_prefix and not re.fullmatch(r"[A-T]|\d{2,4}|[A-T]\d{2,4}", self.industry_prefix):
            raise RiskgradeError(f"industry {self.industry_prefix!r}: a GB/T 4754 section letter or 2-4 digits")
        for t in self.entity_types:
            if t not in ENTITY_TYPES:
                raise RiskgradeError(f"entity type {t!r}: one of {', '.join(ENTITY_TYPES)}")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise RiskgradeError("the task's period ends before it starts")
        return self

    def scope_sql(self, alias: str = "e") -> str:
        """SQL condition over an entities row: the task's scope."""
        parts = ["true"]
        if self.region_prefix:
            parts.append(f"starts_with({alias}.region_code, '{self.region_prefix}')")
        if self.industry_prefix:
            p = self.industry_prefix
            if p[0].isalpha():
                parts.append(f"{alias}.industry_section = '{p[0]}'")
                p = p[1:]
            if p:
                parts.append(f"starts_with(coalesce({alias}.industry_code, ''), '{p}')")
        if self.entity_types:
            parts.append(f"{alias}.entity_type IN ({', '.join(repr(t) for t in self.entity_types)})")
        return " AND ".join(parts)

    def describe(self) -> dict:
        return {"task_id": self.task_id, "name": self.name, "domain": self.domain,
                "region_prefix": self.region_prefix or "(all)", "industry_prefix": self.industry_prefix or "(all)",
                "entity_types": ";".join(self.entity_types) or "(all)", "check_items": self.check_items,
                "period": f"{self.period_start or ''} .. {self.period_end or ''}"}


DEFAULT_TASK = Task(None, "全省通用双随机抽查")

_COLS = ("task_id, name, domain, region_prefix, industry_prefix, entity_types, check_items, period_start, "
         "period_end, created_at")


def _row(r) -> Task:
    return Task(r[0], r[1], r[2], r[3] or "", r[4] or "", tuple(x for x in (r[5] or "").split(";") if x), r[6] or "",
                r[7], r[8], r[9])


def create_task(con: duckdb.DuckDBPyConnection, task: Task) -> Task:
    ensure_schema(con)
    task.validate()
    tid = con.execute("SELECT coalesce(max(task_id), 0) + 1 FROM tasks").fetchall()[0][0]
    task.task_id = int(tid)
    task.created_at = dt.datetime.now().replace(microsecond=0)
    con.execute(f"INSERT INTO tasks ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        task.task_id, task.name, task.domain, task.region_prefix, task.industry_prefix, ";".join(task.entity_types),
        task.check_items, task.period_start, task.period_end, task.created_at])
    return task


def list_tasks(con: duckdb.DuckDBPyConnection) -> list[Task]:
    return [_row(r) for r in con.execute(f"SELECT {_COLS} FROM tasks ORDER BY task_id").fetchall()]


def get_task(con: duckdb.DuckDBPyConnection, task_id: int) -> Task:
    rows = con.execute(f"SELECT {_COLS} FROM tasks WHERE task_id = ?", [task_id]).fetchall()
    if not rows:
        raise RiskgradeError(f"no inspection task {task_id}: see `riskgrade task list`")
    return _row(rows[0])
