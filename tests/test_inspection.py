"""Risk-weighted double-random inspection: allocation, draw, inspectors, publication, results, effectiveness."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgrade.errors import RiskgradeError
from riskgrade.inspection.allocate import grade_rates, optimal_rates, stratified_allocation
from riskgrade.inspection.assign import Inspector, assign
from riskgrade.inspection.disclosure import verify_package

from .conftest import run_cli

T1, T2 = "2026-08-31", "2026-09-30"


# --------------------------------------------------------------------------- allocation (pure)
sizes_st = st.fixed_dictionaries({g: st.integers(0, 5000) for g in "ABCD"})


@given(sizes=sizes_st, budget=st.integers(0, 6000))
@settings(max_examples=200, deadline=None)
def test_budget_fits_ratios_floors_and_ceilings(sizes: dict[str, int], budget: int) -> None:
    ratios = {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
    floors = {"A": 0.01, "B": 0.005}
    ceilings = {"A": 0.05, "B": 0.2, "C": 0.6, "D": 1.0}
    r = grade_rates(sizes, ratios, floors, ceilings, budget)
    filled = sum(sizes[g] * r.rates[g] for g in sizes)
    if r.floors_kept:
        for g in sizes:
            assert floors.get(g, 0) - 1e-9 <= r.rates[g] <= ceilings[g] + 1e-9
        if r.budget_filled:
            assert filled == pytest.approx(budget, abs=1e-6)
        else:  # every grade at its ceiling
            assert all(r.rates[g] == ceilings[g] for g in sizes)
        # the ratios are scaled by one factor where no bound binds
        free = [g for g in sizes if floors.get(g, 0) + 1e-9 < r.rates[g] < ceilings[g] - 1e-9 and sizes[g]]
        if len(free) >= 2:
            lam = {g: r.rates[g] / ratios[g] for g in free}
            assert max(lam.values()) == pytest.approx(min(lam.values()), rel=1e-6)
    else:  # the floors alone exceed the budget: scaled down, the budget is never exceeded
        assert filled <= budget + 1e-6


@given(sizes=sizes_st, budget=st.integers(0, 6000),
       finding=st.fixed_dictionaries({g: st.floats(0, 1) for g in "ABCD"}))
@settings(max_examples=100, deadline=None)
def test_optimal_rates_keep_floors_and_prefer_higher_finding_rates(sizes, budget, finding) -> None:
    floors = {"A": 0.01}
    ceilings = {"A": 0.05, "B": 0.2, "C": 0.6, "D": 1.0}
    r = optimal_rates(sizes, finding, floors, ceilings, budget)
    filled = sum(sizes[g] * r.rates[g] for g in sizes)
    assert filled <= budget + 1e-6
    if r.floors_kept:
        assert all(r.rates[g] >= floors.get(g, 0) - 1e-12 for g in sizes)
        # no grade above its floor while a grade with a strictly higher finding rate is below its ceiling
        for g in sizes:
            for h in sizes:
                if sizes[g] and sizes[h] and finding[h] > finding[g] and r.rates[g] > floors.get(g, 0) + 1e-9:
                    assert r.rates[h] >= ceilings[h] - 1e-9


@given(st.dictionaries(st.tuples(st.sampled_from("ABCD"), st.sampled_from(["370102", "370103", "370104"])),
                       st.floats(0, 300), min_size=1))
def test_stratified_allocation_rounds_each_stratum_and_grade(targets) -> None:
    alloc = stratified_allocation(targets)
    for k, v in targets.items():
        assert math.floor(v + 1e-9) <= alloc[k] <= math.ceil(v - 1e-9)
    for g in "ABCD":
        tg = sum(v for k, v in targets.items() if k[0] == g)
        assert abs(sum(n for k, n in alloc.items() if k[0] == g) - tg) < 1
    assert sum(alloc.values()) == int(math.floor(sum(targets.values()) + 0.5 + 1e-9))


# --------------------------------------------------------------------------- inspector assignment (property)
@st.composite
def _assign_case(draw):
    counties = ["370102", "370103", "370202"]
    n_insp = draw(st.integers(0, 14))
    inspectors = [Inspector(f"I{i:03d}", draw(st.sampled_from(counties)),
                            frozenset(draw(st.sets(st.sampled_from(["general", "food", "drug"]), min_size=1))))
                  for i in range(n_insp)]
    n_ent = draw(st.integers(0, 40))
    entities = [(f"E{i:03d}", draw(st.sampled_from(counties))) for i in range(n_ent)]
    ids = [i.inspector_id for i in inspectors]
    avoid = {e: (set(draw(st.sets(st.sampled_from(ids), max_size=3))) if ids else set()) for e, _ in entities}
    return inspectors, entities, avoid, draw(st.booleans()), draw(st.sampled_from(["general", "food"]))


@given(_assign_case(), st.integers(1, 3))
@settings(max_examples=150, deadline=None)
def test_assignment_never_violates_qualification_county_or_avoidance(case, k) -> None:
    inspectors, entities, avoid, cross, domain = case
    by_id = {i.inspector_id: i for i in inspectors}
    res = assign(entities, inspectors, domain=domain, seed="7", per_inspection=k, cross_county=cross, avoid=avoid)
    region = dict(entities)
    assert set(res.inspectors) | set(res.unassigned) == set(region)
    for uscc, ids in res.inspectors.items():
        assert len(ids) == k == len(set(ids))
        for iid in ids:
            i = by_id[iid]
            assert domain in i.domains
            assert iid not in avoid.get(uscc, set())
            assert (i.unit[:4] == region[uscc][:4]) if cross else (i.unit == region[uscc])
    # the reason for a missing team is true: too few allowed inspectors in the pool
    for uscc in res.unassigned:
        pool = [i for i in inspectors if domain in i.domains and i.inspector_id not in avoid.get(uscc, set())
                and ((i.unit[:4] == region[uscc][:4]) if cross else (i.unit == region[uscc]))]
        assert len(pool) < k
    if not any(avoid.values()):
        assert res.workload()[3] <= 1  # balanced within each pool


def test_assignment_is_reproducible_and_random_across_seeds() -> None:
    insp = [Inspector(f"I{i}", "370102", frozenset({"general"})) for i in range(10)]
    ents = [(f"E{i}", "370102") for i in range(30)]
    a = assign(ents, insp, domain="general", seed="1")
    assert a.inspectors == assign(ents, insp, domain="general", seed="1").inspectors
    assert a.inspectors != assign(ents, insp, domain="general", seed="2").inspectors
    assert max(a.load.values()) - min(a.load.values()) <= 1


# --------------------------------------------------------------------------- the simulated province
@pytest.fixture(scope="module")
def prov(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("insp")
    home = root / "h"
    run_cli("simulate", "--entities", "6000", "--seed", "11", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    for t in (T1, T2):
        run_cli("classify", "--as-of", t, "--model", "expert", home=home)
    return {"root": root, "home": home, "delivery": root / "d"}


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _q(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the store directly (and let go of it before the next command runs)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _plan_id(stdout_stderr: str) -> int:
    import re

    return int(re.search(r"plan (\d+) \(", stdout_stderr).group(1))


def test_plan_without_budget_keeps_ratios_per_grade_and_county(prov: dict) -> None:
    home, root = prov["home"], prov["root"]
    p = run_cli("plan", "--as-of", T2, "--seed", "2026-10-08", "--out", str(root / "full.csv"), home=home)
    pid = _plan_id(p.stderr)
    rows = _csv(root / "full.csv")
    assert {"uscc", "grade", "inclusion_probability", "inspectors"} <= set(rows[0])
    m = json.loads(_q(home, "SELECT manifest FROM plans WHERE plan_id = ?", [pid])[0][0])
    ratios = {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
    assert m["rates"] == ratios and m["floors_kept"]
    # stratum sizes from the kept population; drawn counts per stratum within rounding of ratio x size
    strata = _q(home, """
        SELECT pp.stratum, any_value(g.grade), count(DISTINCT g.grade), count(*) FROM plan_population pp
        JOIN grades g ON g.uscc = pp.uscc AND g.snapshot_id = ?
        WHERE pp.plan_id = ? AND pp.stratum <> 'F' GROUP BY ALL""", [m["snapshot_id"], pid])
    drawn = Counter((r["stratum"]) for r in rows if r["selection"] == "random")
    grade_of = {}
    for stratum, grade, n_grades, size in strata:
        assert n_grades == 1  # a stratum is one grade (in one county)
        grade_of[stratum] = grade
        target = ratios[grade] * size
        assert math.floor(target) <= drawn.get(stratum, 0) <= math.ceil(target)
    assert len(strata) > 50
    # inclusion probability = quota / stratum size, the same for everyone in a stratum
    sizes = {s: n for s, _, _, n in strata}
    for r in rows:
        if r["selection"] == "random":
            assert float(r["inclusion_probability"]) == pytest.approx(drawn[r["stratum"]] / sizes[r["stratum"]])
        else:
            assert float(r["inclusion_probability"]) == 1.0
    # every grade's total within one of its target
    for g, ratio in ratios.items():
        eligible = sum(n for s, n in sizes.items() if grade_of[s] == g)
        got = sum(1 for r in rows if r["selection"] == "random" and r["grade"] == g)
        assert abs(got - ratio * eligible) < 1


def test_plan_rules_forced_frequency_trigger_only_and_active_only(prov: dict) -> None:
    home, root = prov["home"], prov["root"]
    p = run_cli("plan", "--as-of", T2, "--seed", "rules", "--out", str(root / "rules.csv"), home=home)
    pid = _plan_id(p.stderr)
    rows = {r["uscc"]: r for r in _csv(root / "rules.csv")}
    sid = _q(home, "SELECT snapshot_id FROM plans WHERE plan_id = ?", [pid])[0][0]
    # every active entity with an all-zero annual report is in (100% trigger)
    zero = {u for (u,) in _q(home, 
        "SELECT g.uscc FROM grades g JOIN entities e USING (uscc) WHERE g.snapshot_id = ? AND e.status = 'active' "
        "AND list_contains(string_split(g.labels, ';'), 'annual_report_all_zero')", [sid])}
    assert zero and zero <= set(rows)
    assert all(rows[u]["selection"] == "forced" for u in zero)
    # nobody inactive; nobody 四新 A/B drawn at random; no non-D entity inspected in the last 12 months
    status = dict(_q(home, "SELECT uscc, status FROM entities"))
    assert all(status[u] == "active" for u in rows)
    labels = dict(_q(home, "SELECT uscc, labels FROM grades WHERE snapshot_id = ?", [sid]))
    recent = {u for (u,) in _q(home, 
        f"SELECT DISTINCT uscc FROM events WHERE event_type = 'inspection' AND event_date <= DATE '{T2}' "
        f"AND reported_on <= DATE '{T2}' AND event_date > DATE '{T2}' - INTERVAL 12 MONTH")}
    random_rows = [r for r in rows.values() if r["selection"] == "random"]
    assert random_rows
    for r in random_rows:
        assert not (r["grade"] in "AB" and "four_new" in (labels[r["uscc"]] or "").split(";"))
        assert r["grade"] in ("D", "E") or r["uscc"] not in recent
        assert r["check_mode"] == ("written" if r["grade"] == "A" else "onsite")


def test_plan_is_byte_identical_and_verifiable(prov: dict, tmp_path: Path) -> None:
    home = prov["home"]
    # the seed is committed first (for a task of the whole province, so that the module's other T2 plans
    # stay uncommitted)
    tid = run_cli("task", "create", "--name", "全省双随机抽查（公开）", home=home).stdout.strip()
    commitment = run_cli("seed", "commit", "--task", tid, "--as-of", T2, "--seed", "42", home=home).stdout.strip()
    outs = []
    for i in range(2):
        run_cli("plan", "--as-of", T2, "--seed", "42", "--budget", "300", "--task", tid,
                "--out", str(tmp_path / f"p{i}.csv"), "--publish", str(tmp_path / f"pub{i}"), home=home)
        run_cli("plan", "--as-of", T2, "--seed", "42", "--budget", "300", "--task", tid,
                "--out", str(tmp_path / f"p{i}.parquet"), home=home)
        outs.append(tmp_path / f"p{i}")
    for ext in (".csv", ".parquet"):
        assert outs[0].with_suffix(ext).read_bytes() == outs[1].with_suffix(ext).read_bytes()
    other = tmp_path / "other.csv"
    run_cli("plan", "--as-of", T2, "--seed", "43", "--budget", "300", "--out", str(other), home=home)
    assert other.read_bytes() != outs[0].with_suffix(".csv").read_bytes()
    # a seed other than the committed one is refused
    bad = run_cli("plan", "--as-of", T2, "--seed", "43", "--task", tid, "--out", str(other), home=home, check=False)
    assert bad.returncode != 0 and "does not match the seed committed" in bad.stderr
    rows = _csv(tmp_path / "p0.csv")
    assert len(rows) <= 300
    # the public package: no grade, stratum, probability or check mode anywhere
    pub = tmp_path / "pub0"
    assert sorted(f.name for f in pub.iterdir()) == ["commitment.json", "manifest.json", "selected.csv"]
    for f in pub.iterdir():
        text = f.read_text(encoding="utf-8").replace("riskgrade", "")
        for word in ("grade", "score", "probab", "stratum", "strata", "check_mode", "written"):
            assert word not in text
    assert _csv(pub / "selected.csv")[0].keys() == {"uscc", "name", "county", "task"}
    m = json.loads((pub / "manifest.json").read_text(encoding="utf-8"))
    # anyone checks the revealed seed against the commitment published before the draw
    line = f"riskgrade-seed/1|{T2}|{tid}|42"
    assert hashlib.sha256(line.encode()).hexdigest() == m["commitment"] == commitment
    r = verify_package(pub)
    assert r["drawn"] == len(rows) and r["checked"] == ["commitment"]
    ok = run_cli("plans", "verify", str(pub), home=home)
    assert "stored plan, sealed package (re-drawn)" in ok.stdout
    # the auditor recomputes the draw from the sealed package with nothing but hashlib
    pid = m["plan_id"]
    sealed = home / "restricted" / f"plan-{pid}"
    sp = json.loads((sealed / "plan.json").read_text(encoding="utf-8"))
    assert hashlib.sha256(f"riskgrade-draw-salt/1|{sp['salt']}".encode()).hexdigest() == m["salt_commitment"]
    members = defaultdict(list)
    for line in (sealed / "population.csv").read_text(encoding="utf-8").splitlines()[1:]:
        u, s = line.split(",")
        members[s].append(u)
    drawn = set()
    for s in sp["manifest"]["strata"]:
        key = lambda u: hashlib.sha256(f"42|{sp['salt']}|{u}".encode()).hexdigest()  # noqa: E731
        drawn |= set(sorted(members[s["stratum"]], key=key)[:s["drawn"]])
    assert drawn == {r["uscc"] for r in rows}
    # tampering is detected
    sel = (pub / "selected.csv").read_text(encoding="utf-8").splitlines()
    (pub / "selected.csv").write_text("\n".join(sel[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="differs"):
        verify_package(pub)
    assert run_cli("plans", "verify", str(pub), home=home, check=False).returncode != 0
    pop = (sealed / "population.csv").read_text(encoding="utf-8")
    lines = pop.splitlines()
    lines[1] = lines[1].replace(",", ",X")  # an entity moved to another stratum
    (sealed / "population.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="sealed"):
        verify_package(tmp_path / "pub1", None, sealed)


def test_budget_keeps_floors_and_optimise_finds_more(prov: dict, tmp_path: Path) -> None:
    home = prov["home"]
    p = run_cli("plan", "--as-of", T2, "--seed", "5", "--budget", "400", "--out", str(tmp_path / "d.csv"), home=home)
    q = run_cli("plan", "--as-of", T2, "--seed", "5", "--budget", "400", "--optimise", "--out", str(tmp_path / "o.csv"),
                home=home)
    md = json.loads(_q(home, "SELECT manifest FROM plans WHERE plan_id = ?", [_plan_id(p.stderr)])[0][0])
    mo = json.loads(_q(home, "SELECT manifest FROM plans WHERE plan_id = ?", [_plan_id(q.stderr)])[0][0])
    for m, f in ((md, "d.csv"), (mo, "o.csv")):
        rows = _csv(tmp_path / f)
        assert len(rows) == 400
        assert m["rates"]["A"] >= 0.01 - 1e-12  # 不免抽
    exp = {}
    for m, f in ((md, "d"), (mo, "o")):
        exp[f] = sum(g["expected"] for g in m["grades"])
    assert exp["o"] >= exp["d"]
    assert "lift" in p.stdout and "uniform draw" in p.stdout
    # floors that the budget cannot hold are reported, and the plan stays within the budget
    r = run_cli("plan", "--as-of", T2, "--seed", "5", "--budget", "10", "--out", str(tmp_path / "tiny.csv"), home=home)
    assert len(_csv(tmp_path / "tiny.csv")) <= 10
    assert "note:" in r.stderr


def test_inspectors_task_scope_conflicts_and_avoidance(prov: dict, tmp_path: Path) -> None:
    home = prov["home"]
    city = _q(home, "SELECT left(region_code, 4) FROM entities GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
    tid = int(run_cli("task", "create", "--name", "食品经营者抽查", "--domain", "food", "--region", city,
                      "--industry", "F", "--start", "2026-10-01", "--end", "2026-12-31", home=home).stdout.strip())
    assert "食品经营者抽查" in run_cli("task", "list", home=home).stdout
    # conflicts: forbid the first inspector of every entity in a first draw
    first = tmp_path / "first.csv"
    run_cli("plan", "--as-of", T1, "--seed", "9", "--task", str(tid), "--cross-county", "--out", str(first), home=home)
    rows1 = _csv(first)
    assert rows1
    conflicts = tmp_path / "conflicts.csv"
    with open(conflicts, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["inspector_id", "uscc"])
        for r in rows1:
            if r["inspectors"]:
                w.writerow([r["inspectors"].split(";")[0], r["uscc"]])
    second = tmp_path / "second.csv"
    run_cli("plan", "--as-of", T2, "--seed", "9", "--task", str(tid), "--cross-county", "--conflicts", str(conflicts),
            "--out", str(second), home=home)
    rows2 = _csv(second)
    ent = {u: (r, s, t) for u, r, s, t in _q(home, "SELECT uscc, region_code, industry_section, status FROM entities")}
    insp = {i: (u, set(d.split(";"))) for i, u, d in _q(home, "SELECT inspector_id, unit_region_code, domains FROM inspectors")}
    last = {r["uscc"]: set(r["inspectors"].split(";")) for r in rows1 if r["inspectors"]}
    forbidden = {(r["inspectors"].split(";")[0], r["uscc"]) for r in rows1 if r["inspectors"]}
    assigned = 0
    for r in rows2:
        region, section, status = ent[r["uscc"]]
        assert region.startswith(city) and section == "F" and status == "active"
        if not r["inspectors"]:
            continue
        ids = r["inspectors"].split(";")
        assigned += 1
        assert len(ids) == 2
        for i in ids:
            unit, domains = insp[i]
            assert "food" in domains and unit[:4] == region[:4]
            assert (i, r["uscc"]) not in forbidden
            assert i not in last.get(r["uscc"], set())  # 回避: not who inspected it last time
    assert assigned > 0
    assert "食品经营者抽查" in run_cli("task", "show", str(tid), home=home).stdout
    # 定向抽查: a targeted entity is in every plan of its task, with probability 1
    target = next(r["uscc"] for r in rows2 if r["selection"] == "random")
    outside = _q(home, "SELECT g.uscc FROM grades g JOIN entities e USING (uscc) WHERE e.status = 'active' "
                       "AND e.region_code LIKE ? AND e.industry_section = 'F' AND g.grade = 'A' AND g.uscc NOT IN "
                       "(SELECT unnest(?)) LIMIT 1", [city + "%", [r["uscc"] for r in rows2]])[0][0]
    run_cli("task", "target", str(tid), "--uscc", outside, "--reason", "投诉激增预警", home=home)
    third = tmp_path / "third.csv"
    run_cli("plan", "--as-of", T2, "--seed", "9", "--task", str(tid), "--cross-county", "--out", str(third), home=home)
    got = {r["uscc"]: r for r in _csv(third)}
    assert got[outside]["selection"] == "forced" and float(got[outside]["inclusion_probability"]) == 1.0
    assert target  # the random draw still happens beside it
    bad = run_cli("task", "target", str(tid), "--uscc", "91370000000000000X", home=home, check=False)
    assert bad.returncode != 0 and "not a held entity" in bad.stderr


def test_results_back_in_effectiveness_and_public_export(prov: dict, tmp_path: Path) -> None:
    home, delivery = prov["home"], prov["delivery"]
    p = run_cli("plan", "--as-of", T2, "--seed", "77", "--budget", "500", "--out", str(tmp_path / "plan.csv"), home=home)
    pid = _plan_id(p.stderr)
    res = tmp_path / "results.csv"
    run_cli("simulate-results", "--plan", str(pid), "--delivery", str(delivery), "--out", str(res), home=home)
    r = run_cli("results", "import", str(res), "--plan", str(pid), home=home)
    assert "500 of 500 planned entities have a result" in r.stdout
    again = run_cli("results", "import", str(res), "--plan", str(pid), home=home)
    assert "0 results newly linked" in again.stdout
    # effectiveness: per-grade rates and the stratified estimate recomputed here
    run_cli("effectiveness", "--plan", str(pid), "--out", str(tmp_path / "eff.json"), home=home)
    run_cli("effectiveness", "--plan", str(pid), "--out", str(tmp_path / "eff.html"), "--lang", "en", home=home)
    m = json.loads((tmp_path / "eff.json").read_text(encoding="utf-8"))
    plan = {x["uscc"]: x for x in _csv(tmp_path / "plan.csv")}
    # a problem found = an adverse result as the outcome definition counts it (outcomes.yaml)
    adverse = ("corrected", "problem", "unreachable", "refused", "not_operating")
    found = {x["uscc"]: x["detail"] in adverse for x in _csv(res)}
    assert m["inspected"] == 500 and m["found"] == sum(found.values())
    for g in m["grades"]:
        members = [u for u, x in plan.items() if x["grade"] == g["grade"]]
        assert g["found"] == sum(found[u] for u in members)
    sizes = dict(_q(home, "SELECT stratum, count(*) FROM plan_population WHERE plan_id = ? GROUP BY 1", [pid]))
    by_stratum = defaultdict(list)
    for u, x in plan.items():
        by_stratum[x["stratum"]].append(found[u])
    total = sum(sizes[s] for s in by_stratum)
    est = sum(sizes[s] / total * sum(v) / len(v) for s, v in by_stratum.items())
    assert m["prevalence_estimate"] == pytest.approx(est)
    assert m["lift"] == pytest.approx((m["found"] / 500) / est)
    # A-class entities drawn at random are checked in writing; only triggers bring an inspector
    assert m["a_disturbed"] == sum(1 for x in plan.values() if x["grade"] == "A" and x["selection"] == "forced")
    assert m["a_disturbed_share"] == pytest.approx(m["a_disturbed"] / m["a_scope"])
    html = (tmp_path / "eff.html").read_text(encoding="utf-8")
    assert "Inspection effectiveness" in html and "http" not in html.split("<script>")[0]
    # the public export has results but never a grade or a score
    run_cli("export", "results", "--plan", str(pid), "--out", str(tmp_path / "public.csv"), home=home)
    pub = _csv(tmp_path / "public.csv")
    assert len(pub) == 500
    # no check mode: A-class entities drawn at random are checked in writing, so it would name their grade
    assert set(pub[0]) == {"name", "uscc", "task", "inspected_on", "result", "result_zh"}
    grades_text = {x["grade"] for x in plan.values()}
    assert all(v not in grades_text for row in pub for k, v in row.items() if k not in ("name", "uscc", "task"))
    # the next classification uses the results: the entities' inspection indicators see them
    run_cli("export", "directory", "--as-of", T2, "--out", str(tmp_path / "dir.csv"), home=home)
    d = _csv(tmp_path / "dir.csv")
    assert {"uscc", "grade", "labels"} <= set(d[0])


def test_plan_needs_grades_of_active_entities(tmp_path: Path) -> None:
    from .conftest import ENTITY_HEADER, make_usccs, write_csv

    u = make_usccs(4)
    write_csv(tmp_path / "d" / "entities.csv", ENTITY_HEADER, [
        [u[0], "甲公司", "enterprise", "370102", "5211", "2020-01-01", "active", "地址1"],
        [u[1], "乙公司", "enterprise", "370102", "5211", "2020-01-01", "deregistered", "地址2"],
        [u[2], "丙公司", "enterprise", "370102", "5211", "2020-01-01", "revoked", "地址3"],
        [u[3], "丁公司", "enterprise", "370103", "5211", "2020-01-01", "active", "地址4"],
    ])
    home = tmp_path / "h"
    run_cli("ingest", str(tmp_path / "d"), home=home)
    run_cli("classify", "--as-of", "2026-09-30", "--grades", "five", home=home)
    # ratios of 100% for every grade: everything drawable is drawn, and still no inactive entity
    cfg = tmp_path / "all.yaml"
    cfg.write_text("version: t\nratios:\n  four: {A: 1, B: 1, C: 1, D: 1}\n  five: {A: 1, B: 1, C: 1, D: 1, E: 1}\n"
                   "ceilings: {A: 1, B: 1, C: 1, D: 1, E: 1}\nfrequency: {min_months: 0}\n", encoding="utf-8")
    run_cli("plan", "--as-of", "2026-09-30", "--seed", "1", "--sampling", str(cfg), "--out", str(tmp_path / "p.csv"), home=home)
    assert sorted(r["uscc"] for r in _csv(tmp_path / "p.csv")) == sorted([u[0], u[3]])
    # a plan for a month not classified yet classifies first
    p = run_cli("plan", "--as-of", "2026-08-31", "--seed", "1", "--out", str(tmp_path / "q.csv"), home=home)
    assert "classifying first" in p.stderr
    # clear errors
    bad = run_cli("plan", "--as-of", "2026-09-30", "--seed", "1", "--task", "99", "--out", str(tmp_path / "x.csv"),
                  home=home, check=False)
    assert bad.returncode != 0 and "no inspection task 99" in bad.stderr
    cfg.write_text("version: t\nratios:\n  four: {A: 2}\n", encoding="utf-8")
    bad = run_cli("plan", "--as-of", "2026-09-30", "--seed", "1", "--sampling", str(cfg), "--out", str(tmp_path / "x.csv"),
                  home=home, check=False)
    assert bad.returncode != 0 and "all.yaml" in bad.stderr
    bad = run_cli("plan", "--as-of", "2026-09-30", "--seed", "1", "--optimise", "--out", str(tmp_path / "x.csv"),
                  home=home, check=False)
    assert bad.returncode != 0 and "--optimise needs a --budget" in bad.stderr


def test_simulated_results_follow_the_plan_dates(prov: dict) -> None:
    from riskgrade.simulate.results import simulate_results
    usccs = [u for (u,) in _q(prov["home"], "SELECT uscc FROM entities ORDER BY uscc LIMIT 50")]
    as_of, today = dt.date(2026, 9, 30), dt.date(2026, 10, 20)
    t = simulate_results(prov["delivery"] / "_truth", [(u, "onsite") for u in usccs], as_of, plan_id=3, today=today)
    assert t.num_rows == 50 and set(t.column("uscc").to_pylist()) == set(usccs)
    days = t.column("event_date").to_pylist()
    assert all(as_of < d <= today for d in days)
    assert set(t.column("detail").to_pylist()) <= {"pass", "corrected", "problem", "unreachable", "refused", "not_operating"}
    with pytest.raises(RiskgradeError, match="none of the plan"):
        simulate_results(prov["delivery"] / "_truth", [("X", "onsite")], as_of)


def test_trained_model_weights_planned_inspections_by_inverse_inclusion_probability(prov: dict, tmp_path: Path) -> None:
    """Runs last: it adds a past plan and a trained snapshot to the shared province."""
    home, delivery = prov["home"], prov["delivery"]
    past = "2024-09-30"
    p = run_cli("plan", "--as-of", past, "--seed", "2024", "--budget", "600", "--out", str(tmp_path / "past.csv"), home=home)
    pid = _plan_id(p.stderr)
    res = tmp_path / "past-results.csv"
    run_cli("simulate-results", "--plan", str(pid), "--delivery", str(delivery), "--out", str(res), home=home)
    run_cli("results", "import", str(res), "--plan", str(pid), home=home)
    run_cli("classify", "--as-of", T2, "--model", "trained", home=home)
    model = _q(home, "SELECT model_version FROM snapshots ORDER BY snapshot_id DESC LIMIT 1")[0][0]
    rec = json.loads((home / "models" / f"{model}.json").read_text(encoding="utf-8"))
    assert rec["train_as_of"] == past
    # the inspected of the training year stand for the uninspected by 1 / (chance of inspection): the plan's
    # recorded inclusion probability for those it drew (the larger of that and the fitted propensity)
    assert rec["weighting"].startswith("propensity: ") and "from recorded plans" in rec["weighting"]
    n = rec["details"]["weights_train"]["plan_probabilities"]
    plan = _csv(tmp_path / "past.csv")
    assert 0 < n <= len(plan)
    # the model card shows it
    run_cli("model-report", "--as-of", T2, "--out", str(tmp_path / "m.html"), home=home)
    assert "其中使用抽查计划入选概率的" in (tmp_path / "m.html").read_text(encoding="utf-8")
