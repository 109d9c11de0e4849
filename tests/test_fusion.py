"""Professional-domain fusion (通用+专业): indicator fusion, result overlay, matrix fusion, configuration."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.indicators import load_catalog
from riskgrade.ingest import ingest
from riskgrade.indicators.domains import load_fusion
from riskgrade.scoring.fusion import run_fusion
from riskgrade.snapshot import classify
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

TODAY = dt.date(2026, 11, 21)
T = dt.date(2026, 9, 30)
T2 = dt.date(2026, 10, 31)
GENERAL = "ABCD"
N = 16  # one entity per general grade x food risk level
U = make_usccs(N + 4)
LATE, NEWER, ODD, NONE = U[N:N + 4]  # grade known only after T; older grade then newer one; unmapped grade; none
POINTS = {0: 0, 1: 20, 2: 80, 3: 180}  # riskgrade/defaults/scorecard.yaml: domain_food_level


def _profile(g: str, u: str, k: int) -> list[list]:
    """Events that make entity ``u`` grade ``g`` on the expert scorecard as of T (food not scored)."""
    ev = [[f"a{k}-1", u, "annual_report", "2025-04-01", "2025-04-01", "市场监管局", "2024", "100", ""],
          [f"a{k}-2", u, "annual_report", "2026-04-01", "2026-04-01", "市场监管局", "2025", "100", ""]]
    if g == "B":  # one penalty this year: 120 + 80 + 40 = 240
        ev.append([f"p{k}-1", u, "admin_penalty", "2026-03-01", "2026-03-02", "市场监管局", "fine", "1000", ""])
    if g == "C":  # two penalties, a problem found, an abnormal taxpayer: 120 + 140 + 40 + 70 + 150 = 520
        ev += [[f"p{k}-1", u, "admin_penalty", "2026-03-01", "2026-03-02", "市场监管局", "fine", "1000", ""],
               [f"p{k}-2", u, "admin_penalty", "2026-05-01", "2026-05-02", "市场监管局", "fine", "1000", ""],
               [f"i{k}-1", u, "inspection", "2026-02-01", "2026-02-02", "food", "problem", "", ""],
               [f"t{k}-1", u, "tax_abnormal_in", "2026-01-10", "2026-01-11", "税务局", "", "", ""]]
    if g == "D":  # serious dishonesty: D by the one-vote override (score 520)
        ev.append([f"s{k}-1", u, "serious_dishonest_in", "2026-01-10", "2026-01-11", "市场监管局", "", "", ""])
    return ev


def _general(i: int) -> str:
    return GENERAL[i // 4]


def _level(i: int) -> int:
    return i % 4


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fusion") / "d"
    write_csv(d / "entities.csv", ENTITY_HEADER, [
        [u, f"主体{k}", "enterprise", "370102", "5211", "2018-01-01", "active", f"{k}号"] for k, u in enumerate(U)])
    ev = []
    for k, u in enumerate(U):
        ev += _profile(_general(k) if k < N else "A", u, k)
    write_csv(d / "events.csv", EVENT_HEADER, ev)
    grades = [[U[k], "food", "ABCD"[_level(k)], "2025-12-31"] for k in range(N)]
    grades += [
        [LATE, "food", "D", "2026-10-15"],  # graded after T: unknown at T, known at T2
        [NEWER, "food", "d", "2024-12-31"], [NEWER, "Food", " a ", "2025-12-31"], [NEWER, "food", "D", "2026-10-15"],
        [ODD, "food", "X", "2025-12-31"],  # not in the food levels
        [U[0], "drug", "D", "2025-12-31"],  # another domain
    ]
    write_csv(d / "domain_grades.csv", ["uscc", "domain", "grade", "as_of"], grades)
    return d


def _yaml(path: Path, food_mode: str, extra: str = "") -> Path:
    path.write_text(f"""version: test-{food_mode}
default_mode: matrix
keep_overrides: true
matrix:
  A: [A, A, B, C]
  B: [B, B, C, D]
  C: [B, C, C, D]
  D: [D, D, D, D]
domains:
  food:
    mode: {food_mode}
    levels: {{A: 0, B: 1, C: 2, D: 3}}
  drug:
    levels: {{A: 0, B: 1, C: 2, D: 3}}
{extra}""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def homes(delivery: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two data homes: one classified with food fused by its result, one with food as an indicator."""
    root = tmp_path_factory.mktemp("homes")
    out = {}
    for mode in ("matrix", "indicator"):
        home = root / mode
        ingest(home, delivery, today=TODAY)
        cfg = _yaml(root / f"{mode}.yaml", mode)
        classify(home, T, model="expert", fusion_path=cfg)
        classify(home, T2, model="expert", fusion_path=cfg)
        out[mode] = (home, cfg)
    return out


def _grades(home: Path, as_of: dt.date) -> dict[str, tuple]:
    with Warehouse(home) as wh:
        return {r[0]: r[1:] for r in wh.con.execute(
            "SELECT uscc, grade, score, grade_rule FROM grades WHERE snapshot_id = "
            "(SELECT max(snapshot_id) FROM snapshots WHERE as_of = ?)", [as_of]).fetchall()}


def _fuse(home: Path, cfg, as_of: dt.date = T, domains=("food",)) -> dict[str, tuple]:
    with Warehouse(home, write=True) as wh:
        sid = wh.con.execute("SELECT max(snapshot_id) FROM snapshots WHERE as_of = ?", [as_of]).fetchall()[0][0]
        with wh.transaction():
            res = run_fusion(wh.con, sid, as_of, cfg, list(domains))
        rows = wh.con.execute("SELECT uscc, general_grade, domain_grade, domain_level, fused_grade, rule, moved, "
                              "domain_points FROM fused_grades WHERE snapshot_id = ? AND domain = ?", [sid, domains[0]]).fetchall()
    return {"result": res, **{r[0]: r[1:] for r in rows}}


def test_general_grades_of_the_hand_built_province(homes: dict) -> None:
    g = _grades(homes["matrix"][0], T)
    for k in range(N):
        assert g[U[k]][0] == _general(k), (k, g[U[k]])
    assert g[U[12]][2] == "override_serious_dishonest"
    assert g[U[4]][1] == 240 and g[U[8]][1] == 520 and g[U[0]][1] == 120


def test_matrix_fusion_every_cell(homes: dict) -> None:
    home, path = homes["matrix"]
    cfg = load_fusion(path)
    f = _fuse(home, cfg)
    matrix = {"A": "AABC", "B": "BBCD", "C": "BCCD", "D": "DDDD"}
    for k in range(N):
        g, lv = _general(k), _level(k)
        general, dgrade, level, fused, rule, moved, points = f[U[k]]
        assert (general, dgrade, level) == (g, "ABCD"[lv], lv)
        assert fused == matrix[g][lv] and rule == f"matrix_{g}{lv}", (k, f[U[k]])
        assert moved == ("up" if fused > g else "down" if fused < g else "none") and points is None
    # the latest grade known at T, the grade text trimmed and upper-cased, the domain lower-cased
    assert f[NEWER][1:3] == ("A", 0)
    assert LATE not in f and NONE not in f  # graded only after T / never graded: not fused
    assert f[ODD][1:5] == ("X", None, "A", "unmapped_grade")
    summary = {r.rule: r for r in f["result"][0].rules}
    assert summary["matrix_C0"].lowered == 1 and summary["matrix_A3"].raised == 1 and summary["matrix_B1"].raised == 0
    assert f["result"][0].entities == N + 2  # 16, NEWER, ODD
    # after T the late grade counts
    f2 = _fuse(home, cfg, T2)
    assert f2[LATE][1:5] == ("D", 3, "C", "matrix_A3") and f2[NEWER][1:3] == ("D", 3)


def test_matrix_never_lowers_an_override(homes: dict, tmp_path: Path) -> None:
    home, _ = homes["matrix"]
    cfg = load_fusion(_yaml(tmp_path / "low.yaml", "matrix"))
    lowering = cfg.model_copy(update={"matrix": {**cfg.matrix, "D": ["B", "C", "D", "D"]}})
    f = _fuse(home, lowering)
    assert f[U[12]][3:5] == ("D", "override_kept")  # D by the serious-dishonesty override, level 0
    assert f[U[13]][3:5] == ("D", "override_kept")
    assert f[U[14]][3:5] == ("D", "matrix_D2")
    free = lowering.model_copy(update={"keep_overrides": False})
    assert _fuse(home, free)[U[12]][3:6] == ("B", "matrix_D0", "down")


def test_overlay_picks_the_riskier(homes: dict, tmp_path: Path) -> None:
    home, _ = homes["matrix"]
    cfg = load_fusion(_yaml(tmp_path / "overlay.yaml", "overlay"))
    f = _fuse(home, cfg)
    for k in range(N):
        g, lv = GENERAL.index(_general(k)), _level(k)
        assert f[U[k]][3] == GENERAL[max(g, lv)], (k, f[U[k]])
        assert f[U[k]][4] == ("overlay_domain" if lv > g else "overlay_general")
    counts = {r.rule: (r.entities, r.raised, r.lowered) for r in f["result"][0].rules}
    # levels above the general grade: A 3, B 2, C 1, D 0 entities
    assert counts["overlay_domain"] == (6, 6, 0) and counts["overlay_general"] == (11, 0, 0)
    assert counts["unmapped_grade"] == (1, 0, 0)


def test_indicator_fusion_adds_the_configured_points_point_in_time(homes: dict) -> None:
    plain, scored = _grades(homes["matrix"][0], T), _grades(homes["indicator"][0], T)
    for k in range(N):
        assert scored[U[k]][1] - plain[U[k]][1] == POINTS[_level(k)], k
    assert scored[U[3]][0] == "B"  # 120 + 180 = 300: a general A with a food D is now B
    assert scored[LATE][1] == plain[LATE][1] == 120  # its grade as_of 2026-10-15 is after T: not used
    assert scored[NEWER][1] == plain[NEWER][1]  # latest at T: A (level 0)
    assert scored[ODD][1] == plain[ODD][1]  # unmapped: no level, no points
    later_plain, later = _grades(homes["matrix"][0], T2), _grades(homes["indicator"][0], T2)
    assert later[LATE][1] - later_plain[LATE][1] == 180 and later[NEWER][1] - later_plain[NEWER][1] == 180
    # the fused grade is the general grade; the rows say how many points the domain added
    home, path = homes["indicator"]
    f = _fuse(home, load_fusion(path))
    for k in range(N):
        assert f[U[k]][3] == scored[U[k]][0] and f[U[k]][4] == "indicator"
        assert (f[U[k]][6] or 0) == POINTS[_level(k)]
    assert {r.rule: r.score_raised for r in f["result"][0].rules}["indicator"] == 12


def test_indicator_values_and_disabled_when_fused_by_result(homes: dict, tmp_path: Path) -> None:
    from riskgrade.indicators import compute_indicators

    cat = load_catalog(fusion=load_fusion(homes["indicator"][1]))
    assert cat.get("domain_food_level").enabled and cat.get("domain_food_level").levels == {"A": 0, "B": 1, "C": 2, "D": 3}
    assert not cat.get("domain_drug_level").enabled  # drug: default_mode matrix
    assert not load_catalog(fusion=load_fusion(homes["matrix"][1])).get("domain_food_level").enabled
    with Warehouse(homes["indicator"][0], write=True) as wh:
        compute_indicators(wh.con, cat, T)
        v = dict(wh.con.execute("SELECT uscc, domain_food_level FROM indicators").fetchall())
    assert [v[U[k]] for k in range(4)] == [0, 1, 2, 3] and v[LATE] is None and v[NONE] is None and v[ODD] is None
    assert v[NEWER] == 0


def test_fusion_must_agree_with_the_classification(homes: dict, tmp_path: Path) -> None:
    scored_home, _ = homes["indicator"]
    with pytest.raises(RiskgradeError, match="count its risk twice"):
        _fuse(scored_home, load_fusion(_yaml(tmp_path / "o.yaml", "overlay")))
    with pytest.raises(RiskgradeError, match="did not score it"):
        _fuse(homes["matrix"][0], load_fusion(_yaml(tmp_path / "i.yaml", "indicator")))
    with pytest.raises(RiskgradeError, match="unknown domain 'tobacco'"):
        _fuse(scored_home, load_fusion(homes["indicator"][1]), domains=("tobacco",))


@pytest.mark.parametrize(("text", "message"), [
    ("version: x\ndomains: {food: {levels: {A: 0}, mode: matrix}}\n", "needs a matrix"),
    ("version: x\ndomains: {food: {levels: {A: 5}}}\nmatrix: {A: [A, A, A, A], B: [B, B, B, B], C: [C, C, C, C], D: [D, D, D, D]}\n",
     "a risk level is 0"),
    ("version: x\ndomains: {food: {levels: {A: 0}}}\nmatrix: {A: [A, A, A], B: [B, B, B, B], C: [C, C, C, C], D: [D, D, D, D]}\n",
     "row A needs 4 grades"),
    ("version: x\ndomains: {food: {levels: {A: 0}}}\nmatrix: {A: [A, A, A, F], B: [B, B, B, B], C: [C, C, C, C], D: [D, D, D, D]}\n",
     "unknown grade 'F'"),
    ("version: x\ndomains: {food: {levels: {A: 0}}}\nmatrix: {A: [A, A, A, A], B: [B, B, B, B], C: [C, C, C, C]}\n",
     "rows must be the general grades"),
    ("version: x\ndomains: {food: {levels: {A: 0}, mode: blend}}\n", "domains.food.mode"),
    ("version: x\nkeep_override: true\ndomains: {food: {levels: {A: 0}, mode: overlay}}\n", "keep_override: Extra inputs"),
    ("version: x\ndomains: {Food: {levels: {A: 0}, mode: overlay}}\n", "not a domain code"),
    ("version: x\ndomains: [food\n", "not valid YAML"),
])
def test_configuration_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RiskgradeError, match="bad.yaml") as e:
        load_fusion(f)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_catalog_refuses_levels_of_its_own(tmp_path: Path) -> None:
    f = tmp_path / "cat.yaml"
    f.write_text("extends: default\nindicators:\n  - code: domain_food_level\n    levels: {A: 0}\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="belong in the fusion configuration"):
        load_catalog(f)
    # a domain the fusion configuration does not name is not fused: its indicator is left out
    f.write_text("extends: default\nindicators:\n  - code: domain_tobacco_level\n    name_zh: 烟草\n    name_en: Tobacco\n"
                 "    dimension: regulatory\n    kind: domain\n    domain: tobacco\n", encoding="utf-8")
    assert not load_catalog(f).get("domain_tobacco_level").enabled


def test_built_in_configuration() -> None:
    cfg = load_fusion()
    assert {cfg.mode_of(d) for d in cfg.domains} == {"indicator", "overlay", "matrix"}
    assert cfg.domains["special_equipment"].levels["4"] == 3  # a numeric YAML key read as text
    cat = load_catalog()
    assert [i.code for i in cat.enabled if i.kind == "domain"] == ["domain_food_level"]


def _cli(*args: str, home: Path):
    """The command in this process (faster than a subprocess); RiskgradeError surfaces as the exception."""
    from typer.testing import CliRunner

    from riskgrade.cli import app

    return CliRunner().invoke(app, [*args, "--home", str(home)])


def test_cli_fusion_and_export(delivery: Path, tmp_path: Path) -> None:
    home = tmp_path / "h"
    ingest(home, delivery, today=TODAY)
    classify(home, T, model="expert")  # the built-in fusion configuration: food by indicator
    p = run_cli("export", "fused", "--as-of", "2026-09-30", "--out", str(tmp_path / "f.csv"), home=home, check=False)
    assert p.returncode == 1 and "riskgrade fusion --as-of 2026-09-30" in p.stderr
    r = _cli("fusion", "--as-of", "2026-09-30", home=home)
    assert r.exit_code == 0, r.output
    assert "food: indicator" in r.stdout and "drug: matrix" in r.stdout and "special_equipment: overlay" in r.stdout
    r = _cli("export", "fused", "--as-of", "2026-09-30", "--domain", "food", "--out", str(tmp_path / "f.csv"), home=home)
    assert r.exit_code == 0, r.output
    with open(tmp_path / "f.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N + 2 and {r["domain"] for r in rows} == {"food"}
    assert {r["rule"] for r in rows} == {"indicator", "unmapped_grade"}
    assert {"uscc", "general_grade", "domain_grade", "domain_level", "fused_grade", "mode", "rule"} <= set(rows[0])
    r = _cli("fusion", "--as-of", "2026-09-30", "--domain", "drug", "--json", home=home)
    import json

    (drug,) = json.loads(r.stdout)
    assert drug["mode"] == "matrix" and drug["entities"] == 1 and drug["rules"][0]["rule"] == "matrix_A3"
    # the contract's grades export keeps its columns
    _cli("export", "grades", "--as-of", "2026-09-30", "--out", str(tmp_path / "g.csv"), home=home)
    with open(tmp_path / "g.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert "fused_grade" not in header and header[:6] == ["uscc", "as_of", "score", "grade", "labels", "reasons"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ndomains: {food: {levels: {A: 9}}}\n", encoding="utf-8")
    p = run_cli("fusion", "--as-of", "2026-09-30", "--fusion", str(bad), home=home, check=False)
    assert p.returncode == 1 and "a risk level is 0" in p.stderr and "Traceback" not in p.stderr
