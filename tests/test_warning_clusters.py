"""Registration clusters (异常注册聚集) told from office towers (写字楼): ground truth of a simulated province
and a hand-made tower.

Recall, as stated in docs/warning.md: a true shell cluster (``cluster_id`` in the truth) of at least three
members is *found* when one ``registration_cluster`` alert holds at least half of its members. Tower tenants
(``tower_id`` set, not shells) alerted as members of such alerts are false alerts; at most 5% are allowed.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.ingest.pipeline import ingest
from riskgrade.warehouse import Warehouse
from riskgrade.warning import load_rules, run_warn

from .conftest import ENTITY_HEADER, make_usccs, write_csv

ENT_HEADER = ENTITY_HEADER + ["phone_id", "legal_rep_id", "registered_capital"]
TOWER = "济南市历下区经十路9999号世纪大厦"
STEMS = [a + b for a in "华盛泰瑞祥丰隆兴恒通佳宏德润福安" for b in "源达晟誉邦辉茂旺腾利"]


@pytest.fixture(scope="module")
def warned(simulated_towers_home, tmp_path_factory) -> tuple[Path, Path]:
    """The simulated province warned once over its whole history (staleness off: every cluster counts)."""
    home, delivery = simulated_towers_home
    h = tmp_path_factory.mktemp("clusters") / "home"
    shutil.copytree(home, h)
    cfg = h.parent / "rules.yaml"
    cfg.write_text("extends: default\nsuppression: {max_age_days: null}\n", encoding="utf-8")
    run_warn(h, rules_path=cfg)
    return h, delivery


def _measure(home: Path, delivery: Path) -> dict:
    truth = delivery / "_truth" / "entities.parquet"
    with Warehouse(home) as wh:
        con = wh.con
        con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM '{truth}'")
        con.execute("""CREATE TEMP TABLE m AS SELECT m.alert_id, m.uscc FROM alert_members m JOIN alerts a
                       USING (alert_id) WHERE a.rule = 'registration_cluster'""")
        clusters, found = con.execute("""
            WITH cl AS (SELECT cluster_id, count(*) AS size FROM t WHERE is_shell GROUP BY 1 HAVING count(*) >= 3),
            hit AS (SELECT t.cluster_id, m.alert_id, count(*) AS k FROM m JOIN t USING (uscc) GROUP BY ALL),
            best AS (SELECT cl.cluster_id, cl.size, max(coalesce(hit.k, 0)) AS k FROM cl LEFT JOIN hit USING (cluster_id)
                     GROUP BY ALL)
            SELECT count(*), count(*) FILTER (WHERE 2 * k >= size) FROM best""").fetchall()[0]
        tenants, alerted = con.execute("""
            SELECT count(*), count(*) FILTER (WHERE uscc IN (SELECT uscc FROM m)) FROM t
            WHERE tower_id IS NOT NULL AND NOT is_shell""").fetchall()[0]
        in_tower = con.execute("""SELECT count(DISTINCT cluster_id) FROM t WHERE is_shell AND tower_id IS NOT NULL"""
                               ).fetchall()[0][0]
        alerts = con.execute("SELECT info, summary, members FROM alerts WHERE rule = 'registration_cluster'").fetchall()
    return {"clusters": clusters, "found": found, "tenants": tenants, "alerted": alerted, "in_tower": in_tower,
            "alerts": [(json.loads(i), s, n) for i, s, n in alerts]}


def test_shell_cluster_recall_and_towers_not_alerted(warned) -> None:
    r = _measure(*warned)
    print({k: v for k, v in r.items() if k != "alerts"})  # the figures in docs/warning.md (pytest -s)
    assert r["clusters"] >= 40 and r["tenants"] >= 200 and r["in_tower"] >= 3  # the province has both, and the hard case
    assert r["found"] / r["clusters"] >= 0.95, r
    assert r["alerted"] / r["tenants"] <= 0.05, r


def test_cluster_evidence_names_the_links(warned) -> None:
    r = _measure(*warned)
    assert r["alerts"]
    for info, summary, members in r["alerts"]:
        links = info["links"]
        assert set(links) >= {"phone", "legal_rep", "relation", "address", "name_stem", "capital", "after"}
        # a second link beside the address, and the summary says which, in words
        strong = [k for k in ("phone", "legal_rep", "relation", "name_stem", "capital") if links[k]]
        assert strong and info["window_days"] == 60 and info["first_registered"] <= info["last_registered"]
        assert summary.startswith(f"{members} 户市场主体于 {info['first_registered']} 至 {info['last_registered']}")
        words = {"phone": "联系电话", "legal_rep": "法定代表人", "relation": "股东或高管", "name_stem": "字号",
                 "capital": "注册资本"}
        assert all(words[k] in summary for k in strong)
        assert "phone" not in summary and "_" not in summary  # no codes


# --------------------------------------------------------------------------- a hand-made tower
def _tower_delivery(folder: Path, extra: list[list] | None = None) -> list[str]:
    """40 unrelated tenants over five years, a 15-tenant opening-style burst sharing nothing, and a 6-entity
    burst sharing one phone (the shells). Returns the six shells' USCCs."""
    tenants = make_usccs(40, start=0)
    burst = make_usccs(15, start=100)
    shells = make_usccs(6, start=200)
    rows = []
    for k, u in enumerate(tenants):
        est = dt.date(2021, 1, 5) + dt.timedelta(days=45 * k)
        rows.append([u, f"济南{STEMS[k]}商贸有限公司", "enterprise", "370102", "5211", est.isoformat(), "active",
                     f"{TOWER}{1001 + k}室" if k % 2 else TOWER, f"TT{k}", f"PT{k}", 100 + 7 * k])
    for k, u in enumerate(burst):
        est = dt.date(2026, 3, 2) + dt.timedelta(days=2 * k)
        rows.append([u, f"济南{STEMS[40 + k]}科技有限公司", "enterprise", "370102", "6513", est.isoformat(), "active",
                     TOWER, f"TB{k}", f"PB{k}", 50 + 3 * k])
    for k, u in enumerate(shells):
        est = dt.date(2026, 4, 1) + dt.timedelta(days=3 * k)
        rows.append([u, f"历下{STEMS[60 + k]}信息技术有限公司", "enterprise", "370102", "6531", est.isoformat(), "active",
                     f"{TOWER}{2001 + k}室", "T-SHELL", f"PS{k}", 30 + k])
    write_csv(folder / "entities.csv", ENT_HEADER, rows + (extra or []))
    return shells


def test_tower_burst_sharing_a_phone_is_one_alert_of_exactly_the_six(tmp_path: Path) -> None:
    shells = _tower_delivery(tmp_path / "d")
    home = tmp_path / "home"
    ingest(home, tmp_path / "d")
    res = run_warn(home)
    assert res.counts["registration_cluster"]["alerts"] == 1
    with Warehouse(home) as wh:
        got = wh.con.execute("""SELECT a.alert_id, a.info, a.summary, list(m.uscc ORDER BY m.uscc)
                                FROM alerts a JOIN alert_members m USING (alert_id)
                                WHERE a.rule = 'registration_cluster' GROUP BY ALL""").fetchall()
    assert len(got) == 1
    _, info, summary, members = got[0]
    assert members == sorted(shells)
    info = json.loads(info)
    assert info["links"]["phone"] == 6 and info["links"]["address"] == 6 and info["links"]["legal_rep"] == 0
    assert info["earlier_tenants"] == 40 and info["address"] == TOWER  # the room numbers cut: one building
    assert info["name_stem"] is None and info["capital"] is None  # shared by no two members: not named
    assert "6 户共用联系电话" in summary and "多户入驻的楼宇" in summary


def test_a_trade_name_in_the_tower_counts_an_identical_capital_alone_does_not(tmp_path: Path) -> None:
    """Four at the tower in one month with one trade name (own phones and people): a cluster. Four with one
    registered capital and nothing else: not (address 1 + capital 0.5 < 2)."""
    named, capital = make_usccs(4, start=300), make_usccs(4, start=400)
    extra = [[u, f"{('济南', '历下', '', '济南市')[k]}瑞源{('财务咨询', '网络科技', '信息技术', '工程技术')[k]}有限公司",
              "enterprise", "370102", "7241", f"2026-05-{3 + 4 * k:02d}", "active", f"{TOWER}{3001 + k}室",
              f"TN{k}", f"PN{k}", 10 + k] for k, u in enumerate(named)]
    extra += [[u, f"济南{STEMS[80 + k]}商贸有限公司", "enterprise", "370102", "5211", f"2026-06-{3 + 4 * k:02d}",
               "active", TOWER, f"TK{k}", f"PK{k}", 500] for k, u in enumerate(capital)]
    shells = _tower_delivery(tmp_path / "d", extra)
    ingest(tmp_path / "home", tmp_path / "d")
    run_warn(tmp_path / "home")
    with Warehouse(tmp_path / "home") as wh:
        got = wh.con.execute("""SELECT a.summary, list(m.uscc ORDER BY m.uscc) FROM alerts a
                                JOIN alert_members m USING (alert_id) WHERE a.rule = 'registration_cluster'
                                GROUP BY ALL ORDER BY 2""").fetchall()
    assert sorted(m for _, m in got) == sorted([sorted(shells), sorted(named)])
    summary = next(s for s, m in got if m == sorted(named))
    assert "4 户字号“瑞源”相同" in summary and "4 户共用登记住所" in summary


def test_address_alone_counts_only_when_a_province_says_so(tmp_path: Path) -> None:
    """With ``quiet_address: 1`` the address alone makes a cluster where the building has no earlier tenants
    (the opening burst, with the shells: one linked group); the old tenants' building still needs a second link."""
    _tower_delivery(tmp_path / "d")
    home = tmp_path / "home"
    ingest(home, tmp_path / "d")
    cfg = tmp_path / "r.yaml"
    cfg.write_text("extends: default\nrules:\n  - code: registration_cluster\n    params: {quiet_address: 1, "
                   "tower_min_tenants: 100}\n", encoding="utf-8")
    run_warn(home, rules_path=cfg)
    with Warehouse(home) as wh:
        sizes = [r[0] for r in wh.con.execute("SELECT members FROM alerts WHERE rule = 'registration_cluster'").fetchall()]
    assert sizes and max(sizes) > 6  # the tenants now cluster by the address alone


def test_cluster_params_are_validated(tmp_path: Path) -> None:
    rule = load_rules().get("registration_cluster")
    assert rule.params["min_entities"] == 3 and rule.params["weights"]["phone"] == 2
    bad = tmp_path / "bad.yaml"
    for params, msg in (("{links: {address: {min_entities: 5}}}", "links"), ("{min_entities: 1}", "min_entities"),
                        ("{weights: {fax: 2}}", "fax"), ("{window_days: 0}", "window_days")):
        bad.write_text(f"extends: default\nrules:\n  - code: registration_cluster\n    params: {params}\n",
                       encoding="utf-8")
        with pytest.raises(RiskgradeError, match=msg):
            load_rules(bad)
