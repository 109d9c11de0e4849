"""Exchange formats (数据交换): monthly results for the national system, white lists, measures per grade.

* ``riskgrade-national/1`` — one record per classified entity of a month (its result recorded under
  the entity: grade, labels, previous grade, what decided it), one file per month in JSON Lines and
  CSV.  Internal to regulators.
* ``riskgrade-whitelist/1`` — the entities meeting a white list's configured rules
  (``defaults/whitelist.yaml``) for financial institutions or e-commerce platforms: name, USCC,
  region, industry and the list's validity, never a score, a grade or a label.
* ``riskgrade-measures/1`` — the incentives and constraints (激励/约束措施) that apply to every
  classified entity by its grade and labels (``defaults/measures.yaml``).  Internal.

Each format has a JSON Schema in ``defaults/schemas/`` (:func:`schema`); lists are JSON arrays in
JSON Lines / JSON / Parquet and ``;``-joined text in CSV.  docs/exchange.md has examples.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import config, contract
from ..contract import DETAIL_CODES, EVENT_TYPES
from ..dates import month_end_after, years_back
from ..errors import RiskgradeError
from ..sql import date as sql_date, literal, table_exists
from ..export import write_query

NATIONAL_FORMAT = "riskgrade-national/1"
WHITELIST_FORMAT = "riskgrade-whitelist/1"
MEASURES_FORMAT = "riskgrade-measures/1"
ENTITY_TYPES = ("enterprise", "individual", "cooperative")
GRADES = "".join(contract.GRADES)


def schema(name: str) -> dict:
    """The JSON Schema of an exchange format: ``national``, ``whitelist``, ``measures`` or ``fused``."""
    text = resources.files("riskgrade.defaults").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_lit = literal


def _list(items) -> str:
    return "[" + ", ".join(_lit(x) for x in items) + "]::VARCHAR[]"


_day = sql_date


def _labels_list(col: str = "g.labels") -> str:
    return f"CASE WHEN coalesce({col}, '') = '' THEN []::VARCHAR[] ELSE string_split({col}, ';') END"


def write_records(con: duckdb.DuckDBPyConnection, sql: str, path: Path, lists: tuple[str, ...] = ()) -> int:
    """Write ``sql`` to ``path`` by its ending (.csv, .json, .jsonl, .parquet); in CSV the list columns
    ``lists`` are ``;``-joined.  Written to a temporary file first, then renamed: a reader never sees
    half a file."""
    path = Path(path)
    if path.suffix.lower() == ".csv" and lists:
        sql = f"SELECT * REPLACE ({', '.join(f'array_to_string({c}, {_lit(chr(59))}) AS {c}' for c in lists)}) FROM ({sql})"
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        n = write_query(con, sql, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def _has_snapshots(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, "snapshots")


# --------------------------------------------------------------------------- national
def month_snapshot(con: duckdb.DuckDBPyConnection, month: str) -> tuple[int, dt.date]:
    """The current snapshot of a month (``YYYY-MM``): the newest of its latest classified date."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise RiskgradeError(f"--month: not a month (YYYY-MM): {month}")
    first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    last = month_end_after(first, 0)
    rows = con.execute("SELECT snapshot_id, as_of FROM snapshots WHERE as_of BETWEEN ? AND ? "
                       "ORDER BY as_of DESC, snapshot_id DESC LIMIT 1", [first, last]).fetchall() if _has_snapshots(con) else []
    if not rows:
        raise RiskgradeError(f"no classification in {month}: run `riskgrade classify --as-of {last}` first")
    return int(rows[0][0]), rows[0][1]


NATIONAL_COLUMNS = ("format", "period", "as_of", "uscc", "name", "entity_type", "region_code", "industry_code",
                    "grade", "grade_scale", "grade_rule", "previous_grade", "labels", "reporting_province",
                    "snapshot_id", "model", "catalog_version", "content_hash")


def national_query(snapshot_id: int) -> str:
    return f"""
        SELECT {_lit(NATIONAL_FORMAT)} AS format, strftime(g.as_of, '%Y-%m') AS period, g.as_of, g.uscc, g.name,
               g.entity_type, g.region_code, g.industry_code, g.grade, s.grade_mode AS grade_scale, g.grade_rule,
               g.previous_grade, {_labels_list()} AS labels, left(g.region_code, 2) || '0000' AS reporting_province,
               g.snapshot_id, s.model, s.catalog_version, s.content_hash
        FROM grades g JOIN snapshots s USING (snapshot_id)
        WHERE g.snapshot_id = {int(snapshot_id)}
        ORDER BY g.uscc"""


def write_national(con: duckdb.DuckDBPyConnection, month: str, out_dir: Path) -> dict:
    """``out_dir/national-YYYY-MM.jsonl`` and ``.csv`` for the month's current snapshot (rewritten when the
    month is exported again)."""
    sid, as_of = month_snapshot(con, month)
    out_dir = Path(out_dir)
    if (out_dir.exists() and not out_dir.is_dir()) or (not out_dir.exists() and out_dir.suffix.lower() in
                                                         (".csv", ".json", ".jsonl", ".parquet")):
        raise RiskgradeError(f"--out {out_dir}: give a folder; the month's files are named national-{month}.jsonl and .csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for ext in ("jsonl", "csv"):
        path = out_dir / f"national-{month}.{ext}"
        n = write_records(con, national_query(sid), path, lists=("labels",))
        files[ext] = str(path)
    return {"month": month, "as_of": as_of.isoformat(), "snapshot_id": sid, "rows": n, "files": files}


# --------------------------------------------------------------------------- white lists
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoEvents(_Strict):
    event_type: str
    years: int = Field(ge=1, le=20)
    details: list[str] | None = None
    min_amount: float | None = None

    @model_validator(mode="after")
    def _check(self) -> NoEvents:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}")
        known = DETAIL_CODES.get(self.event_type)
        for d in self.details or []:
            if known and d not in known:
                raise ValueError(f"detail {d!r} is not a code of {self.event_type} ({', '.join(known)})")
        return self


class WhiteList(_Strict):
    name_zh: str
    name_en: str = ""
    audience: str = ""
    grades: list[Literal["A", "B", "C", "D"]] = Field(default_factory=lambda: ["A"], min_length=1)
    exclude_labels: list[str] = Field(default_factory=list)
    require_labels: list[str] = Field(default_factory=list)
    min_years_established: int = Field(0, ge=0, le=100)
    no_events: list[NoEvents] = Field(default_factory=list)
    entity_types: list[Literal["enterprise", "individual", "cooperative"]] = Field(default_factory=lambda: list(ENTITY_TYPES),
                                                                                   min_length=1)
    validity_months: int = Field(3, ge=1, le=24)
    basis: str = ""


class WhitelistConfig(_Strict):
    version: str
    issued_by: str = ""
    lists: dict[str, WhiteList] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> WhitelistConfig:
        for name in self.lists:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"lists: {name!r} is not a list code (lower-case letters, digits, _)")
        return self


def _known_labels(labels_path: Path | None) -> set[str]:
    from ..scoring import load_labels

    return {lab.code for lab in load_labels(labels_path).labels if "{" not in lab.code}


def _check_labels(codes: list[str], known: set[str], where: str, field: str) -> None:
    for c in codes:
        if c not in known and not re.fullmatch(r"industry_[A-T]", c):
            raise RiskgradeError(f"{where}: {field}: unknown label {c!r} (the label catalog has {', '.join(sorted(known))})")


def load_whitelist(path: Path | None = None, labels_path: Path | None = None) -> WhitelistConfig:
    """The white-list rules, validated (labels against the label catalog)."""
    data, where = config.read_yaml(path, "whitelist.yaml")
    cfg = config.validate(WhitelistConfig, data, where)
    known = _known_labels(labels_path)
    for name, lst in cfg.lists.items():
        _check_labels(lst.exclude_labels, known, where, f"lists.{name}.exclude_labels")
        _check_labels(lst.require_labels, known, where, f"lists.{name}.require_labels")
    return cfg


WHITELIST_COLUMNS = ("format", "list", "list_name", "uscc", "name", "region_code", "region_name", "industry_code",
                     "industry_name", "valid_from", "valid_until", "issued_by", "list_version")


def _names_sql(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> tuple[str, str]:
    """Inline tables of region names (GB/T 2260) and industry section names (GB/T 4754) for the snapshot."""
    from ..codes import industries, regions

    codes = [r[0] for r in con.execute("SELECT DISTINCT region_code FROM grades WHERE snapshot_id = ? AND region_code "
                                       "IS NOT NULL ORDER BY 1", [snapshot_id]).fetchall()]
    reg = ", ".join(f"({_lit(c)}, {_lit(regions.name(c))})" for c in codes) or "(NULL, NULL)"
    ind = ", ".join(f"({_lit(k)}, {_lit(v[0])})" for k, v in industries.SECTIONS.items())
    return f"(VALUES {reg}) AS rn(code, region_name)", f"(VALUES {ind}) AS sn(section, industry_name)"


def whitelist_query(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, cfg: WhitelistConfig,
                    name: str) -> str:
    lst = cfg.lists[name]
    t = _day(as_of)
    conds = [f"g.grade IN ({', '.join(_lit(x) for x in lst.grades)})", "e.status = 'active'",
             f"e.entity_type IN ({', '.join(_lit(x) for x in lst.entity_types)})"]
    if lst.min_years_established:
        conds.append(f"e.established_on <= {_day(years_back(as_of, lst.min_years_established))}")
    if lst.exclude_labels:
        conds.append(f"NOT list_has_any({_labels_list()}, {_list(lst.exclude_labels)})")
    if lst.require_labels:
        conds.append(f"list_has_all({_labels_list()}, {_list(lst.require_labels)})")
    bad = []
    for ne in lst.no_events:
        c = (f"(event_type = {_lit(ne.event_type)} AND event_date > {_day(years_back(as_of, ne.years))}"
             + (f" AND detail IN ({', '.join(_lit(d) for d in ne.details)})" if ne.details else "")
             + (f" AND amount >= {ne.min_amount!r}" if ne.min_amount is not None else "") + ")")
        bad.append(c)
    if bad:
        conds.append(f"g.uscc NOT IN (SELECT uscc FROM events WHERE event_date <= {t} AND reported_on <= {t} "
                     f"AND ({' OR '.join(bad)}))")
    regions, sections = _names_sql(con, snapshot_id)
    valid_until = month_end_after(as_of, lst.validity_months)
    return f"""
        SELECT {_lit(WHITELIST_FORMAT)} AS format, {_lit(name)} AS list, {_lit(lst.name_zh)} AS list_name, g.uscc,
               e.name, e.region_code, rn.region_name, e.industry_code, sn.industry_name,
               {t} AS valid_from, {_day(valid_until)} AS valid_until, {_lit(cfg.issued_by)} AS issued_by,
               {_lit(cfg.version)} AS list_version
        FROM grades g JOIN entities e USING (uscc)
        LEFT JOIN {regions} ON rn.code = e.region_code
        LEFT JOIN {sections} ON sn.section = e.industry_section
        WHERE g.snapshot_id = {int(snapshot_id)} AND {' AND '.join(conds)}
        ORDER BY g.uscc"""


def write_whitelist(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, cfg: WhitelistConfig,
                    name: str | None, out: Path) -> tuple[str, int]:
    name = name or next(iter(cfg.lists))
    if name not in cfg.lists:
        raise RiskgradeError(f"--list: no white list {name!r} (configured: {', '.join(cfg.lists)})")
    return name, write_records(con, whitelist_query(con, snapshot_id, as_of, cfg, name), out)


# --------------------------------------------------------------------------- measures
class Measure(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["incentive", "routine", "constraint"]
    name_zh: str
    name_en: str = ""
    basis: str = ""

    @model_validator(mode="after")
    def _text(self) -> Measure:
        if ";" in self.name_zh:
            raise ValueError(f"{self.code}: name_zh may not contain ';' (it separates the names in CSV)")
        return self


class GradeMeasures(_Strict):
    kind: Literal["incentive", "routine", "constraint"]
    measures: list[str]


class MeasuresConfig(_Strict):
    version: str
    basis: str = ""
    measures: list[Measure] = Field(min_length=1)
    grades: dict[str, GradeMeasures]
    labels: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> MeasuresConfig:
        codes = [m.code for m in self.measures]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"measure code {sorted(dup)[0]} appears twice")
        if not set("ABCD") <= set(self.grades) or not set(self.grades) <= set(GRADES):
            raise ValueError("grades must give the measures of A, B, C and D (and optionally E)")
        for where, items in [*((f"grades.{g}", v.measures) for g, v in self.grades.items()),
                             *((f"labels.{k}", v) for k, v in self.labels.items())]:
            for c in items:
                if c not in codes:
                    raise ValueError(f"{where}: unknown measure {c!r}")
        return self


def load_measures(path: Path | None = None, labels_path: Path | None = None) -> MeasuresConfig:
    data, where = config.read_yaml(path, "measures.yaml")
    cfg = config.validate(MeasuresConfig, data, where)
    _check_labels(list(cfg.labels), _known_labels(labels_path), where, "labels")
    return cfg


MEASURES_COLUMNS = ("format", "as_of", "uscc", "name", "entity_type", "region_code", "industry_code", "grade",
                    "labels", "measure_kind", "measures", "measures_zh", "measures_version")


def measures_query(snapshot_id: int, cfg: MeasuresConfig) -> str:
    by_grade = "CASE g.grade " + " ".join(f"WHEN {_lit(k)} THEN {_list(v.measures)}" for k, v in cfg.grades.items()) \
        + " ELSE []::VARCHAR[] END"
    kind = "CASE g.grade " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v.kind)}" for k, v in cfg.grades.items()) + " END"
    parts = [by_grade] + [f"CASE WHEN list_contains(labs, {_lit(lab)}) THEN {_list(ms)} ELSE []::VARCHAR[] END"
                          for lab, ms in cfg.labels.items()]
    chosen = parts[0] if len(parts) == 1 else "flatten([" + ", ".join(parts) + "])"
    names = "CASE x " + " ".join(f"WHEN {_lit(m.code)} THEN {_lit(m.name_zh)}" for m in cfg.measures) + " END"
    return f"""
        WITH g AS (SELECT *, {_labels_list('labels')} AS labs FROM grades WHERE snapshot_id = {int(snapshot_id)}),
        m0 AS (SELECT g.*, {kind} AS measure_kind, {chosen} AS picked FROM g),
        m AS (SELECT *, list_filter(picked, (x, i) -> list_position(picked, x) = i) AS ms FROM m0)
        SELECT {_lit(MEASURES_FORMAT)} AS format, as_of, uscc, name, entity_type, region_code, industry_code, grade,
               labs AS labels, measure_kind, ms AS measures, list_transform(ms, x -> {names}) AS measures_zh,
               {_lit(cfg.version)} AS measures_version
        FROM m ORDER BY uscc"""


def write_measures(con: duckdb.DuckDBPyConnection, snapshot_id: int, cfg: MeasuresConfig, out: Path) -> int:
    return write_records(con, measures_query(snapshot_id, cfg), out, lists=("labels", "measures", "measures_zh"))
