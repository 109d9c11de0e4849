"""The facts behind reasons (理由所依据的事实): what an entity's records say, in plain Chinese.

A reason is an indicator that moved the score; its *fact* says which records made it so, e.g.
"2025-07-05 因未按规定期限公示年度报告列入经营异常名录，至今未移出" or "近一年受到行政处罚 2 次（最近一次
2026-03-02，罚款 5,000 元）".  An indicator of the catalog may declare ``fact``: an SQL aggregate over the
entity's events ``e``, in the dialect and with the named dates of the indicator ``sql`` (``{asof}``,
``{y1}``, ``{y3}``, ``{due1}`` ..., ``e.recency``, ``n_est``, ``n_type``), giving a Chinese sentence or null.
Fact SQL may also call these macros (made on the connection by :func:`entity_facts`):

``fact_date(d)``
    a date as ``YYYY-MM-DD``;
``fact_amount(x)``
    a number with thousands separators, no decimals when whole (``5,000``, ``1,234.50``);
``fact_word(event_type, detail)``
    the Chinese word of a record's detail code (``no_annual_report`` -> 未按规定期限公示年度报告, ``fine`` ->
    罚款, ``unreachable`` -> 通过登记的住所（经营场所）无法联系 ...; see :func:`detail_words`), the detail as
    given when it is free text, null when empty;
``fact_penalty(kind, amount)``
    a penalty's kind and amount (``罚款 5,000 元``, ``警告``, ``责令停产停业，罚没金额 3,000 元``).

An indicator without ``fact`` (or whose fact is null for the entity) has the default "名称：值" from its
value as of the date: whole numbers without decimals, amounts with thousands separators, shares as
percentages, flags as 是/否, codes as their Chinese word.

Facts are point in time like the indicators: only records with ``event_date <= T`` and
``reported_on <= T`` count.  A fact names the event types it reads as quoted literals
(``e.event_type = 'admin_penalty'``, ``IN (...)``): only those events of the entity are read for it
(:func:`fact_event_types`; a fact that names none, or compares types otherwise, reads them all).  Facts
separate their items with 、 and ， (never ；, which joins the facts of several reasons in the export).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator

import duckdb

from ..contract import ABNORMAL_REASON_ZH, INSPECTION_RESULT_ZH
from ..sql import literal
from ..warehouse import uscc_bucket
from .catalog import Catalog, Indicator
from .compute import (RECENCY, applies, as_of_params, chunk_ranges, indicator_query, population_sql, render,
                      shared_tables, uscc_filter)

# Chinese words of detail codes that no other module names (the contract's DETAIL_CODES lists the codes;
# the abnormal-list reasons and the inspection results are the contract's)
PENALTY_ZH = {"warning": "警告", "fine": "罚款", "confiscation": "没收违法所得", "suspension": "责令停产停业",
              "revocation": "吊销营业执照"}
LICENSE_ZH = {"granted": "准予行政许可", "revoked": "撤销行政许可", "expired": "行政许可有效期届满"}
CHANGE_ZH = {"legal_rep": "法定代表人", "address": "住所", "name": "名称", "capital": "注册资本", "scope": "经营范围",
             "shareholder": "股东"}
TYPE_ZH = {"survival": "生存型", "growth": "成长型", "development": "发展型"}
HONOR_ZH = {"famous_specialty": "名特优新个体工商户", "award": "表彰奖励", "contract_honoring": "守合同重信用"}
TAX_GRADE_ZH = {g: f"{g} 级" for g in ("A", "B", "M", "C", "D")}
YES, NO, NO_RECORD = "是", "否", "无记录"
NAME_SEP = "："  # between an indicator's name and its value in a default fact
# entity attributes a trained scorecard may use besides the indicators (riskgrade.scoring.train): (Chinese name,
# English name); their contributions are explained by the attribute's value, e.g. 主体类型：个体工商户
ATTRIBUTES = {"entity_type": ("主体类型", "Entity type")}


def attribute_fact(code: str, value) -> str:
    """The fact of an entity attribute used as a feature: "名称：值" with the value's Chinese word."""
    from ..contract import ENTITY_TYPES

    words = {"entity_type": {k: v[1] for k, v in ENTITY_TYPES.items()}}.get(code, {})
    shown = NO_RECORD if value in (None, "") else words.get(str(value), str(value))
    return f"{ATTRIBUTES[code][0]}{NAME_SEP}{shown}"


@functools.lru_cache(maxsize=1)
def detail_words() -> dict[str, dict[str, str]]:
    """Per event type, the Chinese word of each detail code (reusing the words other modules show)."""
    return {"abnormal_list_in": dict(ABNORMAL_REASON_ZH), "abnormal_list_out": dict(ABNORMAL_REASON_ZH),
            "admin_penalty": PENALTY_ZH, "admin_license": LICENSE_ZH, "inspection": dict(INSPECTION_RESULT_ZH),
            "registration_change": CHANGE_ZH,
            "type_classification": TYPE_ZH, "honor": HONOR_ZH, "tax_credit_grade": TAX_GRADE_ZH}


def detail_name(event_type: str, detail: str | None) -> str:
    """A record's detail in Chinese: the word of its code, or the detail as given (free text)."""
    if not detail:
        return ""
    return detail_words().get(event_type, {}).get(detail, detail)


_lit = literal


def make_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The helper macros fact SQL may call (temporary: on this connection only, also when read-only)."""
    pairs = " ".join(f"WHEN t = {_lit(typ)} AND d = {_lit(code)} THEN {_lit(word)}"
                     for typ, words in detail_words().items() for code, word in words.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO fact_date(x) AS strftime(x, '%Y-%m-%d');
        CREATE OR REPLACE TEMP MACRO fact_amount(x) AS CASE WHEN x IS NULL THEN NULL
            WHEN x = trunc(x) THEN format('{{:,}}', CAST(x AS BIGINT)) ELSE format('{{:,.2f}}', x) END;
        CREATE OR REPLACE TEMP MACRO fact_word(t, d) AS CASE WHEN nullif(trim(d), '') IS NULL THEN NULL {pairs}
            ELSE d END;
        CREATE OR REPLACE TEMP MACRO fact_penalty(kind, amount) AS
            coalesce(fact_word('admin_penalty', kind), '行政处罚') || CASE WHEN amount > 0 THEN
                CASE WHEN kind IN ('fine', 'confiscation') THEN ' ' ELSE '，罚没金额 ' END || fact_amount(amount) || ' 元'
            ELSE '' END;
    """)


# --------------------------------------------------------------------------- default facts: 名称：值
_FLAG = re.compile(r"^\s*CASE\b.*\bTHEN\s+1\s+ELSE\s+0\s+END\s*$", re.S | re.I)


def is_flag(ind: Indicator) -> bool:
    """A yes/no indicator (its SQL is ``CASE WHEN ... THEN 1 ELSE 0 END``)."""
    return bool(ind.sql and _FLAG.match(ind.sql))


def _number(x: float, decimals: int = 2) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.{decimals}f}".rstrip("0").rstrip(".")


def format_value(ind: Indicator, value) -> str:
    """An indicator's value as a default fact shows it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_RECORD
    if isinstance(value, str):
        words = {"type_classification": TYPE_ZH}.get(ind.code, {})
        return words.get(value, value)
    if isinstance(value, bool):
        return YES if value else NO
    if is_flag(ind) and value in (0, 1):
        return YES if value == 1 else NO
    x = float(value)
    if "比例" in ind.name_zh or "占比" in ind.name_zh:  # a share: as a percentage
        return f"{x * 100:.1f}%"
    return _number(round(x, 2))  # counts, amounts (元, 万元), years: thousands separators, at most 2 decimals


def default_fact(ind: Indicator, value) -> str:
    return f"{ind.name_zh}{NAME_SEP}{format_value(ind, value)}"


# --------------------------------------------------------------------------- computing facts
def _with_dependencies(catalog: Catalog, codes: set[str]) -> Catalog:
    """The catalog cut to the enabled indicators ``codes`` and those their derived SQL reads."""
    enabled = {i.code: i for i in catalog.enabled}
    need = {c for c in codes if c in enabled}
    todo = list(need)
    while todo:
        ind = enabled[todo.pop()]
        if ind.kind != "derived":
            continue
        for other in enabled:
            if other not in need and re.search(rf"\b{re.escape(other)}\b", ind.sql or ""):
                need.add(other)
                todo.append(other)
    return catalog.model_copy(update={"indicators": [i for i in catalog.indicators if i.code in need]})


_ALL_TYPES = re.compile(r"event_type\s*(<>|!=)|event_type\s+(NOT\s+)?(LIKE|ILIKE|SIMILAR)|event_type\s+NOT\s+IN", re.I)


def fact_event_types(sql: str) -> set[str] | None:
    """The event types a fact reads (the event-type names it quotes), or None: all of them (a fact that
    reads ``e`` without naming types, or compares ``event_type`` otherwise than by ``=`` / ``IN``)."""
    from ..contract import EVENT_TYPES

    if _ALL_TYPES.search(sql) or ("event_type" not in sql and re.search(r"\be\.", sql)):
        return None
    return set(re.findall(r"'([a-z_]+)'", sql)) & set(EVENT_TYPES)


def fact_query(catalog: Catalog, as_of: dt.date, usccs: list[str], codes: Iterable[str] | None = None, *,
               event_types: Iterable[str] | None = None, keys: str | None = None,
               bucket_range: tuple[int, int] | None = None) -> str | None:
    """One ``GROUP BY uscc`` pass over the events of ``usccs`` known at T: uscc, then one column per
    indicator with a ``fact`` (those of ``codes``, default all); None when no such indicator.

    ``event_types``: read only events of these types (those the facts read: :func:`fact_event_types`).
    ``keys``: a table (uscc) holding ``usccs``, read instead of a list of literals (a large batch), with
    ``bucket_range`` (the least and greatest bucket of ``usccs``, computed when not given)."""
    wanted = None if codes is None else set(codes)
    inds = [i for i in catalog.enabled if i.fact and (wanted is None or i.code in wanted)]
    if not inds:
        return None
    p = as_of_params(as_of)
    t = p["asof"]
    only = uscc_filter(usccs)
    if keys and usccs:
        lo, hi = bucket_range or (min(map(uscc_bucket, usccs)), max(map(uscc_bucket, usccs)))
        only = f" AND bucket >= {int(lo)} AND bucket <= {int(hi)} AND uscc IN (SELECT uscc FROM {keys})"
    if event_types is not None:
        types = sorted(set(event_types))
        only_types = f" AND event_type IN ({', '.join(_lit(x) for x in types)})" if types else " AND false"
    else:
        only_types = ""
    cols = ", ".join(f"{applies(i, render(i.fact or '', p))} AS {i.code}" for i in inds)
    return f"""SELECT n.uscc, {cols}
        FROM (SELECT uscc, entity_type AS n_type, established_on AS n_est FROM entities WHERE true{only}) n
        LEFT JOIN (SELECT *, {RECENCY} AS recency FROM events
                   WHERE event_date <= {t} AND reported_on <= {t}{only}{only_types}) e
          ON e.uscc = n.uscc
        GROUP BY n.uscc, n.n_type, n.n_est"""


def entity_facts(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, usccs: list[str],
                 codes: list[str] | None = None, *, include_revoked: bool = False) -> dict[tuple[str, str], str]:
    """The facts of some entities' indicators as of ``as_of``: ``{(uscc, code): fact}``.

    ``codes``: only these indicators (default every enabled one) and entity attributes a scorecard uses as
    features (``ATTRIBUTES``); other codes, and indicators the catalog has disabled, are left out.  An
    indicator's ``fact`` SQL gives its fact; without one, or when it is null, the fact is "名称：值" from
    the indicator's value (computed for these entities only; the population-wide relations still over
    everyone; ``include_revoked``: the five-grade population).
    Entities not in scope at T get only the facts of their records.  Reads only the events of these
    entities (by bucket and USCC), so that it suits a few entities (a profile) or a batch of a bucket
    range (an export, a publication)."""
    enabled = [i.code for i in catalog.enabled]
    wanted = enabled if codes is None else list(codes)
    return _facts(con, catalog, as_of, {u: wanted for u in usccs}, include_revoked=include_revoked, shared=False)


def _facts(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, needs: dict[str, list[str]], *,
           include_revoked: bool, shared: bool) -> dict[tuple[str, str], str]:
    """The facts ``needs`` asks for ({uscc: [code, ...]}): one pass over the events of the types those facts
    read, then the indicator values of the facts still missing."""
    import pyarrow as pa

    enabled = {i.code: i for i in catalog.enabled}
    out: dict[tuple[str, str], str] = {}
    attrs = {u: [c for c in cs if c in ATTRIBUTES and c not in enabled] for u, cs in needs.items()}
    attrs = {u: cs for u, cs in attrs.items() if cs}
    if attrs:
        cols = sorted({c for cs in attrs.values() for c in cs})
        cur = con.execute(f"SELECT uscc, {', '.join(cols)} FROM entities WHERE true{uscc_filter(list(attrs))}")
        for row in cur.fetchall():
            values = dict(zip(["uscc", *cols], row))
            for c in attrs.get(row[0], ()):
                out[(row[0], c)] = attribute_fact(c, values[c])
    needs = {u: [c for c in dict.fromkeys(cs) if c in enabled] for u, cs in needs.items()}
    needs = {u: cs for u, cs in sorted(needs.items()) if cs}
    if not needs:
        return out
    p = as_of_params(as_of)
    # the facts by the event types they read: one pass each over those types' events of the entities that
    # need one of them (an aggregate costs for every entity of its pass, whether it needs it or not)
    groups: dict[frozenset[str] | None, list[str]] = {}
    for c in sorted({c for cs in needs.values() for c in cs if enabled[c].fact}):
        types = fact_event_types(render(enabled[c].fact or "", p))
        groups.setdefault(None if types is None else frozenset(types), []).append(c)
    if groups:
        make_macros(con)
        bucket = {u: uscc_bucket(u) for u in needs}
        who: dict[str, set[str]] = {}  # code -> the entities that need its fact
        for u, cs in needs.items():
            for c in cs:
                who.setdefault(c, set()).add(u)
    for types, codes in groups.items():
        keys = sorted(set().union(*(who[c] for c in codes)))
        span = (min(bucket[u] for u in keys), max(bucket[u] for u in keys))
        con.register("_fact_keys", pa.table({"uscc": pa.array(keys, pa.string())}))
        try:
            cur = con.execute(fact_query(catalog, as_of, keys, codes, event_types=types, keys="_fact_keys",
                                         bucket_range=span) or "")
            names = [d[0] for d in cur.description][1:]
            rows = cur.fetchall()
        finally:
            con.unregister("_fact_keys")
        for row in rows:
            need = needs[row[0]]
            for code, text in zip(names, row[1:]):
                if text and code in need:
                    out[(row[0], code)] = str(text)
    missing = {u: [c for c in cs if (u, c) not in out] for u, cs in needs.items()}
    missing = {u: cs for u, cs in missing.items() if cs}
    if missing:
        sub = _with_dependencies(catalog, {c for cs in missing.values() for c in cs})
        cur = con.execute(indicator_query(sub, as_of, include_revoked=include_revoked, shared=shared,
                                          usccs=list(missing)))
        cols = [d[0] for d in cur.description]
        for row in cur.fetchall():
            values = dict(zip(cols, row))
            for code in missing.get(values["uscc"], ()):
                out[(values["uscc"], code)] = default_fact(enabled[code], values.get(code))
    return out


# --------------------------------------------------------------------------- a whole snapshot, in batches
# chooses, from one grade row ({"reasons": [code, ...] (the top positive ones), "points": [{code, points}, ...]
# (every contribution)}), the codes whose facts are wanted, in order
Pick = Callable[[dict], list[str]]


def reasons_only(row: dict) -> list[str]:
    """The grade's reasons (the ``reasons`` column: its largest positive contributions)."""
    return list(row["reasons"])


def top_contributions(up: int = 10, down: int = 5) -> Pick:
    """The grade's reasons, its other largest positive contributions up to ``up`` in all, then its ``down``
    largest negative contributions (the factors that lowered the risk)."""
    def pick(row: dict) -> list[str]:
        pts = [p for p in row["points"] if float(p["points"]) != 0]
        pos = [p["code"] for p in sorted((p for p in pts if float(p["points"]) > 0), key=lambda p: -float(p["points"]))]
        neg = [p["code"] for p in sorted((p for p in pts if float(p["points"]) < 0), key=lambda p: float(p["points"]))]
        return list(dict.fromkeys([*row["reasons"], *pos[:up], *neg[:down]]))
    return pick


def snapshot_facts(con: duckdb.DuckDBPyConnection, catalog: Catalog, snapshot_id: int, pick: Pick = reasons_only, *,
                   batch: int = 5000, progress=None) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The facts of a warehouse snapshot's graded entities, by bucket range (about ``batch`` entities a
    range; each range one pass over its entities' events): ``(uscc, [(code, fact), ...])`` for every
    entity with a code to explain, the codes ``pick`` chooses, in that order.  Entities come in bucket
    order.  As of the snapshot's date, on its population (five grades: with revoked entities)."""
    import json

    row = con.execute("SELECT as_of, grade_mode FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchall()
    if not row:
        return
    as_of, mode = row[0]
    include_revoked = mode == "five"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _fact_grades AS
        SELECT g.uscc, CAST(('0x' || left(md5(g.uscc), 3)) AS INTEGER) AS bucket, g.reasons, g.reason_points
        FROM grades g WHERE g.snapshot_id = {int(snapshot_id)}
          AND (coalesce(g.reasons, '') <> '' OR coalesce(g.reason_points, '[]') NOT IN ('', '[]'))""")
    made = False
    try:
        n = con.execute("SELECT count(*) FROM _fact_grades").fetchall()[0][0]
        if not n:
            return
        ranges = chunk_ranges(max(1, min(256, -(-n // max(1, batch)))))
        made = _shared_relations(con, catalog, as_of, include_revoked)
        for k, (lo, hi) in enumerate(ranges):
            rows = con.execute("SELECT uscc, reasons, reason_points FROM _fact_grades "
                               f"WHERE bucket >= {lo} AND bucket < {hi} ORDER BY bucket, uscc").fetchall()
            chosen = {u: pick({"reasons": [c for c in (r or "").split(";") if c], "points": json.loads(rp or "[]")})
                      for u, r, rp in rows}
            chosen = {u: c for u, c in chosen.items() if c}
            if chosen:
                facts = _facts(con, catalog, as_of, chosen, include_revoked=include_revoked, shared=made)
                for u, cs in chosen.items():
                    yield u, [(c, facts[(u, c)]) for c in cs if (u, c) in facts]
            if progress and len(ranges) > 1 and (k + 1) % max(1, len(ranges) // 4) == 0:
                progress(f"facts behind reasons: bucket range {k + 1} of {len(ranges)} done")
    finally:
        if made:
            for name, _ in shared_tables(catalog, as_of):
                con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute("DROP TABLE IF EXISTS _fact_grades")


def _shared_relations(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, include_revoked: bool) -> bool:
    """The population-wide relations of the related-party indicators as temporary tables (once for every
    batch); False when the catalog has none."""
    tables = shared_tables(catalog, as_of)
    if not tables:
        return False
    pop = f"pop AS ({population_sql(as_of, include_revoked=include_revoked)})"
    for name, sql in tables:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS WITH {pop} {sql}")
    return True
