"""Tables of the warning stage, in the warehouse beside the records they point to.

* ``warn_runs``: one row per ``riskgrade warn``: the watermark (the last delivery and snapshot
  evaluated), the reference date, counts of raw hits, suppressed hits and alerts;
* ``alerts``: one row per alert (预警): rule, severity, scope (entity / cluster / area), the date of
  the records that raised it, the responsible unit (and its department code), its workflow status; an
  area alert's figures (month, complaints, baseline, CUSUM, entities in the cell, the area's name) are
  in its ``info``;
* ``alert_members``: the entities of an alert (one for an entity alert, every member of a cluster; none
  for an area alert, which is about its county x industry);
* ``alert_evidence``: the records behind an alert (``role`` trigger: the records that fired it;
  context: the window around them); trigger records never raise the same rule again;
* ``alert_log``: append-only, hash-chained log of every step (raise, extend, assign, handle, target,
  close), in the same form as the registry's audit log;
* ``notices`` / ``outbox``: notices to businesses (双推送) and their delivery status;
* (``task_targets``, the entities an inspection task must include (定向抽查), belong to the inspection
  stage: :func:`riskgrade.inspection.tables.add_targets` writes them.)
"""

from __future__ import annotations

import duckdb


SCHEMA = """
CREATE TABLE IF NOT EXISTS warn_runs (
    run_id INTEGER, started_at TIMESTAMP, finished_at TIMESTAMP, since DATE, delivery_from INTEGER,
    delivery_to INTEGER, snapshot_to INTEGER, ref_date DATE, rules_version VARCHAR, rules_fingerprint VARCHAR,
    new_records BIGINT, new_entities BIGINT, raw_hits BIGINT, already_alerted BIGINT, suppressed BIGINT,
    alerts_new BIGINT, alerts_extended BIGINT, counts JSON, seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR, rule VARCHAR, rule_name VARCHAR, severity VARCHAR, scope VARCHAR, group_key VARCHAR,
    raised_on DATE, last_record_on DATE, members INTEGER, summary VARCHAR, info JSON, label VARCHAR,
    unit_kind VARCHAR, responsible_unit VARCHAR, region_code VARCHAR, status VARCHAR, assignee VARCHAR,
    disposition VARCHAR, run_id INTEGER, created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS alert_members (
    alert_id VARCHAR, uscc VARCHAR, raised_on DATE, run_id INTEGER
);
CREATE TABLE IF NOT EXISTS alert_evidence (
    alert_id VARCHAR, rule VARCHAR, uscc VARCHAR, role VARCHAR, source VARCHAR, record_id VARCHAR,
    event_type VARCHAR, event_date DATE, delivery_id INTEGER, run_id INTEGER
);
CREATE TABLE IF NOT EXISTS alert_log (
    seq BIGINT, logged_at TIMESTAMP, username VARCHAR, action VARCHAR, alert_id VARCHAR, detail VARCHAR,
    prev_hash VARCHAR, hash VARCHAR
);
CREATE TABLE IF NOT EXISTS notices (
    notice_id VARCHAR, uscc VARCHAR, as_of DATE, items JSON, signature VARCHAR, subject VARCHAR, body VARCHAR,
    office VARCHAR, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS outbox (
    notice_id VARCHAR, channel VARCHAR, recipient VARCHAR, status VARCHAR, attempts INTEGER, last_error VARCHAR,
    queued_at TIMESTAMP, sent_at TIMESTAMP
);
"""

# columns added after the first release (a store written before gets them on its next ``warn``):
# alerts.unit_code - the routing table's department code of the responsible unit (a domain officer's
# filter); alerts.expected_risk - in [0, 1] (warning/precision.py); warn_runs.routing_version and
# unmapped_sources - the routing table a run used and the source texts it could not place
ADDED = (("alerts", "unit_code", "VARCHAR"), ("alerts", "expected_risk", "DOUBLE"),
         ("warn_runs", "routing_version", "VARCHAR"), ("warn_runs", "unmapped_sources", "JSON"))
WARN_RUN_COLUMNS = ("run_id", "started_at", "finished_at", "since", "delivery_from", "delivery_to", "snapshot_to",
                    "ref_date", "rules_version", "rules_fingerprint", "new_records", "new_entities", "raw_hits",
                    "already_alerted", "suppressed", "alerts_new", "alerts_extended", "counts", "seconds",
                    "routing_version", "unmapped_sources")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)
    for table, column, kind in ADDED:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")

