"""Tables of the inspection stage, in the warehouse beside the snapshots it reads.

* ``tasks``: inspection tasks (抽查任务) with their scope;
* ``task_targets``: entities a task must inspect (定向抽查, e.g. from a high-severity alert);
* ``plans``: one row per drawn plan: seed, algorithm, the eligible population's hash, allocation;
* ``plan_entities``: the drawn entities with their inclusion probability and inspectors;
* ``plan_population``: every entity that could have been drawn, with its (published) stratum;
* ``plan_results``: inspection results linked to the plan they answer.
"""

from __future__ import annotations

import duckdb

from ..sql import table_exists

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id INTEGER, name VARCHAR, domain VARCHAR, region_prefix VARCHAR, industry_prefix VARCHAR,
    entity_types VARCHAR, check_items VARCHAR, period_start DATE, period_end DATE, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS plans (
    plan_id INTEGER, task_id INTEGER, as_of DATE, snapshot_id INTEGER, seed VARCHAR, algorithm VARCHAR,
    sampling_version VARCHAR, population_hash VARCHAR, eligible BIGINT, budget BIGINT, optimise BOOLEAN,
    drawn BIGINT, manifest JSON, content_hash VARCHAR, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS plan_entities (
    plan_id INTEGER, uscc VARCHAR, name VARCHAR, region_code VARCHAR, grade VARCHAR, stratum VARCHAR,
    selection VARCHAR, inclusion_probability DOUBLE, draw_key VARCHAR, check_mode VARCHAR, inspectors VARCHAR,
    risk_probability DOUBLE
);
CREATE TABLE IF NOT EXISTS task_targets (
    task_id INTEGER, uscc VARCHAR, alert_id VARCHAR, reason VARCHAR, added_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS plan_population (
    plan_id INTEGER, uscc VARCHAR, stratum VARCHAR
);
CREATE TABLE IF NOT EXISTS plan_results (
    plan_id INTEGER, uscc VARCHAR, source VARCHAR, record_id VARCHAR, event_date DATE, result VARCHAR,
    check_mode VARCHAR, inspectors VARCHAR, imported_at TIMESTAMP
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def add_targets(con: duckdb.DuckDBPyConnection, task_id: int, usccs: list[str], reason: str = "",
                alert_id: str | None = None) -> None:
    """Record entities a task must inspect (定向抽查) in ``task_targets``, added now.  The caller holds the
    transaction and has checked the task and the entities."""
    import datetime as dt

    now = dt.datetime.now().replace(microsecond=0)
    con.execute(SCHEMA)
    if usccs:
        con.executemany("INSERT INTO task_targets VALUES (?, ?, ?, ?, ?)",
                        [[task_id, u, alert_id, reason, now] for u in usccs])


def targeted(con: duckdb.DuckDBPyConnection, task_id: int) -> set[str]:
    """The entities already targets of a task."""
    if not table_exists(con, "task_targets"):
        return set()
    return {r[0] for r in con.execute("SELECT uscc FROM task_targets WHERE task_id = ?", [task_id]).fetchall()}


# every line of every results upload (抽查结果上传), accepted or rejected with its reason: nothing is lost
RESULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS results_rows (
    upload_id INTEGER, plan_id INTEGER, line BIGINT, status VARCHAR, uscc VARCHAR, event_date DATE,
    result VARCHAR, inspector VARCHAR, notes VARCHAR, source VARCHAR, record_id VARCHAR, column_name VARCHAR,
    reason VARCHAR, raw VARCHAR, uploader VARCHAR, file VARCHAR, uploaded_at TIMESTAMP
);
"""


def ensure_results_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)
    con.execute(RESULTS_SCHEMA)
