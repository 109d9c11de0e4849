"""Tests of the simulated province (riskgrade.simulate): format, validity, realism, determinism, dirty counts."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from riskgrade import contract
from riskgrade.codes import industries, regions, uscc
from riskgrade.normalise import clean
from riskgrade.simulate import generate

END = date(2026, 10, 31)
START = date(2021, 11, 1)
TABLES = ("entities", "events", "relations", "inspectors", "domain_grades")


def read_csv(path: Path) -> pa.Table:
    """A clean CSV as all-string columns (empty cells -> null)."""
    with open(path, encoding="utf-8", newline="") as f:
        names = next(csv.reader(f))
    opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=opts)


def load(folder: Path, name: str) -> list[dict]:
    files = sorted(folder.glob(f"{name}.*")) + sorted((folder / name).glob("part-*.*"))
    rows: list[dict] = []
    for f in files:
        t = pq.read_table(f) if f.suffix == ".parquet" else read_csv(f)
        rows.extend(t.to_pylist())
    return rows


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    base = tmp_path_factory.mktemp("sim")
    result = generate(base / "clean", 2000, 11, dirty_out=base / "dirty")
    return base / "clean", base / "dirty", result


@pytest.fixture(scope="module")
def data(sim: tuple[Path, Path, dict]) -> dict[str, list[dict]]:
    clean_dir = sim[0]
    out = {name: load(clean_dir, name) for name in TABLES}
    out["truth"] = pq.read_table(clean_dir / "_truth" / "entities.parquet").to_pylist()
    return out


# ---------------------------------------------------------------------- format and determinism
def test_files_and_summary(sim: tuple[Path, Path, dict], data: dict) -> None:
    clean_dir, _, result = sim
    for name in TABLES:
        assert (clean_dir / f"{name}.csv").exists()
        assert read_csv(clean_dir / f"{name}.csv").column_names == contract.TABLES[name].names
        assert len(data[name]) == result["counts"][name]
    summary = json.loads((clean_dir / "_truth" / "summary.json").read_text("utf-8"))
    assert summary["seed"] == 11 and summary["end"] == "2026-10-31"
    assert summary["counts"] == result["counts"]
    assert len(data["truth"]) == 2000


def test_deterministic(tmp_path: Path) -> None:
    for run in ("a", "b"):
        generate(tmp_path / run / "clean", 400, 5, dirty_out=tmp_path / run / "dirty", part_rows=3000)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert any(str(p).startswith("clean/events/part-") for p in files_a)
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    generate(tmp_path / "c", 400, 6)
    assert (tmp_path / "c" / "entities.csv").read_bytes() != (tmp_path / "a" / "clean" / "entities.csv").read_bytes()


def test_parquet_parts(tmp_path: Path) -> None:
    result = generate(tmp_path / "p", 500, 3, fmt="parquet", part_rows=2500)
    parts = sorted((tmp_path / "p" / "events").glob("part-*.parquet"))
    assert len(parts) >= 3 and parts[0].name == "part-001.parquet"
    assert not (tmp_path / "p" / "events.parquet").exists()
    total = 0
    for p in parts:
        t = pq.read_table(p)
        assert t.schema == pa.schema([(c, pa.string()) for c in contract.EVENTS.names])
        assert t.num_rows <= 2500
        total += t.num_rows
    assert total == result["counts"]["events"]
    ent = pq.read_table(tmp_path / "p" / "entities.parquet")
    assert ent.column_names == contract.ENTITIES.names
    assert all(f.type == pa.string() for f in ent.schema)
    # the same seed in CSV gives the same rows
    generate(tmp_path / "c", 500, 3, fmt="csv", part_rows=2500)
    csv_rows = load(tmp_path / "c", "entities")
    assert csv_rows == ent.to_pylist()


def test_progress_window_and_arguments(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    result = generate(tmp_path / "w", 300, 8, end=date(2025, 3, 15), years=2, province="11",
                      progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert result["window_start"] == "2023-03-16"
    events = load(tmp_path / "w", "events")
    assert min(e["event_date"] for e in events) >= "2023-03-16"
    assert max(max(e["event_date"], e["reported_on"] or "") for e in events) <= "2025-03-15"
    beijing = {r.code for r in regions.counties("11")}
    assert {r["region_code"] for r in load(tmp_path / "w", "entities")} <= beijing
    assert all(r["address"].startswith("北京市") for r in load(tmp_path / "w", "entities"))
    with pytest.raises(ValueError):
        generate(tmp_path / "x", 10, 1, fmt="xlsx")
    with pytest.raises(ValueError):
        generate(tmp_path / "x", 10, 1, province="99")


# ---------------------------------------------------------------------- validity
def test_usccs_valid_unique(data: dict) -> None:
    codes = [r["uscc"] for r in data["entities"]]
    assert len(set(codes)) == len(codes)
    assert all(uscc.is_valid(c) for c in codes)  # python-stdnum
    assert uscc.valid_mask(codes).all()
    assert {c[:2] for c in codes} == {"91", "92", "93"}
    assert all(c[2:8] == r["region_code"] for c, r in zip(codes, data["entities"]))


def test_codes_current_and_parse(data: dict) -> None:
    counties = {r.code for r in regions.counties("37")}
    ents = data["entities"]
    assert {r["region_code"] for r in ents} <= counties
    assert len({r["region_code"] for r in ents}) > 60
    codes = [r["industry_code"] for r in ents]
    assert all(industries.parse(c) is not None for c in codes)
    lettered = sum(c[0].isalpha() for c in codes) / len(codes)
    assert 0.4 < lettered < 0.6
    assert {industries.parse(c)[1] for c in codes} <= set(industries.SIMULATED_CLASSES)
    assert {r["unit_region_code"] for r in data["inspectors"]} <= counties


def test_entity_mix_and_names(data: dict) -> None:
    ents = data["entities"]
    types = Counter(r["entity_type"] for r in ents)
    assert 0.19 < types["enterprise"] / len(ents) < 0.32
    assert 0.64 < types["individual"] / len(ents) < 0.80
    assert 0.01 < types["cooperative"] / len(ents) < 0.06
    for r in ents:
        if r["entity_type"] == "enterprise":
            assert r["name"].endswith("有限公司") and r["registered_capital"] is not None
        if r["entity_type"] == "cooperative":
            assert r["name"].endswith("农民专业合作社")
        assert re.fullmatch(r"P[0-9A-F]{10}", r["legal_rep_id"])
        assert r["phone_id"] is None or re.fullmatch(r"T[0-9A-F]{10}", r["phone_id"])
        assert (r["status"] == "active") == (r["closed_on"] is None)
        assert r["established_on"] <= (r["closed_on"] or END.isoformat()) <= END.isoformat()
        assert "号" in r["address"]
    closed = sum(r["status"] != "active" for r in ents) / len(ents)
    assert 0.04 < closed < 0.14
    established = sorted(r["established_on"] for r in ents)
    assert established[0] >= "2006-10-01"
    recent = sum(e >= "2021-11-01" for e in established) / len(established)
    assert 0.25 < recent < 0.6  # more recent years more frequent than 5/20


def test_events_within_entity_life(data: dict) -> None:
    ents = {r["uscc"]: r for r in data["entities"]}
    vocab = set(contract.EVENT_TYPES)
    seen: set[tuple[str, str]] = set()
    for e in data["events"]:
        ent = ents[e["uscc"]]  # only existing entities
        assert e["event_type"] in vocab
        assert START.isoformat() <= e["event_date"] <= END.isoformat()
        assert e["event_date"] >= ent["established_on"]
        if ent["closed_on"]:
            assert e["event_date"] <= ent["closed_on"]
        if e["reported_on"] is not None:
            assert e["event_date"] <= e["reported_on"] <= END.isoformat()
        key = (e["source"], e["record_id"])
        assert key not in seen
        seen.add(key)
        if e["amount"] is not None:
            float(e["amount"])
    per_entity = len(data["events"]) / len(data["entities"])
    assert 16 <= per_entity <= 23
    missing_rep = sum(e["reported_on"] is None for e in data["events"]) / len(data["events"])
    assert 0.003 < missing_rep < 0.08


def test_event_vocabularies(data: dict) -> None:
    by_type: dict[str, Counter] = defaultdict(Counter)
    for e in data["events"]:
        by_type[e["event_type"]][e["detail"]] += 1
    for t, codes in contract.DETAIL_CODES.items():
        assert set(by_type[t]) <= set(codes), t
    assert set(by_type["inspection"]) >= {"pass", "corrected", "problem", "unreachable"}
    assert all(re.fullmatch(r"20\d\d", d) for d in by_type["annual_report"])
    assert set(by_type["abnormal_list_in"]) == {"no_annual_report", "unreachable_address"}
    sources = {e["source"] for e in data["events"] if e["event_type"] == "inspection"}
    assert sources <= {"general", "food", "drug", "special_equipment"} and "food" in sources
    assert len(by_type) >= 20  # nearly every event type occurs at 2,000 entities


def test_annual_reports_timing(data: dict) -> None:
    reports = [e for e in data["events"] if e["event_type"] == "annual_report"]
    late = 0
    for e in reports:
        year = int(e["detail"])
        assert e["event_date"] >= f"{year + 1}-01-01"
        late += e["event_date"] > f"{year + 1}-06-30"
    assert 0.02 < late / len(reports) < 0.2
    types = {r["uscc"]: r["entity_type"] for r in data["entities"]}
    si = [e for e in data["events"] if e["event_type"] == "social_insurance"]
    assert si and all(e["event_date"][5:] in ("06-30", "12-31") for e in si)
    assert all(types[e["uscc"]] != "cooperative" for e in data["events"] if e["event_type"] == "tax_credit_grade")
    assert all(types[e["uscc"]] == "individual" for e in data["events"] if e["event_type"] == "type_classification")


def test_shells_share_addresses(data: dict) -> None:
    ents = {r["uscc"]: r for r in data["entities"]}
    clusters: dict[int, list[dict]] = defaultdict(list)
    for t in data["truth"]:
        if t["is_shell"]:
            assert t["cluster_id"] is not None
            clusters[t["cluster_id"]].append(ents[t["uscc"]])
    assert clusters
    n_shell = sum(len(v) for v in clusters.values())
    assert 0.01 < n_shell / len(ents) < 0.03
    for members in clusters.values():
        assert 3 <= len(members) <= 40
        assert len({m["address"] for m in members}) == 1
        assert len({m["region_code"] for m in members}) == 1
        phones = Counter(m["phone_id"] for m in members)
        assert phones.most_common(1)[0][1] >= len(members) // 2
        est = sorted(date.fromisoformat(m["established_on"]) for m in members)
        assert (est[-1] - est[0]).days <= 31
        assert len({m["legal_rep_id"] for m in members}) <= 3
    # ordinary entities rarely share an address, never five at one, except the tenants of office towers
    towers = {t["uscc"] for t in data["truth"] if t["tower_id"] is not None}
    addr = Counter(r["address"] for r in data["entities"] if r["uscc"] not in towers)
    shell_addr = {m["address"] for v in clusters.values() for m in v}
    assert all(c < 5 for a, c in addr.items() if a not in shell_addr)


def test_people_running_several_entities(data: dict) -> None:
    reps = Counter(r["legal_rep_id"] for r in data["entities"])
    multi = sum(1 for c in reps.values() if c >= 2)
    assert 0.01 < multi / len(reps) < 0.08


def test_truth(data: dict) -> None:
    t = data["truth"]
    assert set(t[0]) >= {"uscc", "entity_type", "region_code", "industry_code", "status", "base_risk",
                         "risk_change_on", "risk_after", "is_shell", "cluster_id", "legal_rep_id", "deregistered_on"}
    assert all(0 <= r["base_risk"] <= 1 and 0 <= r["risk_after"] <= 1 for r in t)
    turned = [r for r in t if r["risk_change_on"] is not None]
    assert 0.04 < len(turned) / len(t) < 0.12
    assert all(START <= r["risk_change_on"] <= END and r["risk_after"] > r["base_risk"] for r in turned)
    shells = [r["base_risk"] for r in t if r["is_shell"]]
    others = [r["base_risk"] for r in t if not r["is_shell"]]
    assert np.mean(shells) > np.mean(others) + 0.3
    ents = {r["uscc"]: r for r in data["entities"]}
    for r in t:
        e = ents[r["uscc"]]
        assert r["status"] == e["status"]
        assert (r["deregistered_on"].isoformat() if r["deregistered_on"] else None) == e["closed_on"]


def test_risk_drives_outcomes(data: dict) -> None:
    risk = {r["uscc"]: r["base_risk"] for r in data["truth"]}
    outcomes: dict[str, set[str]] = defaultdict(set)
    for e in data["events"]:
        if e["event_type"] == "inspection":
            outcomes[e["uscc"]].add(e["detail"])
    problem = [risk[u] for u, o in outcomes.items() if "problem" in o]
    only_pass = [risk[u] for u, o in outcomes.items() if o == {"pass"}]
    assert np.mean(problem) > np.mean(only_pass) + 0.05
    # inspected entities are riskier than the population (targeting)
    assert np.mean([risk[u] for u in outcomes]) > np.mean(list(risk.values()))
    # missed annual reports (abnormal list for no report) are more frequent for high risk
    listed = {e["uscc"] for e in data["events"] if e["event_type"] == "abnormal_list_in"
              and e["detail"] == "no_annual_report"}
    q = np.quantile(list(risk.values()), [0.25, 0.75])
    low = [u for u, r in risk.items() if r <= q[0]]
    high = [u for u, r in risk.items() if r >= q[1]]
    rate = lambda us: sum(u in listed for u in us) / len(us)  # noqa: E731
    assert rate(high) > 2 * rate(low)
    # tax credit grades order with risk
    grades: dict[str, list[float]] = defaultdict(list)
    for e in data["events"]:
        if e["event_type"] == "tax_credit_grade":
            grades[e["detail"]].append(risk[e["uscc"]])
    assert np.mean(grades["A"]) < np.mean(grades["B"]) < np.mean(grades["D"])
    # closures are more frequent for risky entities
    status = {r["uscc"]: r["status"] for r in data["entities"]}
    closed = lambda us: sum(status[u] != "active" for u in us) / len(us)  # noqa: E731
    assert closed(high) > closed(low)
    # platform ratings fall with risk
    ratings = [(risk[e["uscc"]], float(e["amount"])) for e in data["events"] if e["event_type"] == "platform_rating"]
    r, a = np.array(ratings).T
    assert np.corrcoef(r, a)[0, 1] < -0.3


def test_risk_rises_after_turning(data: dict) -> None:
    turned = {r["uscc"]: r["risk_change_on"].isoformat() for r in data["truth"] if r["risk_change_on"] is not None}
    before = after = 0
    days_before = days_after = 0
    ents = {r["uscc"]: r for r in data["entities"]}
    for u, d in turned.items():
        e = ents[u]
        start = max(e["established_on"], START.isoformat())
        stop = e["closed_on"] or END.isoformat()
        days_before += max(0, (date.fromisoformat(d) - date.fromisoformat(start)).days)
        days_after += max(0, (date.fromisoformat(stop) - date.fromisoformat(d)).days)
    for e in data["events"]:
        if e["uscc"] in turned and e["event_type"] in ("complaint", "inspection", "registration_change"):
            if e["event_date"] < turned[e["uscc"]]:
                before += 1
            else:
                after += 1
    assert after / max(days_after, 1) > 1.5 * before / max(days_before, 1)


def test_relations_inspectors_grades(data: dict) -> None:
    ents = {r["uscc"]: r for r in data["entities"]}
    keys = [(r["uscc"], r["party_id"], r["role"]) for r in data["relations"]]
    assert len(set(keys)) == len(keys)
    reps = Counter(r["uscc"] for r in data["relations"] if r["role"] in ("legal_rep", "operator"))
    assert set(reps) == set(ents) and set(reps.values()) == {1}
    for r in data["relations"]:
        assert r["party_kind"] in contract.PARTY_KINDS and r["role"] in contract.ROLES
        if r["role"] == "operator":
            assert ents[r["uscc"]]["entity_type"] == "individual"
        if r["role"] in ("legal_rep", "operator"):
            assert r["party_id"] == ents[r["uscc"]]["legal_rep_id"]
        if r["party_kind"] == "entity":
            assert r["party_id"] in ents and r["party_id"] != r["uscc"]
    assert any(r["role"] == "shareholder" for r in data["relations"])
    ins = data["inspectors"]
    assert len({r["inspector_id"] for r in ins}) == len(ins)
    assert all(re.fullmatch(r"I\d{6}", r["inspector_id"]) for r in ins)
    per_unit = Counter(r["unit_region_code"] for r in ins)
    assert len(per_unit) == len(regions.counties("37")) and min(per_unit.values()) >= 4
    assert all(set(r["domains"].split(";")) <= {"general", "food", "drug", "special_equipment"} for r in ins)
    grades = data["domain_grades"]
    assert len({(g["uscc"], g["domain"], g["as_of"]) for g in grades}) == len(grades)
    for g in grades:
        code = industries.parse(ents[g["uscc"]]["industry_code"])[1]
        assert g["domain"] in ("food", "drug") and g["grade"] in "ABCD"
        assert g["as_of"] <= END.isoformat()
        assert (g["domain"] == "drug") == (code[:2] in ("27", "84"))
        if g["domain"] == "food":
            assert code[:2] in ("14", "15", "51", "52", "61", "62")


# ---------------------------------------------------------------------- the dirty copy
def test_dirty_expected_consistent(sim: tuple[Path, Path, dict]) -> None:
    _, dirty_dir, _ = sim
    expected = json.loads((dirty_dir / "_expected.json").read_text("utf-8"))
    assert set(expected["tables"]) == set(TABLES)
    assert expected["unreadable_files"] == [{"path": "events/part-997.xlsx", "reason": "xlsx_too_large"},
                                            {"path": "events/part-998.csv", "reason": "duplicate_header"},
                                            {"path": "events/part-999.csv"}]
    assert (dirty_dir / "events" / "part-999.csv").exists() and (dirty_dir / "events" / "part-001.csv").exists()
    assert b"\x00" in (dirty_dir / "events" / "part-999.csv").read_bytes()
    all_reasons: set[str] = set()
    for name, t in expected["tables"].items():
        assert t["read"] == t["accepted"] + t["merged"] + t["quarantined"], name
        assert t["quarantined"] == sum(t["by_reason"].values())
        assert set(t["by_reason"]) <= set(contract.REASONS)
        assert all(v > 0 for v in t["by_reason"].values())
        assert t["merged"] > 0
        all_reasons |= set(t["by_reason"])
    assert all_reasons == set(contract.REASONS)  # every reason at least once
    assert expected["notes"]["odd_but_accepted"]["entities"]


def test_dirty_counts_match_reference_ingest(sim: tuple[Path, Path, dict]) -> None:
    _, dirty_dir, _ = sim
    expected = json.loads((dirty_dir / "_expected.json").read_text("utf-8"))
    got = reference_ingest(dirty_dir)
    assert got["unreadable_files"] == expected["unreadable_files"]
    for name in TABLES:
        assert got["tables"][name] == expected["tables"][name], name


@pytest.mark.parametrize("entities", [30, 250])
def test_dirty_small(tmp_path: Path, entities: int) -> None:
    generate(tmp_path / "c", entities, 2, dirty_out=tmp_path / "d")
    expected = json.loads((tmp_path / "d" / "_expected.json").read_text("utf-8"))
    got = reference_ingest(tmp_path / "d")
    for name in TABLES:
        assert got["tables"][name] == expected["tables"][name], name
    if entities >= 200:
        assert {r for t in expected["tables"].values() for r in t["by_reason"]} == set(contract.REASONS)


@pytest.mark.slow
def test_dirty_parts_large(tmp_path: Path) -> None:
    generate(tmp_path / "c", 20_000, 4, dirty_out=tmp_path / "d", part_rows=100_000, fmt="parquet")
    parts = sorted((tmp_path / "d" / "events").glob("part-*.csv"))
    assert len(parts) >= 4
    expected = json.loads((tmp_path / "d" / "_expected.json").read_text("utf-8"))
    got = reference_ingest(tmp_path / "d")
    for name in TABLES:
        assert got["tables"][name] == expected["tables"][name], name


# ---------------------------------------------------------------------- a reference ingest (the rules only)
_DATE_RES = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def _date(s: str) -> date | None:
    for rx in _DATE_RES:
        m = rx.fullmatch(s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


def _check(table: contract.Table, row: dict[str, str | None], today: date) -> tuple[str | None, dict]:
    """First failing reason (in contract order) and the canonical row."""
    canon = dict(row)
    cols = table.columns
    if any(c.required and row.get(c.name) is None for c in cols):
        return "missing_required", canon
    for c in cols:
        if c.kind == contract.USCC and row.get(c.name) is not None:
            canon[c.name] = row[c.name].upper()
            if not uscc.is_valid(canon[c.name]):
                return "bad_uscc", canon
    for c in cols:
        if c.kind == contract.ENUM and c.vocabulary != "event_type" and row.get(c.name) is not None:
            m = contract.vocabulary_map(c.vocabulary)
            if row[c.name].lower() not in m:
                return "bad_enum", canon
            canon[c.name] = m[row[c.name].lower()]
    for c in cols:
        if c.vocabulary == "event_type" and row.get(c.name) is not None:
            m = contract.vocabulary_map("event_type")
            if row[c.name].lower() not in m:
                return "unknown_event_type", canon
            canon[c.name] = m[row[c.name].lower()]
    for c in cols:
        if c.kind == contract.REGION and row.get(c.name) is not None and row[c.name] not in regions.table():
            return "bad_region", canon
    for c in cols:
        if c.kind == contract.INDUSTRY and row.get(c.name) is not None and industries.parse(row[c.name]) is None:
            return "bad_industry", canon
    parsed = {}
    for c in cols:
        if c.kind in (contract.DATE, contract.DATE_PAST) and row.get(c.name) is not None:
            d = _date(row[c.name])
            if d is None:
                return "bad_date", canon
            parsed[c.name] = d
            canon[c.name] = d.isoformat()
    for c in cols:
        if c.kind == contract.DATE_PAST and c.name in parsed and parsed[c.name] > today:
            return "future_date", canon
    for c in cols:
        if c.kind == contract.NUMBER and row.get(c.name) is not None:
            try:
                canon[c.name] = float(row[c.name])
            except ValueError:
                return "bad_number", canon
            if not math.isfinite(canon[c.name]):
                return "bad_amount", canon
    for c in cols:  # the registration columns: a name is never a number, a text over its limit is refused
        if c.kind == contract.PERSON_NAME and any(ch.isdigit() for ch in row.get(c.name) or ""):
            return "bad_name", canon
    for c in cols:
        if c.max_length and c.overflow == contract.REJECT and len(row.get(c.name) or "") > c.max_length:
            return "text_too_long", canon
    return None, canon


def _xlsx_sheet(path: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")[:4096]


def _decode(data: bytes) -> tuple[str | None, int]:
    """The file's text and the number of its lines in another encoding: a GB18030 file's lines that read as
    UTF-8 Chinese are a department's UTF-8 rows pasted in (bad_encoding), left out of the text."""
    if b"\x00" in data:
        return None, 0
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), 0
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    kept, other = [], 0
    for line in data.splitlines(keepends=True):
        try:
            if any("\u4e00" <= ch <= "\u9fff" for ch in line.decode("utf-8")):
                other += 1
                continue
        except UnicodeDecodeError:
            pass
        kept.append(line.decode("gb18030"))
    return "".join(kept), other


def reference_ingest(folder: Path, today: date | None = None) -> dict:
    """Apply the ingest rules the dirty copy promises, independently of the simulator's bookkeeping."""
    today = today or date.today()
    out: dict = {"tables": {}, "unreadable_files": []}
    entities: set[str] = set()
    results: dict[str, dict] = {}
    for name in contract.LOAD_ORDER:
        table = contract.TABLES[name]
        files = sorted(folder.glob(f"{name}.csv")) + sorted([*(folder / name).glob("*.csv"), *(folder / name).glob("*.xlsx")])
        files = [f for f in files if not any(part.startswith("_") for part in f.relative_to(folder).parts)]
        counts = {"read": 0, "accepted": 0, "merged": 0, "quarantined": 0}
        reasons: Counter = Counter()
        held: dict[tuple, dict] = {}
        pending: list[tuple[tuple, dict]] = []
        for f in files:
            if f.suffix == ".xlsx":  # the dirty copy's only spreadsheet is a bomb: refused before it is read
                assert b'<dimension ref="A1:XFD1048576"/>' in _xlsx_sheet(f)
                out["unreadable_files"].append({"path": f.relative_to(folder).as_posix(), "reason": "xlsx_too_large"})
                continue
            text, other = _decode(f.read_bytes())
            counts["read"] += other
            reasons["bad_encoding"] += other
            if text is None:
                out["unreadable_files"].append({"path": f.relative_to(folder).as_posix()})
                continue
            reader = csv.reader(io.StringIO(text, newline=""))
            header = next(reader)
            if len({h.lower() for h in header}) < len(header):  # a header named twice: the file is refused
                out["unreadable_files"].append({"path": f.relative_to(folder).as_posix(), "reason": "duplicate_header"})
                continue
            assert header == table.names
            for cells in reader:
                counts["read"] += 1
                if len(cells) != len(header):
                    reasons["malformed_row"] += 1
                    continue
                row = {h: clean(v) for h, v in zip(header, cells)}
                reason, canon = _check(table, row, today)
                if reason:
                    reasons[reason] += 1
                    continue
                key = tuple(canon[k] for k in table.key)
                if key in held:
                    if held[key] == canon:
                        counts["merged"] += 1
                    else:
                        reasons["conflicting_duplicate"] += 1
                    continue
                held[key] = canon
                pending.append((key, canon))
        for key, canon in pending:
            if table.attributed and canon["uscc"] not in entities:
                reasons["unattributed"] += 1
            else:
                counts["accepted"] += 1
        if name == "entities":
            entities = {k[0] for k, _ in pending}
        counts["quarantined"] = sum(reasons.values())
        counts["by_reason"] = {r: reasons[r] for r in contract.REASONS if reasons[r]}
        results[name] = counts
    out["tables"] = {name: results[name] for name in TABLES}
    return out
