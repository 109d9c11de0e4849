"""Publish a month to the registry (one transaction) and check that nothing was altered since.

``publish`` copies a sealed warehouse snapshot (its content hash is recomputed first) with what the
service shows about each entity: the grades, the entities' registration data, the records behind
their timelines, and the month's inspection plans.  Every published grade row carries a *seal*: an
HMAC-SHA256 of the row with the registry's secret key (``<home>/registry.key``, created on first
use, readable by its owner only), so that somebody who can edit the database but not read the key
cannot change a grade unnoticed: reads verify the row's seal, and ``verify_snapshot`` recomputes
every seal and the snapshot's content hash (kept in its manifest and in the audit log).

Each published grade also carries its explanation: ``score_base`` (score = clip(score_base + the points of
``reason_points``, 0, 1000)) and ``facts``, the facts behind its reasons and its largest risk-lowering
factors (JSON ``{code: fact}``, :mod:`riskgrade.indicators.facts`), computed here from the warehouse's
records known at the month's end, since the service reads the registry only.  The seal of such a row
covers them and ``reason_points`` too (rows published before they existed keep their shorter seal).

Approved grade reviews (申诉/复核, :mod:`riskgrade.registry.reviews`) are overrides applied here: an entity
whose newest approved review is of a month up to the published one, and whose computed grade is still the
reviewed one, is published with the review's grade, rule ``review`` and the review's id (covered by the seal);
the snapshot's manifest lists the reviews applied.  A review lapses by itself once a month's records give
another computed grade.  The entities' registration data beyond the contract (the legal representative's
name, the business scope, the registration authority) is copied when the warehouse holds those columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from ..errors import RiskgradeError
from ..sql import column_exists, table_exists
from . import audit, reviews, summaries
from .models import Entity, Event, Grade, Plan, PlanEntity, PlanInspector, Snapshot, Summary

KEY_FILE = "registry.key"
BATCH = 20_000

GRADE_COLS = ("uscc", "region_code", "industry_code", "entity_type", "score", "grade", "previous_grade", "grade_rule",
              "reasons", "reason_points", "labels")
EXPLAIN_COLS = ("score_base", "facts")  # the explanation of a grade (null in rows published before it)
# a published grade carries the facts of its reasons and other largest positive contributions (up to
# REASON_FACTS) and of its LOWERING_FACTS largest risk-lowering factors: a trained scorecard gives most
# entities a contribution from nearly every indicator, and the registry keeps a month per row
REASON_FACTS, LOWERING_FACTS = 10, 5
ENTITY_COLS = ("uscc", "name", "entity_type", "region_code", "industry_code", "industry_section", "established_on",
               "status", "closed_on", "registered_capital", "address", "legal_rep_id", "phone_id")
# registration data beyond the contract's columns: copied when the warehouse's entities table has them
ENTITY_EXTRA = ("legal_rep_name", "business_scope", "registration_authority")
EVENT_COLS = ("uscc", "event_type", "event_date", "source", "detail", "amount", "end_date", "record_id")


def secret_key(home: Path) -> bytes:
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def seal(key: bytes, as_of: dt.date, row: dict) -> str:
    parts = [as_of.isoformat(), row["uscc"], f"{float(row['score']):.2f}", row["grade"], row.get("grade_rule") or "",
             row.get("reasons") or "", row.get("labels") or "", row["region_code"]]
    if row.get("facts") is not None or row.get("score_base") is not None:  # a row with its explanation
        base = row.get("score_base")
        parts += ["" if base is None else f"{float(base):.4f}", row.get("reason_points") or "", row.get("facts") or ""]
    if row.get("review_id") is not None:  # a grade set by a grade review: its id is sealed too
        parts.append(f"review:{int(row['review_id'])}")
    text = "|".join(str(x) for x in parts)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def content_hash(seals: list[str]) -> str:
    """The snapshot's hash: sha256 over its rows' seals in USCC order."""
    return hashlib.sha256("".join(seals).encode()).hexdigest()


@dataclass
class Published:
    snapshot_id: int
    as_of: dt.date
    grades: int
    entities: int
    events: int
    plans: int
    content_hash: str


def _batches(cur, cols: tuple[str, ...]) -> Iterator[list[dict]]:
    while True:
        rows = cur.fetchmany(BATCH)
        if not rows:
            return
        yield [dict(zip(cols, r)) for r in rows]


def _bulk(session: Session, table, cols: tuple[str, ...], batches) -> int:
    """Insert batches of dicts: COPY on PostgreSQL, executemany elsewhere."""
    n = 0
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
            for batch in batches:
                for r in batch:
                    cp.write_row(tuple(r[c] for c in cols))
                n += len(batch)
        return n
    for batch in batches:
        session.execute(insert(table), batch)
        n += len(batch)
    return n


def publish(home: Path, factory: sessionmaker[Session], as_of: dt.date, username: str, *, progress=None,
            lock_timeout: float = 60.0, catalog_path: Path | None = None) -> Published:
    """``catalog_path``: the indicator catalog the facts behind the reasons come from (default: built-in)."""
    from ..snapshot import current_snapshot
    from ..warehouse import Warehouse

    say = progress or (lambda m: None)
    key = secret_key(home)
    with Warehouse(home, lock_timeout=lock_timeout) as wh:
        con = wh.con
        sid = current_snapshot(con, as_of)
        snap = con.execute("SELECT model, model_version, catalog_version, grade_mode, entities, content_hash, "
                           "config_fingerprint, grade_counts FROM snapshots WHERE snapshot_id = ?", [sid]).fetchall()[0]
        recomputed = con.execute(f"""
            SELECT md5(string_agg(md5(concat_ws('|', uscc, score, grade, grade_rule, reasons, labels)), '' ORDER BY uscc))
            FROM grades WHERE snapshot_id = {sid}""").fetchall()[0][0] or ""
        if recomputed != snap[5]:
            raise RiskgradeError(f"the warehouse snapshot {sid} as of {as_of} does not match its sealed content hash "
                                 "(altered after classification?): not published")
        say(f"publishing snapshot {sid} as of {as_of} ({snap[4]:,} entities)")
        _facts_table(con, sid, snap[2], catalog_path, say)
        has_base = column_exists(con, "grades", "score_base")
        with factory() as s, s.begin():
            new_id = (s.execute(select(Snapshot.id).order_by(Snapshot.id.desc()).limit(1)).scalar() or 0) + 1
            s.add(Snapshot(id=new_id, as_of=as_of, published_at=dt.datetime.now().replace(microsecond=0),
                           published_by=username, source_snapshot_id=sid, model=snap[0], model_version=snap[1] or "",
                           catalog_version=snap[2], grade_mode=snap[3], entities=snap[4], content_hash="",
                           manifest={}))
            s.flush()
            seals: list[str] = []
            carried = reviews.carried(s, as_of)
            applied: list[dict] = []

            def review(r: dict) -> None:
                """An approved grade review carried into this publication (while the computed grade is the
                reviewed one)."""
                rv = carried.get(r["uscc"])
                r["review_id"] = None
                if rv is None or rv.from_grade != r["grade"] or rv.to_grade == r["grade"]:
                    return
                r["grade"], r["grade_rule"], r["review_id"] = rv.to_grade, "review", rv.id
                applied.append({"review_id": rv.id, "uscc": rv.uscc, "from": rv.from_grade, "to": rv.to_grade})

            def grades():
                cols = ", ".join(f"g.{c}" for c in GRADE_COLS)
                base = "g.score_base" if has_base else "CAST(NULL AS DOUBLE)"
                cur = con.execute(f"SELECT {cols}, {base}, coalesce(f.facts, '{{}}') FROM grades g "
                                  f"LEFT JOIN _publish_facts f ON f.uscc = g.uscc WHERE g.snapshot_id = {sid} "
                                  "ORDER BY g.uscc")
                for batch in _batches(cur, GRADE_COLS + EXPLAIN_COLS):
                    for r in batch:
                        r["score"] = round(float(r["score"]), 2)
                        r["snapshot_id"] = new_id
                        review(r)
                        r["seal"] = seal(key, as_of, r)
                        seals.append(r["seal"])
                    yield batch

            n_grades = _bulk(s, Grade.__table__, ("snapshot_id",) + GRADE_COLS + EXPLAIN_COLS + ("review_id", "seal"),
                             grades())
            con.execute("DROP TABLE IF EXISTS _publish_facts")
            say(f"{n_grades:,} grades; entities and their records")
            s.execute(delete(Event))
            s.execute(delete(Entity))
            ent_cols = ENTITY_COLS + tuple(c for c in ENTITY_EXTRA if column_exists(con, "entities", c))
            cur = con.execute(f"SELECT {', '.join(ent_cols)} FROM entities WHERE uscc IN "
                              f"(SELECT uscc FROM grades WHERE snapshot_id = {sid}) ORDER BY uscc")
            n_ent = _bulk(s, Entity.__table__, ent_cols, _batches(cur, ent_cols))
            cur = con.execute(f"SELECT {', '.join(EVENT_COLS)} FROM events WHERE uscc IN "
                              f"(SELECT uscc FROM grades WHERE snapshot_id = {sid}) ORDER BY uscc, event_date")
            n_ev = _bulk(s, Event.__table__, EVENT_COLS, _batches(cur, EVENT_COLS))
            n_plans = _publish_plans(con, s, as_of)
            n_summaries = _publish_summaries(s, new_id, say)
            digest = content_hash(seals)
            snap_row = s.get(Snapshot, new_id)
            snap_row.content_hash = digest
            snap_row.manifest = {"source_snapshot_id": sid, "warehouse_content_hash": snap[5],
                                 "config_fingerprint": snap[6], "grade_counts": json.loads(snap[7] or "{}"),
                                 "rows": n_grades, "summaries": n_summaries, "content_hash": digest,
                                 "seal": "HMAC-SHA256 per row, sha256 of seals", "reviews": applied}
    head = audit.append(factory, username, "publish", f"snapshot {new_id}",
                        {"as_of": as_of.isoformat(), "content_hash": digest, "grades": n_grades, "entities": n_ent,
                         "events": n_ev, "plans": n_plans, **({"reviews": [a["review_id"] for a in applied]}
                                                               if applied else {})})
    with factory() as s, s.begin():
        row = s.get(Snapshot, new_id)
        row.manifest = {**row.manifest, "audit_head": [head.id, head.hash]}
    _after_bulk_load(factory, say)
    return Published(new_id, as_of, n_grades, n_ent, n_ev, n_plans, digest)


def _after_bulk_load(factory: sessionmaker, say) -> None:
    """Fresh planner statistics: a bulk load leaves none until autovacuum gets to it, and without them
    PostgreSQL chose plans that made the profile's p95 30 times slower at 10M entities.  On PostgreSQL the
    tables the console reads through index-only scans (grades, entities, summaries, plan entities) are also
    vacuumed: until a table's pages are marked all-visible an index-only scan reads every row's page too (the
    search "county + grade D" took 370 ms at 1M entities before, 62 ms after), and autovacuum may be late or,
    as on some servers, off.  The events (the largest table, read by USCC) are only analysed."""
    analysed = (Event.__table__, Plan.__table__)
    vacuumed = (Grade.__table__, Entity.__table__, Summary.__table__, PlanEntity.__table__)
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        say("updating the database's statistics")
        with factory() as s, s.begin():
            for t in (*vacuumed, *analysed):
                s.execute(text(f"ANALYZE {t.name}"))
        return
    say("vacuuming and analysing the published tables")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:  # VACUUM: no transaction
        for t in vacuumed:
            c.execute(text(f"VACUUM (ANALYZE) {t.name}"))
        for t in analysed:
            c.execute(text(f"ANALYZE {t.name}"))


def _facts_table(con, snapshot_id: int, catalog_version: str, catalog_path: Path | None, say) -> None:
    """The temporary table ``_publish_facts`` (uscc, facts JSON {code: fact}) of the snapshot's graded entities:
    the facts of its reasons and largest contributions (``REASON_FACTS`` positive, ``LOWERING_FACTS`` negative)."""
    import time

    import duckdb

    from ..indicators import load_catalog
    from ..indicators.facts import snapshot_facts, top_contributions
    from ..warehouse import insert_rows

    t0 = time.perf_counter()
    cat = load_catalog(catalog_path)
    if cat.version != catalog_version:
        say(f"note: the month was classified with catalog {catalog_version}; facts come from catalog {cat.version}")
    con.execute("CREATE OR REPLACE TEMP TABLE _publish_facts (uscc VARCHAR, facts VARCHAR)")
    pick = top_contributions(REASON_FACTS, LOWERING_FACTS)
    try:
        rows = [(u, json.dumps(dict(items), ensure_ascii=False))
                for u, items in snapshot_facts(con, cat, snapshot_id, pick, progress=say)]
    except duckdb.Error as e:
        raise RiskgradeError(f"the facts behind the reasons (catalog {cat.version}): {str(e).splitlines()[0]}") from None
    insert_rows(con, "_publish_facts", rows)
    say(f"facts behind the reasons of {len(rows):,} entities in {time.perf_counter() - t0:.1f} s")


def _publish_summaries(s: Session, snapshot_id: int, say) -> int:
    """The snapshot's monthly summaries (:mod:`riskgrade.registry.summaries`), in the publishing transaction:
    aggregated from the grades just written, so they cannot disagree with them."""
    import time

    t0 = time.perf_counter()
    n = summaries.write(s, snapshot_id)
    say(f"{n:,} summary rows in {time.perf_counter() - t0:.1f} s")
    return n


def _publish_plans(con, s: Session, as_of: dt.date | None, plan_id: int | None = None) -> int:
    """The month's plans (or one plan) copied to the registry, replacing earlier copies."""
    if not table_exists(con, "plans"):
        return 0
    where, arg = ("p.as_of = ?", as_of) if plan_id is None else ("p.plan_id = ?", plan_id)
    plans = con.execute(f"""
        SELECT p.plan_id, p.as_of, coalesce(t.name, '全省通用双随机抽查'), coalesce(t.domain, 'general'), p.seed, p.drawn,
               p.content_hash, p.manifest
        FROM plans p LEFT JOIN tasks t USING (task_id) WHERE {where} ORDER BY p.plan_id""", [arg]).fetchall()
    ids = [p[0] for p in plans]
    if ids:
        s.execute(delete(PlanEntity).where(PlanEntity.plan_id.in_(ids)))
        s.execute(delete(PlanInspector).where(PlanInspector.plan_id.in_(ids)))
        s.execute(delete(Plan).where(Plan.id.in_(ids)))
    for p in plans:
        s.add(Plan(id=p[0], as_of=p[1], task_name=p[2], domain=p[3], seed=p[4], drawn=p[5], content_hash=p[6],
                   manifest=json.loads(p[7])))
    s.flush()
    cols = ("plan_id", "uscc", "region_code", "grade", "selection", "inclusion_probability", "check_mode", "inspectors")
    n = 0
    for pid in ids:
        cur = con.execute(f"SELECT {', '.join(cols)} FROM plan_entities WHERE plan_id = {int(pid)} ORDER BY uscc")
        n += _bulk(s, PlanEntity.__table__, cols, _batches(cur, cols))
    if ids and table_exists(con, "inspectors"):  # the people a plan names: by name and unit, not by id
        for pid, iid, name, unit in con.execute(f"""
                SELECT DISTINCT pe.plan_id, i.inspector_id, coalesce(i.name, ''), coalesce(i.unit_region_code, '')
                FROM (SELECT plan_id, unnest(string_split(inspectors, ';')) AS inspector_id FROM plan_entities
                      WHERE plan_id IN ({', '.join(str(int(i)) for i in ids)}) AND inspectors IS NOT NULL) pe
                JOIN inspectors i USING (inspector_id) ORDER BY 1, 2""").fetchall():
            s.add(PlanInspector(plan_id=pid, inspector_id=iid, name=name, unit_region_code=unit))
    return len(ids)


def publish_plan(home: Path, factory: sessionmaker[Session], plan_id: int, *, lock_timeout: float = 60.0) -> int:
    """Copy one plan (drawn after its month was published) to the registry."""
    from ..warehouse import Warehouse

    with Warehouse(home, lock_timeout=lock_timeout) as wh, factory() as s, s.begin():
        return _publish_plans(wh.con, s, None, plan_id)


def check_row(key: bytes, as_of: dt.date, g: Grade) -> bool:
    row = {c: getattr(g, c) for c in GRADE_COLS + EXPLAIN_COLS + ("review_id",)}
    return hmac.compare_digest(seal(key, as_of, row), g.seal)


@dataclass
class SnapshotCheck:
    snapshot_id: int
    as_of: dt.date
    ok: bool
    rows: int
    altered: list[str]
    problem: str = ""


def verify_snapshot(home: Path, factory: sessionmaker[Session], snapshot_id: int) -> SnapshotCheck:
    key = secret_key(home)
    with factory() as s:
        snap = s.get(Snapshot, snapshot_id)
        if snap is None:
            raise RiskgradeError(f"no published snapshot {snapshot_id}")
        altered, seals = [], []
        for g in s.execute(select(Grade).where(Grade.snapshot_id == snapshot_id).order_by(Grade.uscc)).scalars():
            seals.append(g.seal)
            if not check_row(key, snap.as_of, g):
                altered.append(g.uscc)
    problem = ""
    if content_hash(seals) != snap.content_hash or snap.manifest.get("content_hash") != snap.content_hash:
        problem = "the snapshot's rows do not add up to its sealed content hash (rows added, deleted or re-sealed)"
    if altered:
        problem = f"{len(altered)} grade rows altered since publication (e.g. {altered[0]})"
    return SnapshotCheck(snapshot_id, snap.as_of, not (altered or problem), len(seals), altered, problem)
