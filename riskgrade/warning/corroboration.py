"""Corroboration (印证): which new alerts enter the open queue, and which wait as ``uncorroborated`` (待印证).

One rule firing on one entity is one signal; most single signals are weak.  On the simulated province the
entities alerted by one rule alone went on to have a violation found at 1.8 times the base rate, those
alerted by two different rules within a year at 3.0 times, by three or more at 3.5 times (all statuses;
docs/warning.md "The size and quality of the queue").  So a new alert enters the open queue (待分办) when

* its entity - any member, for a cluster - has alerts of at least ``suppression.queue_min_rules`` (2)
  different rules, this one included, raised within ``suppression.queue_window_days`` (365) of it: stored
  alerts of any status (muted, uncorroborated and closed ones too: a weak rule is still a second signal)
  and the run's other new or extended alerts; or
* its rule stands alone (``alone: true``: a registration cluster, whose evidence is already the records of
  several entities; or ``mute: never``, a mandated trigger); or it is an area alert (about an area, no
  entity to corroborate).

Otherwise (and when it is not muted, which comes first) it is stored with status ``uncorroborated``: raised,
routed, measured and listed for review (``riskgrade alerts list --status uncorroborated``, the API's and the
console's status filter) exactly like a muted one, and an officer can take it up (``assign``).  When a second
rule fires on the entity later, that new alert is queued; the earlier one stays as it is (its own status,
listed for review), so nothing changes after the fact.  ``queue_min_rules: 1`` turns corroboration off.

It applies from a home's first ``warn`` on: the stock (存量) the first run raises over the delivered history
is queued by the same rule (nothing is muted in it yet - no alert has been measured - so corroboration is
then the only filter), and so are the increments (增量) of every later run.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ..sql import table_exists
from .rules import RuleCatalog


def stands_alone(catalog: RuleCatalog, code: str, scope: str) -> bool:
    """Whether an alert of the rule enters the queue without corroboration."""
    rule = catalog.get(code)
    return scope == "area" or (rule is not None and (rule.alone or rule.mute == "never"))


def uncorroborated(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog, outcomes: list,
                   muted: dict[str, bool]) -> set[str]:
    """The ids of the run's new alerts (``outcomes``) that are neither muted nor corroborated (see the module)."""
    s = catalog.suppression
    cand = [o for o in outcomes if o.new and not muted.get(o.rule) and not stands_alone(catalog, o.rule, o.scope)]
    if s.queue_min_rules <= 1 or not cand:
        return set()
    c_rows = [(o.alert_id, o.rule, u, d) for o in cand for u, d in sorted(o.members.items())]
    r_rows = sorted({(o.rule, u, d) for o in outcomes if o.scope != "area" for u, d in o.members.items()})
    con.register("w_corr_cand", pa.table({
        "alert_id": [r[0] for r in c_rows], "rule": [r[1] for r in c_rows], "uscc": [r[2] for r in c_rows],
        "raised_on": pa.array([r[3] for r in c_rows], pa.date32())}))
    con.register("w_corr_run", pa.table({
        "rule": pa.array([r[0] for r in r_rows], pa.string()), "uscc": pa.array([r[1] for r in r_rows], pa.string()),
        "raised_on": pa.array([r[2] for r in r_rows], pa.date32())}))
    stored = ""
    if table_exists(con, "alerts") and table_exists(con, "alert_members"):
        stored = """UNION ALL SELECT a.rule, m.uscc, m.raised_on FROM alert_members m JOIN alerts a USING (alert_id)
                    SEMI JOIN (SELECT DISTINCT uscc FROM w_corr_cand) c ON c.uscc = m.uscc
                    WHERE a.scope <> 'area' AND m.raised_on IS NOT NULL"""
    try:
        ok = {r[0] for r in con.execute(f"""
            WITH other AS (SELECT rule, uscc, raised_on FROM w_corr_run {stored})
            SELECT c.alert_id FROM w_corr_cand c JOIN other o
                ON o.uscc = c.uscc AND o.rule <> c.rule
               AND o.raised_on >= c.raised_on - to_days(CAST(? AS INTEGER))
               AND o.raised_on <= c.raised_on + to_days(CAST(? AS INTEGER))
            GROUP BY c.alert_id, c.uscc HAVING count(DISTINCT o.rule) + 1 >= ?""",
            [s.queue_window_days, s.queue_window_days, s.queue_min_rules]).fetchall()}
    finally:
        con.unregister("w_corr_cand")
        con.unregister("w_corr_run")
    return {o.alert_id for o in cand} - ok
