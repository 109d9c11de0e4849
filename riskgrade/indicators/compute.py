"""Compute the indicators of every entity in scope as of a date, from what was known on that date.

Point in time: an event counts when ``event_date <= T`` and ``reported_on <= T`` (it had been
delivered by T; ``reported_on`` defaults to the load date).  An entity is in scope when it was
established by T and had not closed by T (``closed_on`` after T, or still active).

Every event indicator is one aggregate in a single ``GROUP BY uscc`` pass over the events, which
are stored clustered by entity.  The whole table is one SQL query (``indicator_query``), so the same
definition runs on DuckDB here and on Spark (``riskgrade.engines.spark``).
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from ..dates import years_back
from ..errors import RiskgradeError
from ..sql import date as sql_date, literals
from ..warehouse import BUCKETS, uscc_bucket  # noqa: F401  (uscc_bucket: re-exported)
from .catalog import Catalog, Indicator


def as_of_params(as_of: dt.date) -> dict[str, str]:
    """Named dates used by the catalog, as SQL DATE literals."""
    lit = sql_date

    # a year's annual report is due by 30 June of the next year
    due1 = as_of.year - 1 if as_of >= dt.date(as_of.year, 6, 30) else as_of.year - 2
    due2 = due1 - 1
    return {
        "asof": lit(as_of),
        "d90": lit(as_of - dt.timedelta(days=90)),
        "d180": lit(as_of - dt.timedelta(days=180)),
        "y1": lit(years_back(as_of, 1)),
        "y2": lit(years_back(as_of, 2)),
        "y3": lit(years_back(as_of, 3)),
        "due1": str(due1),
        "due2": str(due2),
        "due1_end": lit(dt.date(due1, 12, 31)),
        "due2_end": lit(dt.date(due2, 12, 31)),
    }


def render(sql: str, params: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in params:
            raise RiskgradeError(f"unknown parameter {{{name}}} in indicator SQL: {sql[:80]}")
        return params[name]

    return re.sub(r"\{([a-z0-9_]+)\}", sub, sql)


def applies(ind: Indicator, expr: str) -> str:
    """``expr`` for the entity types the indicator applies to, NULL for the others."""
    if len(ind.applies_to) == 3:
        return expr
    types = ", ".join(f"'{t}'" for t in ind.applies_to)
    return f"CASE WHEN n_type IN ({types}) THEN {expr} END"


def population_sql(as_of: dt.date, *, include_revoked: bool = False) -> str:
    """Entities in scope at T (revoked ones too when the five-grade mode gives them grade E)."""
    t = f"DATE '{as_of.isoformat()}'"
    open_at_t = f"(status = 'active' OR closed_on IS NULL OR closed_on > {t})"
    if include_revoked:
        open_at_t = f"({open_at_t} OR status = 'revoked')"
    return f"SELECT * FROM entities WHERE established_on <= {t} AND {open_at_t}"


# ``e.recency`` in event SQL: orders an entity's records by event date, then record id, so that
# ``max_by(x, e.recency)`` (x of the latest record) does not depend on the order rows arrive in
RECENCY = "CAST(event_date AS VARCHAR) || record_id"
# a professional domain's grade as of T: the latest record of the domain with ``as_of <= T`` (on the same
# date, the greater text); the grade text is compared trimmed and upper-cased
DOMAIN_GRADE = "upper(trim(grade))"
DOMAIN_RECENCY = "CAST(as_of AS VARCHAR) || upper(trim(grade))"


def domain_filter(domain: str, as_of: dt.date, max_age_days: int | None = None) -> str:
    """The condition on ``domain_grades`` rows of one domain (a grade older than ``max_age_days`` is unused)."""
    cond = f"lower(trim(domain)) = '{domain}'"
    if max_age_days:
        cond += f" AND as_of > DATE '{(as_of - dt.timedelta(days=int(max_age_days))).isoformat()}'"
    return cond


def level_case(expr: str, levels: dict[str, int]) -> str:
    """``expr`` (a domain's grade text) mapped to its risk level; null when not in ``levels``."""
    whens = " ".join(f"WHEN '{k.replace(chr(39), chr(39) * 2)}' THEN {int(v)}" for k, v in levels.items())
    return f"CASE {expr} {whens} END"


# columns of the indicator table before the indicators, in this order
ATTRIBUTES = ("uscc", "name", "entity_type", "region_code", "industry_code", "industry_section", "status",
              "established_on", "registered_capital", "bucket")


def uscc_filter(usccs: list[str]) -> str:
    """`` AND`` conditions keeping the rows of these entities only (entities or events: both have ``uscc`` and
    ``bucket``; the bucket condition lets a read skip the event segments' row groups of other entities)."""
    if not usccs:
        return " AND false"
    keys = sorted(set(usccs))
    buckets = sorted({uscc_bucket(u) for u in keys})
    where = (f"bucket IN ({', '.join(map(str, buckets))})" if len(buckets) <= 256
             else f"bucket >= {buckets[0]} AND bucket <= {buckets[-1]}")
    items = literals(keys)
    return f" AND {where} AND uscc IN ({items})"


def indicator_query(catalog: Catalog, as_of: dt.date, *, include_revoked: bool = False,
                    buckets: tuple[int, int] | None = None, shared: bool = False,
                    usccs: list[str] | None = None) -> str:
    """The whole indicator table as one SQL query (DuckDB dialect) over the tables ``entities`` and ``events``.

    One row per entity in scope at T: its attributes (``ATTRIBUTES``), then one column per enabled
    indicator (event, entity, related, domain, then derived ones, each kind in catalog order).  Domain
    indicators also read the table ``domain_grades``.  The query is
    pure (no temporary tables, no ``EXCLUDE``, no ``ORDER BY``) so that another engine can run it
    after transpiling (``riskgrade.engines.spark``).

    ``buckets=(lo, hi)``: only the entities whose bucket (``warehouse.BUCKET_SQL``, 0..4095) is in
    [lo, hi), and only their events are read; counts over the population (entities at one address,
    a person's risky entities) still see every entity.  A range is a deterministic sample (training)
    or one chunk of a run that goes bucket range by bucket range (bounded memory).

    ``shared=True``: the population-wide relations of the related-party indicators (``shared_tables``)
    are read from tables of those names made beforehand, instead of being computed by this query (a run
    in bucket ranges computes them once, not once per range).

    ``usccs``: only the rows of these entities (those of them in scope at T), reading only their events;
    like ``buckets``, population-wide counts still see every entity (the facts behind a few entities'
    reasons, ``riskgrade.indicators.facts``).
    """
    p = as_of_params(as_of)
    rng = f" AND bucket >= {int(buckets[0])} AND bucket < {int(buckets[1])}" if buckets else ""
    if usccs is not None:
        rng += uscc_filter(usccs)
    inds = catalog.enabled
    t = p["asof"]

    def cols(kind: str) -> list[str]:
        return [f"{applies(i, render(i.sql or '', p))} AS {i.code}" for i in inds if i.kind == kind]

    ev_codes = [i.code for i in inds if i.kind == "event"]
    ctes = [f"pop AS ({population_sql(as_of, include_revoked=include_revoked)})"]
    # event SQL may use n_est (the establishment date) and n_type (the entity type): grouped columns
    ctes.append(f"""ind_events AS (
        SELECT {", ".join(["n.uscc", *cols("event")])}
        FROM (SELECT uscc, entity_type AS n_type, established_on AS n_est FROM pop WHERE true{rng}) n
        LEFT JOIN (SELECT *, {RECENCY} AS recency FROM events WHERE event_date <= {t} AND reported_on <= {t}{rng}) e
          ON e.uscc = n.uscc
        GROUP BY n.uscc, n.n_type, n.n_est)""")
    related = _related_sql(p, [i for i in inds if i.kind == "related"])
    if not shared:
        ctes += [f"{name} AS ({sql})" for name, sql in related["shared"]]
    domain = _domain_sql(as_of, [i for i in inds if i.kind == "domain"])
    ctes += domain["ctes"]
    select = ([f"n.{c}" for c in ATTRIBUTES] + [f"ie.{c}" for c in ev_codes] + cols("entity") + related["select"]
              + domain["select"])
    base = f"""SELECT {", ".join(select)}
        FROM (SELECT *, entity_type AS n_type FROM pop WHERE true{rng}) n
        JOIN ind_events ie ON ie.uscc = n.uscc
        {related["joins"]}{domain["joins"]}"""
    derived = cols("derived")
    if not derived:
        return f"WITH {', '.join(ctes)}\n{base}"
    # derived indicators are expressions over the others (by code) and may use n_type
    ctes.append(f"base AS ({base})")
    kept = [*ATTRIBUTES, *(i.code for kind in ("event", "entity", "related", "domain") for i in inds if i.kind == kind)]
    return (f"WITH {', '.join(ctes)}\nSELECT {', '.join(f'b.{c}' for c in kept)}, {', '.join(derived)}\n"
            f"FROM (SELECT *, entity_type AS n_type FROM base) b")


def chunk_ranges(chunks: int, within: tuple[int, int] = (0, BUCKETS)) -> list[tuple[int, int]]:
    """``within`` cut into ``chunks`` contiguous bucket ranges (the last ones may be empty)."""
    lo, hi = within
    step = -(-(hi - lo) // max(1, chunks))
    return [(a, min(a + step, hi)) for a in range(lo, hi, step)]


def compute_indicators(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, *,
                       table: str = "indicators", include_revoked: bool = False,
                       buckets: tuple[int, int] | None = None, chunks: int = 1, progress=None,
                       usccs: list[str] | None = None) -> list[str]:
    """Create the temporary table ``table`` (uscc, entity attributes, one column per indicator).

    ``buckets``: only entities of that bucket range (see :func:`indicator_query`).  ``chunks`` > 1
    computes the range in that many bucket ranges, one query each, appended to ``table``: the
    aggregation then holds one chunk's entities and events at a time (events are stored in bucket
    order, so a chunk reads only its part of them).  The rows are the same whatever ``chunks``.
    ``usccs``: only these entities' rows (see :func:`indicator_query`)."""
    ranges = chunk_ranges(chunks, buckets or (0, BUCKETS)) if chunks > 1 else [buckets]
    shared = len(ranges) > 1
    if shared:  # population-wide relations (一址多企, a person's risky entities): once for every range
        pop = f"pop AS ({population_sql(as_of, include_revoked=include_revoked)})"
        for name, sql in shared_tables(catalog, as_of):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS WITH {pop} {sql}")
    for k, rng in enumerate(ranges):
        sql = indicator_query(catalog, as_of, include_revoked=include_revoked, buckets=rng, shared=shared, usccs=usccs)
        if k == 0:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}\nORDER BY uscc")
        else:
            con.execute(f"INSERT INTO {table} {sql}\nORDER BY uscc")
        if progress and len(ranges) > 1:
            progress(f"indicators as of {as_of}: bucket range {k + 1} of {len(ranges)} done")
    if shared:
        for name, _ in shared_tables(catalog, as_of):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return [i.code for i in catalog.enabled]


def shared_tables(catalog: Catalog, as_of: dt.date) -> list[tuple[str, str]]:
    """(name, SQL over the CTE ``pop``) of the population-wide relations the related-party indicators join."""
    return _related_sql(as_of_params(as_of), [i for i in catalog.enabled if i.kind == "related"])["shared"]


# relation ``building_linked`` (一址多企 since catalog 2027.01-3): the other entities registered at the same building
# within this many days of the entity (before or after) that share its contact phone or its legal representative -
# the registration window of the ``registration_cluster`` warning rule (warnings.yaml), so an office tower's tenants,
# who arrive over years with phones and people of their own, are not counted against each other
BUILDING_WINDOW_DAYS = 60
# a trailing room number (1801室, A-1203室, 12房): the building address is the address without it (the same
# cut as riskgrade.warning.clusters.building_sql)
ROOM = r"[0-9A-Za-z\-－]+(室|房间|房)$"


def building_sql(col: str) -> str:
    """SQL: the building address of an address column (spaces removed, a trailing room number cut)."""
    return f"nullif(regexp_replace(replace(replace({col}, ' ', ''), '　', ''), '{ROOM}', ''), '')"


def _related_sql(p: dict[str, str], inds: list[Indicator]) -> dict:
    """Columns and joins of the related-party indicators, and the population-wide relations they join
    (``shared``: (name, SQL over the CTE ``pop``), each computed over every entity, whatever rows the
    query itself returns)."""
    t, y3 = p["asof"], p["y3"]
    select: list[str] = []
    joins: dict[str, str] = {}  # one join per relation, however many indicators use it
    shared: dict[str, str] = {}
    for i in inds:
        if i.relation in ("address", "phone", "person"):
            key, alias = {"address": ("address", "ra"), "phone": ("phone_id", "rp"), "person": ("legal_rep_id", "rl")}[i.relation]
            name = f"rel_{i.relation}"
            select.append(f"CASE WHEN n.{key} IS NULL THEN NULL ELSE coalesce({alias}.k, 1) - 1 END AS {i.code}")
            shared[name] = f"SELECT {key}, count(*) AS k FROM pop WHERE {key} IS NOT NULL GROUP BY {key}"
            joins[i.relation] = f"LEFT JOIN {name} {alias} ON {alias}.{key} = n.{key}"
        elif i.relation == "building_linked":
            select.append(f"CASE WHEN n.address IS NULL THEN NULL ELSE coalesce(rb.k, 0) END AS {i.code}")
            shared["rel_building_keys"] = f"""
                SELECT uscc, {building_sql('address')} AS building, established_on AS est,
                       nullif(trim(phone_id), '') AS phone, nullif(trim(legal_rep_id), '') AS rep
                FROM pop WHERE address IS NOT NULL"""
            near = f"y.uscc <> x.uscc AND abs(date_diff('day', x.est, y.est)) <= {BUILDING_WINDOW_DAYS}"
            # two equi-joins (building and phone, building and person), not one join on the building: a building's
            # tenants are never paired with each other unless they share one of the two
            shared["rel_building"] = f"""
                SELECT uscc, count(*) AS k FROM (
                    SELECT x.uscc, y.uscc AS other FROM rel_building_keys x JOIN rel_building_keys y
                      ON y.building = x.building AND y.phone = x.phone AND {near}
                    UNION
                    SELECT x.uscc, y.uscc AS other FROM rel_building_keys x JOIN rel_building_keys y
                      ON y.building = x.building AND y.rep = x.rep AND {near}) linked
                GROUP BY uscc"""
            joins[i.relation] = "LEFT JOIN rel_building rb ON rb.uscc = n.uscc"
        elif i.relation == "person_risky":
            select.append(f"CASE WHEN n.legal_rep_id IS NULL THEN NULL ELSE "
                          f"coalesce(rr.k, 0) - CASE WHEN rs.uscc IS NOT NULL THEN 1 ELSE 0 END END AS {i.code}")
            if i.relation in joins:
                continue
            # entities of each person that are on the abnormal list or the serious-dishonesty list at T (each list
            # by itself: its latest listing after its latest removal) or were revoked in the last 3 years
            shared["risky"] = f"""
                SELECT DISTINCT x.uscc, x.legal_rep_id FROM entities x
                LEFT JOIN (
                    SELECT uscc,
                           max(event_date) FILTER (WHERE event_type = 'abnormal_list_in') AS ai,
                           max(event_date) FILTER (WHERE event_type = 'abnormal_list_out') AS ao,
                           max(event_date) FILTER (WHERE event_type = 'serious_dishonest_in') AS si,
                           max(event_date) FILTER (WHERE event_type = 'serious_dishonest_out') AS so
                    FROM events WHERE event_date <= {t} AND reported_on <= {t}
                      AND event_type IN ('abnormal_list_in', 'abnormal_list_out', 'serious_dishonest_in', 'serious_dishonest_out')
                    GROUP BY uscc) l ON l.uscc = x.uscc
                WHERE x.legal_rep_id IS NOT NULL AND x.established_on <= {t} AND (
                      (l.ai IS NOT NULL AND l.ai > coalesce(l.ao, DATE '1900-01-01'))
                   OR (l.si IS NOT NULL AND l.si > coalesce(l.so, DATE '1900-01-01'))
                   OR (x.status = 'revoked' AND x.closed_on <= {t} AND x.closed_on > {y3}))"""
            shared["risky_per_person"] = "SELECT legal_rep_id, count(*) AS k FROM risky GROUP BY legal_rep_id"
            joins[i.relation] = ("LEFT JOIN risky_per_person rr ON rr.legal_rep_id = n.legal_rep_id\n"
                                 "        LEFT JOIN risky rs ON rs.uscc = n.uscc")
    return {"select": select, "joins": "\n        ".join(joins.values()), "shared": list(shared.items())}


def _domain_sql(as_of: dt.date, inds: list[Indicator]) -> dict:
    """CTE, join and columns of the professional-domain indicators: one ``GROUP BY uscc`` pass over
    ``domain_grades`` rows with ``as_of <= T``, each domain's latest grade mapped to its risk level."""
    if not inds:
        return {"select": [], "joins": "", "ctes": []}
    aggs = []
    for i in inds:
        if i.levels is None:
            raise RiskgradeError(f"indicator {i.code}: no level mapping for domain {i.domain}; load the catalog "
                                 "with a fusion configuration (riskgrade.scoring.fusion)")
        latest = f"max_by({DOMAIN_GRADE}, {DOMAIN_RECENCY}) FILTER (WHERE {domain_filter(i.domain or '', as_of, i.max_age_days)})"
        aggs.append(f"{level_case(latest, i.levels)} AS {i.code}")
    cte = (f"ind_domain AS (SELECT uscc, {', '.join(aggs)} FROM domain_grades "
           f"WHERE as_of <= DATE '{as_of.isoformat()}' GROUP BY uscc)")
    return {"select": [f"{applies(i, f'idm.{i.code}')} AS {i.code}" for i in inds],
            "joins": "\n        LEFT JOIN ind_domain idm ON idm.uscc = n.uscc", "ctes": [cte]}
