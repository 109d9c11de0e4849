"""Issue 17, finding 2: the publication of a draw (一公开) keeps grades internal, and the draw stays verifiable.

The attacker reads every public file of a draw on a simulated province (the public package and the public
results export) and tries to predict each listed entity's grade from each column (and from what the revealed
seed lets anyone compute).  Accuracy is the leave-one-out accuracy of "the majority grade among the other
entities with the same value" (an honest version of majority-per-value, which scores any column with many
small groups above the base rate by chance); the base rate is the same predictor on a constant column.  No
column may beat the base rate by more than 2 percentage points.  Then the attacker rewrites a package with
another seed and a matching selection: verification must fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.inspection.commitment import seed_commitment
from riskgrade.inspection.disclosure import sealed_folder, verify_package

from ..conftest import run_cli

T = "2026-09-30"
SEED = "20261008"
MARGIN = 0.02
# sampling with larger ratios (the default's spread of rates, about five times the size): 30,000 entities
# give about 2,500 drawn, where a column unrelated to the grade stays well within the 2-point margin (the
# largest gain of 30 random 10-bin columns was 0.7 points)
SAMPLING = ("version: attacker\nratios:\n  four: {A: 0.05, B: 0.10, C: 0.30, D: 0.60}\n"
            "  five: {A: 0.05, B: 0.10, C: 0.20, D: 0.40, E: 0.60}\n"
            "floors: {A: 0.05}\nwritten_check_grades: [A]\nceilings: {A: 0.05, B: 0.2, C: 0.6, D: 1.0, E: 1.0}\n")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("disclose")
    home = root / "h"
    run_cli("simulate", "--entities", "30000", "--seed", "11", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", T, "--model", "expert", home=home)
    (root / "sampling.yaml").write_text(SAMPLING, encoding="utf-8")
    c = run_cli("seed", "commit", "--as-of", T, "--seed", SEED, "--out", str(root / "commitment.json"), home=home)
    commitment = c.stdout.strip()
    # a wrong seed is refused once a seed is committed
    bad = run_cli("plan", "--as-of", T, "--seed", "other", "--out", str(root / "x.csv"), home=home, check=False)
    assert bad.returncode != 0 and "does not match the seed committed" in bad.stderr
    p = run_cli("plan", "--as-of", T, "--seed", SEED, "--sampling", str(root / "sampling.yaml"),
                "--out", str(root / "plan.csv"), "--publish", str(root / "pub"), home=home)
    import re

    pid = int(re.search(r"plan (\d+) \(", p.stderr).group(1))
    res = root / "results.csv"
    run_cli("simulate-results", "--plan", str(pid), "--delivery", str(root / "d"), "--out", str(res), home=home)
    run_cli("results", "import", str(res), "--plan", str(pid), home=home)
    run_cli("export", "results", "--plan", str(pid), "--out", str(root / "public-results.csv"), home=home)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        sid = con.execute("SELECT snapshot_id FROM plans WHERE plan_id = ?", [pid]).fetchall()[0][0]
        grade = dict(con.execute("SELECT uscc, grade FROM grades WHERE snapshot_id = ?", [sid]).fetchall())
        plan = {r[0]: r[1:] for r in con.execute(
            "SELECT uscc, stratum, check_mode, inclusion_probability FROM plan_entities WHERE plan_id = ?",
            [pid]).fetchall()}
    finally:
        con.close()
    return {"root": root, "home": home, "pid": pid, "pub": root / "pub", "grade": grade, "plan": plan,
            "commitment": commitment, "results": root / "public-results.csv"}


# --------------------------------------------------------------------------- the attacker's measure
PRIOR = 10  # pseudo-entities of the overall grade mix added to every value's group


def loo_accuracy(pairs: list[tuple[object, str]]) -> float:
    """Leave-one-out accuracy of predicting the grade by the majority grade among the other entities with
    the same value, smoothed towards the overall mix (PRIOR pseudo-entities), so that small groups
    neither win nor lose by chance."""
    overall = Counter(g for _, g in pairs)
    total = len(pairs)
    by_value: dict[object, Counter] = defaultdict(Counter)
    for v, g in pairs:
        by_value[v][g] += 1
    right = 0
    for v, g in pairs:
        c = by_value[v]
        rest = total - 1

        def score(x: str) -> tuple[float, int, str]:
            own = c[x] - (x == g)
            return (own + PRIOR * (overall[x] - (x == g)) / rest, overall[x], x)

        right += max(overall, key=score) == g
    return right / total


def pure_values(pairs: list[tuple[object, str]], least: int = 10) -> list[tuple[object, str, int]]:
    """Values shared by at least ``least`` entities that all have one grade (under independence a
    probability below 0.5**10 each): a value that names a grade."""
    by_value: dict[object, Counter] = defaultdict(Counter)
    for v, g in pairs:
        by_value[v][g] += 1
    return [(v, next(iter(c)), c.total()) for v, c in by_value.items() if len(c) == 1 and c.total() >= least]


def in_sample_accuracy(pairs: list[tuple[object, str]]) -> float:
    by_value: dict[object, Counter] = defaultdict(Counter)
    for v, g in pairs:
        by_value[v][g] += 1
    return sum(max(c.values()) for c in by_value.values()) / len(pairs)


def key_bin(seed: str, uscc: str, bins: int = 10) -> int:
    """What the revealed seed lets anyone compute: the unsalted draw key of the old algorithm, binned."""
    return int(hashlib.sha256(f"{seed}|{uscc}".encode()).hexdigest(), 16) * bins >> 256


# the legal form (有限公司, 合作社, a sole trader's name) is what the business registry already tells anyone, and
# the grade depends on the entity's type: among the drawn it predicts the grade about as well as among all
# (≈ +1.5 points over the drawn entities' base rate).  Reported, not held: it is not taken from the publication.
REGISTRY_FORM = "name[-4:] (legal form, registry knowledge)"


def features(rows: list[dict], seed: str | None) -> dict[str, list[tuple[str, object]]]:
    """Every column of a public file (identifier-like columns only through what can be derived from them:
    the USCC's registration authority, the name's legal form, the draw key the revealed seed gives)."""
    out: dict[str, list[tuple[str, object]]] = {}
    cols = list(rows[0])
    for c in cols:
        values = [r[c] for r in rows]
        if len(set(values)) > 0.5 * len(values):
            continue  # an identifier: every value its own group
        out[c] = [(r["uscc"], r[c]) for r in rows]
    out["uscc[2:8] (registration authority)"] = [(r["uscc"], r["uscc"][2:8]) for r in rows]
    if "name" in rows[0]:
        out[REGISTRY_FORM] = [(r["uscc"], r["name"][-4:]) for r in rows]
    if seed is not None:
        out["sha256(seed|uscc), 10 bins"] = [(r["uscc"], key_bin(seed, r["uscc"])) for r in rows]
    return out


def leakage(rows: list[dict], grade: dict[str, str], seed: str | None) -> tuple[float, dict[str, tuple]]:
    """The base rate and, per column: (accuracy, in-sample accuracy, values that name a grade)."""
    base = loo_accuracy([(0, grade[r["uscc"]]) for r in rows])
    figures = {}
    for name, pairs in features(rows, seed).items():
        gp = [(v, grade[u]) for u, v in pairs]
        figures[name] = (loo_accuracy(gp), in_sample_accuracy(gp), pure_values(gp))
    return base, figures


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _report(what: str, base: float, figures: dict[str, tuple]) -> str:
    return "\n".join([f"{what}: base rate {base:.3f}"] + [f"  {k}: {a:.3f} (in sample {b:.3f}; values naming a "
                                                          f"grade: {p[:3]})" for k, (a, b, p) in figures.items()])


# --------------------------------------------------------------------------- the tests
def test_no_public_file_predicts_a_grade(drawn: dict) -> None:
    pub, grade = drawn["pub"], drawn["grade"]
    manifest = json.loads((pub / "manifest.json").read_text(encoding="utf-8"))
    seed = manifest["seed"]
    assert seed == SEED  # the seed is revealed: the attacker uses it
    per_entity = 0
    for f in sorted(pub.iterdir()):
        text = f.read_text(encoding="utf-8")
        low = text.lower().replace("riskgrade", "")
        for word in ("grade", "stratum", "strata", "probab", "check_mode", "rate", "written", "onsite", "书面"):
            assert word not in low, f"{f.name} mentions {word!r}"
        if f.suffix == ".json":
            # no table in it (per stratum or per entity): only scalars and the task's description
            def walk(x):
                if isinstance(x, list):
                    raise AssertionError(f"{f.name} carries a list: {str(x)[:80]}")
                if isinstance(x, dict):
                    for v in x.values():
                        walk(v)
            walk(json.loads(text))
            assert not any(u in text for u in list(grade)[:2000])
            continue
        rows = list(csv.DictReader(text.splitlines()))
        assert rows and "uscc" in rows[0], f.name
        per_entity += 1
        base, figures = leakage(rows, grade, seed)
        print(_report(f.name, base, figures))
        for name, (acc, _, pure) in figures.items():
            if name == REGISTRY_FORM:
                continue
            assert acc <= base + MARGIN, f"{f.name}: {name} predicts the grade ({acc:.3f} against {base:.3f})"
            assert not pure, f"{f.name}: {name} has values that name a grade: {pure[:3]}"
    assert per_entity == 1  # selected.csv


def test_public_results_do_not_reveal_the_method_that_reveals_the_grade(drawn: dict) -> None:
    rows, grade, plan = _csv(drawn["results"]), drawn["grade"], drawn["plan"]
    assert rows and set(rows[0]) == {"name", "uscc", "task", "inspected_on", "result", "result_zh"}
    # in the plan the method is tied to the grade (A drawn at random: written), so it must not be published
    written = {u for u, (_, mode, _) in plan.items() if mode == "written"}
    assert written and all(grade[u] == "A" for u in written)
    for r in rows:
        for v in r.values():
            assert v not in ("书面检查", "written", "现场检查", "onsite")
    # no column value marks the drawn A-class entities: none that all of them share and no other has
    a_rows = [r for r in rows if grade[r["uscc"]] == "A"]
    assert a_rows
    for c in rows[0]:
        a_values = {r[c] for r in a_rows}
        others = {r[c] for r in rows if grade[r["uscc"]] != "A"}
        assert not (len(a_values) == 1 and a_values.isdisjoint(others)), c
    base, figures = leakage(rows, grade, json.loads((drawn["pub"] / "manifest.json").read_text())["seed"])
    print(_report("public results", base, figures))
    for name, (acc, _, pure) in figures.items():
        if name in ("result", "result_zh", REGISTRY_FORM):
            # the finding itself is what 一公开 publishes (企业信息公示暂行条例); riskier entities fail more
            # often, which is the point of risk grading, not a disclosure of the grade: reported, not held
            continue
        assert acc <= base + MARGIN, f"public results: {name} predicts the grade ({acc:.3f} against {base:.3f})"
        assert not pure, f"public results: {name} has values that name a grade: {pure[:3]}"


def test_the_attacker_sees_the_old_leaks(drawn: dict) -> None:
    """The measure is strong enough: the old package's columns (stratum named from seed and grade, check
    mode, and the unsalted draw key the revealed seed gives) all predict the grade, recomputed here
    from the sealed package."""
    home, pid, grade = drawn["home"], drawn["pid"], drawn["grade"]
    sealed = sealed_folder(home, pid)
    plan = json.loads((sealed / "plan.json").read_text(encoding="utf-8"))["manifest"]
    members = defaultdict(list)
    for line in (sealed / "population.csv").read_text(encoding="utf-8").splitlines()[1:]:
        u, s = line.split(",")
        members[s].append(u)
    old_drawn = []
    for s in plan["strata"]:
        if s["stratum"] == "F":
            continue
        key = lambda u: hashlib.sha256(f"{SEED}|{u}".encode()).hexdigest()  # noqa: E731
        old_drawn += sorted(members[s["stratum"]], key=key)[: s["drawn"]]
    rows = [{"uscc": u} for u in old_drawn]
    base, figures = leakage(rows, grade, SEED)
    acc = figures["sha256(seed|uscc), 10 bins"][0]
    print(f"old draw, unsalted key with the revealed seed: {acc:.3f} against {base:.3f}")
    assert acc > base + MARGIN
    # the old stratum names: sha256(seed|stratum|grade)[:6] is the same for every county of a grade
    pop_rows = [{"uscc": u, "stratum": hashlib.sha256(f"{SEED}|stratum|{grade[u]}".encode()).hexdigest()[:6]}
                for s, us in members.items() if s != "F" for u in us]
    base, figures = leakage(pop_rows, grade, None)
    assert figures["stratum"][0] > 0.99 and base < 0.9
    # the old check mode in selected.csv
    sel = [{"uscc": u, "check_mode": mode} for u, (_, mode, _) in drawn["plan"].items()]
    base, figures = leakage(sel, grade, None)
    assert ("written", "A") in {(v, g) for v, g, _ in figures["check_mode"][2]}


def test_verify_checks_commitment_stored_plan_and_sealed_package(drawn: dict, tmp_path: Path) -> None:
    home, pub, pid = drawn["home"], drawn["pub"], drawn["pid"]
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        r = verify_package(pub, con, sealed_folder(home, pid))
        assert r["checked"] == ["commitment", "stored plan", "sealed package (re-drawn)"]
        assert r["commitment"] == drawn["commitment"]
        assert json.loads((pub / "commitment.json").read_text())["commitment"] == drawn["commitment"]
        ok = run_cli("plans", "verify", str(pub), home=home)
        assert "sealed package (re-drawn)" in ok.stdout
        # the sealed package is for auditors only
        assert (sealed_folder(home, pid).stat().st_mode & 0o077) == 0
        assert all((p.stat().st_mode & 0o077) == 0 for p in sealed_folder(home, pid).iterdir())

        def forged(name: str, seed: str, selection: list[str] | None = None) -> Path:
            """The package rewritten with another seed, its own matching commitment and a selection."""
            f = tmp_path / name
            shutil.copytree(pub, f)
            m = json.loads((f / "manifest.json").read_text(encoding="utf-8"))
            c = json.loads((f / "commitment.json").read_text(encoding="utf-8"))
            m["seed"] = seed
            m["commitment"] = c["commitment"] = seed_commitment(seed, dt.date.fromisoformat(T), None)
            if selection is not None:
                rows = _csv(pub / "selected.csv")
                names = {x["uscc"]: x for x in rows}
                text = "uscc,name,county,task\n" + "".join(
                    f"{u},{names.get(u, rows[0])['name']},{names.get(u, rows[0])['county']},{rows[0]['task']}\n"
                    for u in selection)
                (f / "selected.csv").write_text(text, encoding="utf-8")
                m["selected_hash"] = hashlib.sha256(text.encode()).hexdigest()
                m["drawn"] = len(selection)
            (f / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
            (f / "commitment.json").write_text(json.dumps(c, ensure_ascii=False), encoding="utf-8")
            return f

        # another seed, the same (matching) selection: consistent in itself, refused against the store
        same = forged("same-selection", "12345")
        verify_package(same)  # on its own it is consistent: the public must compare with the commitment
        with pytest.raises(RiskgradeError, match="commitment is not the one stored"):
            verify_package(same, con)
        bad = run_cli("plans", "verify", str(same), home=home, check=False)
        assert bad.returncode != 0
        # another seed with the selection that seed draws (an insider re-drawing from the sealed strata)
        sealed = sealed_folder(home, pid)
        plan = json.loads((sealed / "plan.json").read_text(encoding="utf-8"))
        salt = plan["salt"]
        members = defaultdict(list)
        for line in (sealed / "population.csv").read_text(encoding="utf-8").splitlines()[1:]:
            u, s = line.split(",")
            members[s].append(u)
        redraw = []
        for s in plan["manifest"]["strata"]:
            key = lambda u: hashlib.sha256(f"12345|{salt}|{u}".encode()).hexdigest()  # noqa: E731
            redraw += sorted(members[s["stratum"]], key=key)[: s["drawn"]]
        other = forged("redrawn", "12345", sorted(redraw))
        with pytest.raises(RiskgradeError):
            verify_package(other, con)
        with pytest.raises(RiskgradeError):
            verify_package(other, None, sealed)
        assert run_cli("plans", "verify", str(other), home=home, check=False).returncode != 0
        # the revealed seed alone changed: it no longer hashes to the commitment
        f = tmp_path / "seed-only"
        shutil.copytree(pub, f)
        m = json.loads((f / "manifest.json").read_text(encoding="utf-8"))
        m["seed"] = "12345"
        (f / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
        with pytest.raises(RiskgradeError, match="does not hash to the commitment"):
            verify_package(f)
        # one entity swapped in the selection, hashes recomputed: the stored plan disagrees
        g = tmp_path / "swapped"
        shutil.copytree(pub, g)
        text = (g / "selected.csv").read_text(encoding="utf-8").splitlines()
        outsider = next(u for u in members[next(iter(members))] if u not in drawn["plan"])
        text[1] = outsider + text[1][18:]
        body = "\n".join(text) + "\n"
        (g / "selected.csv").write_text(body, encoding="utf-8")
        m = json.loads((g / "manifest.json").read_text(encoding="utf-8"))
        m["selected_hash"] = hashlib.sha256(body.encode()).hexdigest()
        (g / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
        with pytest.raises(RiskgradeError, match="differs from plan"):
            verify_package(g, con)
        with pytest.raises(RiskgradeError, match="re-drawn"):
            verify_package(g, None, sealed)
    finally:
        con.close()


def test_an_uncommitted_plan_cannot_be_published(drawn: dict, tmp_path: Path) -> None:
    home = drawn["home"]
    tid = run_cli("task", "create", "--name", "未承诺种子的任务", "--region", "3701", home=home).stdout.strip()
    r = run_cli("plan", "--as-of", T, "--seed", "1", "--task", tid, "--out", str(tmp_path / "p.csv"),
                "--publish", str(tmp_path / "pub"), home=home, check=False)
    assert r.returncode != 0 and "without a seed commitment" in r.stderr
    again = run_cli("seed", "commit", "--as-of", T, "--seed", "x", home=home, check=False)
    assert again.returncode != 0 and "cannot be replaced" in again.stderr
