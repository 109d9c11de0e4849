"""Compute the indicators of every entity in scope as of a date, from what was known on that date.

Point in time: an event counts when ``event_date <= T`` and ``reported_on <= T`` (it had been
delivered by T; ``reported_on`` defaults to the load date).  An entity is in scope when it was
established by T and had not closed by T (``closed_on`` after T, or still active).

Every event indicator is one aggregate in a single ``GROUP BY uscc`` pass over the events, which
are stored clustered by entity.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from ..errors import RiskgradeError
from .catalog import Catalog, Indicator


def as_of_params(as_of: dt.date) -> dict[str, str]:
    """Named dates used by the catalog, as SQL DATE literals."""

    def lit(d: dt.date) -> str:
        return f"DATE '{d.isoformat()}'"

    def years_back(n: int) -> dt.date:
        try:
            return as_of.replace(year=as_of.year - n)
        except ValueError:  # 29 February
            return as_of.replace(year=as_of.year - n, day=28)

    # a year's annual report is due by 30 June of the next year
    due1 = as_of.year - 1 if as_of >= dt.date(as_of.year, 6, 30) else as_of.year - 2
    due2 = due1 - 1
    return {
        "asof": lit(as_of),
        "d90": lit(as_of - dt.timedelta(days=90)),
        "d180": lit(as_of - dt.timedelta(days=180)),
        "y1": lit(years_back(1)),
        "y2": lit(years_back(2)),
        "y3": lit(years_back(3)),
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


def _applies(ind: Indicator, expr: str) -> str:
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


def compute_indicators(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, *,
                       table: str = "indicators", include_revoked: bool = False) -> list[str]:
    """Create the temporary table ``table`` (uscc, entity attributes, one column per indicator)."""
    p = as_of_params(as_of)
    inds = catalog.enabled
    t = p["asof"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE pop AS {population_sql(as_of, include_revoked=include_revoked)}")
    ev_cols = [f"{_applies(i, render(i.sql or '', p))} AS {i.code}" for i in inds if i.kind == "event"]
    ent_cols = [f"{_applies(i, render(i.sql or '', p))} AS {i.code}" for i in inds if i.kind == "entity"]
    ev_select = (", " + ", ".join(ev_cols)) if ev_cols else ""
    # event SQL may use n_est (the establishment date) and n_type (the entity type): grouped columns
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ind_events AS
        SELECT n.uscc{ev_select}
        FROM (SELECT uscc, entity_type AS n_type, established_on AS n_est FROM pop) n
        LEFT JOIN (SELECT * FROM events WHERE event_date <= {t} AND reported_on <= {t}) e ON e.uscc = n.uscc
        GROUP BY n.uscc, n.n_type, n.n_est
    """)
    related = _related_sql(as_of, [i for i in inds if i.kind == "related"])
    ent_select = (", " + ", ".join(ent_cols)) if ent_cols else ""
    base = f"""
        SELECT n.uscc, n.name, n.entity_type, n.region_code, n.industry_code, n.industry_section, n.status,
               n.established_on, n.registered_capital, n.bucket,
               ie.* EXCLUDE (uscc){ent_select}{related['select']}
        FROM (SELECT *, entity_type AS n_type FROM pop) n
        JOIN ind_events ie ON ie.uscc = n.uscc
        {related['joins']}
    """
    derived = [i for i in inds if i.kind == "derived"]
    if derived:
        d_cols = ", ".join(f"{_applies(i, render(i.sql or '', p))} AS {i.code}" for i in derived)
        base = f"SELECT b.*, {d_cols} FROM (SELECT *, entity_type AS n_type FROM ({base})) b"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (n_type) FROM ({base}) ORDER BY uscc")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {base} ORDER BY uscc")
    con.execute("DROP TABLE ind_events")
    for name in related["temps"]:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return [i.code for i in inds]


def _related_sql(as_of: dt.date, inds: list[Indicator]) -> dict:
    """Joins for related-party indicators, over the population at T."""
    t = f"DATE '{as_of.isoformat()}'"
    select, joins, temps = [], [], []
    for i in inds:
        if i.relation == "address":
            select.append(f"CASE WHEN n.address IS NULL THEN NULL ELSE coalesce(ra.k, 1) - 1 END AS {i.code}")
            joins.append("LEFT JOIN (SELECT address, count(*) AS k FROM pop WHERE address IS NOT NULL GROUP BY address) ra "
                         "ON ra.address = n.address")
        elif i.relation == "phone":
            select.append(f"CASE WHEN n.phone_id IS NULL THEN NULL ELSE coalesce(rp.k, 1) - 1 END AS {i.code}")
            joins.append("LEFT JOIN (SELECT phone_id, count(*) AS k FROM pop WHERE phone_id IS NOT NULL GROUP BY phone_id) rp "
                         "ON rp.phone_id = n.phone_id")
        elif i.relation == "person":
            select.append(f"CASE WHEN n.legal_rep_id IS NULL THEN NULL ELSE coalesce(rl.k, 1) - 1 END AS {i.code}")
            joins.append("LEFT JOIN (SELECT legal_rep_id, count(*) AS k FROM pop WHERE legal_rep_id IS NOT NULL "
                         "GROUP BY legal_rep_id) rl ON rl.legal_rep_id = n.legal_rep_id")
        elif i.relation == "person_risky":
            # entities of each person that are listed (abnormal / serious dishonesty) at T or were revoked in 3 years
            flagged = f"""
                SELECT DISTINCT x.uscc, x.legal_rep_id FROM entities x
                LEFT JOIN (
                    SELECT uscc,
                           max(event_date) FILTER (WHERE event_type IN ('abnormal_list_in', 'serious_dishonest_in')) AS li,
                           max(event_date) FILTER (WHERE event_type IN ('abnormal_list_out', 'serious_dishonest_out')) AS lo
                    FROM events WHERE event_date <= {t} AND reported_on <= {t}
                      AND event_type IN ('abnormal_list_in', 'abnormal_list_out', 'serious_dishonest_in', 'serious_dishonest_out')
                    GROUP BY uscc) l ON l.uscc = x.uscc
                WHERE x.legal_rep_id IS NOT NULL AND x.established_on <= {t} AND (
                      (l.li IS NOT NULL AND l.li > coalesce(l.lo, DATE '1900-01-01'))
                   OR (x.status = 'revoked' AND x.closed_on <= {t} AND x.closed_on > {t} - INTERVAL 3 YEAR))
            """
            select.append(f"CASE WHEN n.legal_rep_id IS NULL THEN NULL ELSE "
                          f"coalesce(rr.k, 0) - CASE WHEN rs.uscc IS NOT NULL THEN 1 ELSE 0 END END AS {i.code}")
            joins.append(f"LEFT JOIN (SELECT legal_rep_id, count(*) AS k FROM ({flagged}) GROUP BY legal_rep_id) rr "
                         f"ON rr.legal_rep_id = n.legal_rep_id")
            joins.append(f"LEFT JOIN ({flagged}) rs ON rs.uscc = n.uscc")
    return {"select": (", " + ", ".join(select)) if select else "", "joins": "\n".join(joins), "temps": temps}
