"""Notices to businesses (双推送: 推送给市场主体): what is wrong and how to put it right.

For every active entity with an open risk item as of a date - an overdue annual report, a current
abnormal listing, an unreachable registered address, a current serious-dishonesty or court-defaulter
listing - one notice in Chinese, rendered from ``templates/notice_zh.txt.j2``: each item with what
the records show, how to fix it (file the report, apply for removal, credit repair) and which office
handles it.  A notice never states a risk grade, score or classification: nothing here reads them.

A notice is identified by the entity and the set of its open items: building again while nothing
changed adds nothing; a new or resolved item gives a new notice.  Each new notice is queued in the
outbox (see :mod:`riskgrade.warning.outbox`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import pyarrow as pa

from .evaluate import day
from .exports import REASON_ZH
from .routing import county_unit

KIND_ORDER = ("annual_report_overdue", "abnormal_list", "unreachable", "serious_dishonest", "judgment_debtor")


def zh_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def due_years(as_of: dt.date, back: int = 3) -> list[int]:
    """Annual-report years already due at ``as_of`` (year Y is due by 30 June of Y+1), the latest ``back``."""
    last = as_of.year - 1 if as_of > dt.date(as_of.year, 6, 30) else as_of.year - 2
    return list(range(last - back + 1, last + 1))


def items_query(as_of: dt.date) -> str:
    T = day(as_of)
    years = due_years(as_of)
    years_sql = "[" + ", ".join(str(y) for y in years) + "]"
    return f"""
        WITH act AS (SELECT uscc, region_code, established_on FROM entities
                     WHERE coalesce(status, 'active') = 'active' AND established_on <= {T}),
        ev AS (SELECT uscc, event_type, event_date, detail, source, record_id, end_date FROM events
               WHERE event_type IN ('annual_report', 'abnormal_list_in', 'abnormal_list_out', 'serious_dishonest_in',
                                    'serious_dishonest_out', 'judgment_debtor_in', 'judgment_debtor_out', 'inspection')
                 AND event_date <= {T} AND uscc IN (SELECT uscc FROM act)),
        ar AS (SELECT a.uscc, y FROM act a, (SELECT unnest({years_sql}) AS y) yy
               WHERE a.established_on <= make_date(y, 12, 31)
                 AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.uscc = a.uscc AND ev.event_type = 'annual_report'
                                 AND ev.detail = y::VARCHAR)),
        listed AS (
            SELECT i.*, split_part(i.event_type, '_in', 1) AS list FROM ev i
            WHERE i.event_type IN ('abnormal_list_in', 'serious_dishonest_in', 'judgment_debtor_in')
              AND NOT EXISTS (SELECT 1 FROM ev o WHERE o.uscc = i.uscc
                              AND o.event_type = replace(i.event_type, '_in', '_out') AND o.event_date >= i.event_date
                              AND (i.event_type <> 'abnormal_list_in' OR o.detail IS NULL OR i.detail IS NULL
                                   OR o.detail = i.detail))
            QUALIFY row_number() OVER (PARTITION BY i.uscc, i.event_type, i.detail
                                       ORDER BY i.event_date DESC, i.record_id DESC) = 1),
        insp AS (SELECT uscc, max_by(detail, (event_date, record_id)) AS detail, max(event_date) AS event_date
                 FROM ev WHERE event_type = 'inspection' GROUP BY uscc)
        SELECT uscc, 'annual_report_overdue' AS kind, CAST(y AS VARCHAR) AS key, NULL::DATE AS on_date,
               NULL AS detail, NULL AS source, NULL::DATE AS end_date FROM ar
        UNION ALL
        SELECT uscc, CASE WHEN list = 'abnormal_list' AND detail = 'unreachable_address' THEN 'unreachable' ELSE list END,
               coalesce(source, '') || ':' || record_id, event_date, detail, source, end_date FROM listed
        UNION ALL
        SELECT i.uscc, 'unreachable', 'inspection:' || strftime(i.event_date, '%Y-%m-%d'), i.event_date, 'inspection',
               NULL, NULL FROM insp i
        WHERE i.detail = 'unreachable' AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.uscc = i.uscc
                                                        AND l.list = 'abnormal_list' AND l.detail = 'unreachable_address')
        ORDER BY 1, 2, 3"""


@dataclass
class Item:
    kind: str
    title: str
    what: str
    how: str
    office: str
    key: str


GENERIC_SOURCES = {"市场监管局", "市场监督管理局", "市场监管", "工商局", "samr", "amr"}


def _office(source: str | None, county: str) -> str:
    """The deciding authority the record names, or the county bureau when it names none (or a generic one)."""
    s = (source or "").strip()
    return county if not s or s.lower() in GENERIC_SOURCES else s


def make_items(rows: list[dict], county: str) -> list[Item]:
    """Items of one entity from its rows of :func:`items_query`."""
    out: list[Item] = []
    years = sorted(r["key"] for r in rows if r["kind"] == "annual_report_overdue")
    if years:
        out.append(Item(
            "annual_report_overdue", "未按期公示年度报告",
            f"{'、'.join(years)} 年度报告未在次年 6 月 30 日前通过国家企业信用信息公示系统报送公示。",
            "请登录国家企业信用信息公示系统补报上述年度报告并公示（个体工商户也可以纸质方式向登记机关报送）；"
            "已因此被列入经营异常名录的，补报后可申请移出。",
            county, "annual_report:" + ",".join(years)))
    for r in rows:
        k, on = r["kind"], r["on_date"]
        office = _office(r["source"], county)
        if k == "abnormal_list":
            reason = REASON_ZH.get(r["detail"] or "", r["detail"] or "其他情形")
            how = {
                "no_annual_report": "补报未报年度的年度报告并公示后，向作出列入决定的部门申请移出经营异常名录。",
                "false_disclosure": "更正并如实公示相关信息后，向作出列入决定的部门申请移出经营异常名录。",
            }.get(r["detail"] or "", "纠正导致列入的情形后，向作出列入决定的部门申请移出经营异常名录。")
            out.append(Item(k, "被列入经营异常名录", f"{zh_date(on)} 因“{reason}”被列入经营异常名录。", how, office,
                            r["key"]))
        elif k == "unreachable" and r["detail"] == "inspection":
            out.append(Item(k, "通过登记的住所无法联系",
                            f"{zh_date(on)} 检查时通过登记的住所或者经营场所无法联系。",
                            "请确认在登记的住所经营并保持联系电话畅通；住所已变更的，请依法办理住所变更登记。"
                            "逾期仍无法联系的，将依法列入经营异常名录。", county, r["key"]))
        elif k == "unreachable":
            out.append(Item(k, "因住所无法联系被列入经营异常名录",
                            f"{zh_date(on)} 因通过登记的住所或者经营场所无法联系被列入经营异常名录。",
                            "请依法办理住所或者经营场所变更登记，或者提出通过登记的住所可以重新取得联系，"
                            "向作出列入决定的部门申请移出经营异常名录。", office, r["key"]))
        elif k == "serious_dishonest":
            out.append(Item(k, "被列入严重违法失信名单", f"{zh_date(on)} 被列入严重违法失信名单。",
                            "请依法履行行政处罚决定、纠正违法行为并消除不良影响；自列入之日起满一年的，"
                            "可以向作出列入决定的市场监督管理部门申请信用修复，移出严重违法失信名单。", office, r["key"]))
        elif k == "judgment_debtor":
            out.append(Item(k, "被纳入失信被执行人名单", f"{zh_date(on)} 被纳入失信被执行人名单。",
                            "请履行生效法律文书确定的义务；履行完毕后，可以向执行法院申请删除失信信息。",
                            _office(r["source"], "执行法院"), r["key"]))
    out.sort(key=lambda i: (KIND_ORDER.index(i.kind), i.key))
    return out


@lru_cache(maxsize=1)
def _templates():
    from ..render import environment

    env = environment("riskgrade.warning", autoescape=False)
    return env.get_template("notice_subject_zh.txt.j2"), env.get_template("notice_zh.txt.j2")


def render(name: str, uscc: str, entity_type: str | None, items: list[Item], office: str, as_of: dt.date,
           today: dt.date | None = None) -> tuple[str, str]:
    """(subject, body) of a notice."""
    subject_t, body_t = _templates()
    ctx = {"name": name, "uscc": uscc, "items": items, "office": office, "as_of_zh": zh_date(as_of),
           "date_zh": zh_date(today or as_of),
           "unit_word": "户" if entity_type == "individual" else ("社" if entity_type == "cooperative" else "单位")}
    return subject_t.render(ctx).strip(), body_t.render(ctx).strip() + "\n"


@dataclass
class BuildResult:
    entities_with_items: int
    new_notices: int
    unchanged: int
    items_by_kind: dict[str, int]


def build(con: duckdb.DuckDBPyConnection, as_of: dt.date, today: dt.date | None = None) -> BuildResult:
    """Compute open items as of a date, render a notice for each entity whose items changed, queue them."""
    rows = con.execute(items_query(as_of)).to_arrow_table().to_pylist()
    by_entity: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_entity[r["uscc"]].append(r)
    if not by_entity:
        return BuildResult(0, 0, 0, {})
    con.register("w_notice_usccs", pa.table({"uscc": pa.array(sorted(by_entity), pa.string())}))
    ent = {r[0]: r[1:] for r in con.execute(
        "SELECT uscc, name, entity_type, region_code FROM entities WHERE uscc IN (SELECT uscc FROM w_notice_usccs)"
    ).fetchall()}
    held = {(r[0], r[1]) for r in con.execute(
        "SELECT uscc, signature FROM notices WHERE uscc IN (SELECT uscc FROM w_notice_usccs)").fetchall()}
    con.unregister("w_notice_usccs")
    now = dt.datetime.now().replace(microsecond=0)
    cols: dict[str, list] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    unchanged = 0
    for uscc in sorted(by_entity):
        name, etype, region = ent[uscc]
        county = county_unit(region)
        items = make_items(by_entity[uscc], county)
        for i in items:
            kinds[i.kind] += 1
        sig = hashlib.sha256("|".join(f"{i.kind}:{i.key}" for i in items).encode()).hexdigest()[:16]
        if (uscc, sig) in held:
            unchanged += 1
            continue
        subject, body = render(name, uscc, etype, items, county, as_of, today)
        nid = hashlib.sha256(f"{uscc}|{sig}".encode()).hexdigest()[:16]
        for k, v in (("notice_id", nid), ("uscc", uscc), ("items", json.dumps(
                [{"kind": i.kind, "key": i.key, "title": i.title} for i in items], ensure_ascii=False)),
                ("signature", sig), ("subject", subject), ("body", body), ("office", county)):
            cols[k].append(v)
    if cols:
        n = len(cols["notice_id"])
        con.register("w_notice_rows", pa.table({
            **{k: pa.array(v, pa.string()) for k, v in cols.items()},
            "as_of": pa.array([as_of] * n, pa.date32()), "created_at": pa.array([now] * n, pa.timestamp("us"))}))
        con.execute("INSERT INTO notices BY NAME SELECT * FROM w_notice_rows")
        con.execute("""INSERT INTO outbox BY NAME
            SELECT notice_id, NULL AS channel, NULL AS recipient, 'queued' AS status, 0 AS attempts,
                   NULL AS last_error, created_at AS queued_at, NULL AS sent_at FROM w_notice_rows""")
        con.unregister("w_notice_rows")
    return BuildResult(len(by_entity), len(cols["notice_id"]), unchanged, dict(kinds))
