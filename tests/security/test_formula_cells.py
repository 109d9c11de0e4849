"""Issue 17, finding 3: no CSV the program writes carries a live spreadsheet formula.

A simulated province whose entity names and addresses start with ``=``, ``+``, ``-``, ``@``, a tab or a
CR (the ingest trims the last two; :func:`test_write_query_neutralises_tab_and_cr` covers them) goes
through every export; no cell of any CSV may start with a formula character unless it is neutralised
(``'`` in front), and numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb
import pytest

# the characters that start a formula, and the documented neutraliser (kept here so that the test
# checks the files against the rule, not against the module's own constant)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"

T1, T2 = "2026-08-31", "2026-09-30"
PASSWORD = "Secret-2026x"
# what each entity's name and address start with, in turn (after the prefix, never a number)
PREFIXES = ("=HYPERLINK(\"http://evil.example\",\"x\")&", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1 ", "\r=1+1 ")


def _cli(home: Path, *args: str, env: dict | None = None) -> str:
    from typer.testing import CliRunner

    from riskgrade.cli import app

    r = CliRunner().invoke(app, ["--home", str(home), *args], env=env)
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.output


def _poison(delivery: Path) -> None:
    """Prefix every entity's name and address with a formula; add a quarantined row whose text is one."""
    path = delivery / "entities.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    ni, ai = header.index("name"), header.index("address")
    for k, r in enumerate(body):
        r[ni] = PREFIXES[k % len(PREFIXES)] + r[ni]
        r[ai] = PREFIXES[(k + 1) % len(PREFIXES)] + r[ai]
    bad = list(body[0])
    bad[0] = "=1+2"  # bad_uscc: the quarantine's original text starts with a formula
    body.append(bad)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *body])


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("formula")
    home, d, out = root / "home", root / "d", root / "out"
    out.mkdir()
    _cli(home, "simulate", "--entities", "1500", "--seed", "5", "--out", str(d))
    _poison(d)
    _cli(home, "ingest", str(d))
    for t in (T1, T2):
        _cli(home, "classify", "--as-of", t, "--model", "expert")
    files: dict[str, list[Path]] = {}

    def export(key: str, *args: str, target: Path | None = None) -> None:
        p = target or out / f"{key}.csv"
        _cli(home, *args, "--out", str(p))
        files[key] = [p] if p.suffix == ".csv" else sorted(p.glob("*.csv"))

    export("plan", "plan", "--as-of", T2, "--seed", "7", "--budget", "300")
    _cli(home, "simulate-results", "--plan", "1", "--delivery", str(d), "--out", str(root / "results-in.csv"))
    _cli(home, "results", "import", str(root / "results-in.csv"), "--plan", "1")
    _cli(home, "warn")
    _cli(home, "fusion", "--as-of", T2)
    export("grades", "export", "grades", "--as-of", T2)
    export("alerts", "export", "alerts")
    export("results", "export", "results", "--plan", "1")
    export("pushes", "export", "pushes", "--as-of", T2)
    export("national", "export", "national", "--month", "2026-09", target=out / "national")
    export("whitelist", "export", "whitelist", "--as-of", T2)
    export("measures", "export", "measures", "--as-of", T2)
    export("directory", "export", "directory", "--as-of", T2)
    export("fused", "export", "fused", "--as-of", T2)
    export("quarantine", "quarantine", "export")
    export("indicators", "indicators", "--as-of", T2)
    export("migration", "migration", "--from", T1, "--to", T2)
    export("plans_show", "plans", "show", "1")
    # the public draw package (一公开): a committed seed, a plan published to a folder
    _cli(home, "seed", "commit", "--as-of", T2, "--seed", "9")
    _cli(home, "plan", "--as-of", T2, "--seed", "9", "--budget", "300", "--out", str(root / "plan2.csv"),
         "--publish", str(out / "publication"))
    files["publication"] = sorted((out / "publication").glob("*.csv"))
    # the API's grades export, published to a registry in the home
    _cli(home, "publish", "--as-of", T2)
    _cli(home, "user", "add", "officer", "--role", "credit_officer", "--region", "37", "--password-env", "RG_PW",
         env={"RG_PW": PASSWORD})
    from fastapi.testclient import TestClient

    from riskgrade.api.app import create_app

    old = os.environ.get("RISKGRADE_HOME")
    client = TestClient(create_app(home, None))
    token = client.post("/api/login", json={"username": "officer", "password": PASSWORD}).json()["token"]
    r = client.get("/api/exports/grades", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    (out / "api-grades.csv").write_bytes(r.content)
    files["api_grades"] = [out / "api-grades.csv"]
    if old is not None:
        os.environ["RISKGRADE_HOME"] = old
    return files


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


EXPORTS = ("plan", "grades", "alerts", "results", "pushes", "national", "whitelist", "measures", "directory", "fused",
           "quarantine", "indicators", "migration", "plans_show", "api_grades", "publication")
WITH_NAMES = ("plan", "grades", "alerts", "results", "pushes", "national", "whitelist", "directory", "quarantine",
              "plans_show", "api_grades", "publication")


@pytest.mark.parametrize("key", EXPORTS)
def test_no_cell_of_an_export_is_a_formula(outputs: dict[str, list[Path]], key: str) -> None:
    paths = outputs.get(key)
    if not paths:
        pytest.skip(f"{key}: this command writes no CSV here")
    neutralised = 0
    for path in paths:
        rows = _rows(path)
        for line, row in enumerate(rows, start=2):
            for col, cell in row.items():
                if cell is None:
                    continue
                assert not cell.startswith(FORMULA_STARTS), f"{path.name}:{line} {col}={cell!r} is a live formula"
                if cell.startswith(NEUTRALISER) and cell[1:2] in FORMULA_STARTS:
                    neutralised += 1
                    # numbers are never quoted: a neutralised cell is text, not a number written as text
                    assert not _number(cell[1:]), f"{path.name}:{line} {col}={cell!r}: a number was quoted"
    if key in WITH_NAMES:
        assert neutralised, f"{key}: the poisoned names or addresses did not reach this export"


def test_numbers_stay_numbers(outputs: dict[str, list[Path]]) -> None:
    rows = _rows(outputs["grades"][0])
    assert rows and all(_number(r["score"]) for r in rows)
    assert all(r["score_base"] == "" or _number(r["score_base"]) for r in rows)
    # contributions (code:+12.30;code:-5.00) start with a letter: written as they are, signs kept
    contrib = [r["contributions"] for r in rows if r["contributions"]]
    assert contrib and all(c[0].isalpha() for c in contrib)
    assert any(":-" in c for c in contrib) or any(":+" in c for c in contrib)
    ind = _rows(outputs["indicators"][0])
    numeric = [c for c in ind[0] if all(r[c] == "" or _number(r[c]) for r in ind)]
    assert len(numeric) > 5  # the indicator columns: written as numbers, never quoted
    assert any(r["name"].startswith(NEUTRALISER) for r in ind)


def test_write_query_neutralises_tab_and_cr(tmp_path: Path) -> None:
    from riskgrade.export import write_query

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('=1+1', -5.0, chr(9) || '=2', chr(13) || 'x', '@a', 'ok', "
                "'-3', NULL)) v(a, n, tab, cr, at_, plain, neg_text, empty)")
    out = tmp_path / "t.csv"
    assert write_query(con, "SELECT * FROM t", out) == 1
    [row] = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    assert row == {"a": "'=1+1", "n": "-5.0", "tab": "'\t=2", "cr": "'\rx", "at_": "'@a", "plain": "ok",
                   "neg_text": "'-3", "empty": ""}
    # Parquet and JSON are data, not spreadsheets: unchanged
    write_query(con, "SELECT * FROM t", tmp_path / "t.parquet")
    assert con.execute(f"SELECT a FROM read_parquet('{tmp_path / 't.parquet'}')").fetchall() == [("=1+1",)]


def test_the_one_rule() -> None:
    from riskgrade.export import FORMULA_STARTS as starts
    from riskgrade.export import neutralise, neutralise_sql

    assert starts == FORMULA_STARTS
    for c in FORMULA_STARTS:
        assert neutralise(c + "x") == "'" + c + "x"
    assert neutralise("abc") == "abc" and neutralise(-5.0) == -5.0 and neutralise(None) is None
    assert neutralise("code:-5.00") == "code:-5.00"
    con = duckdb.connect()
    for v in ("=x", "+x", "-x", "@x", "\tx", "\rx", "x", "", "code:+1"):
        assert con.execute(f"SELECT {neutralise_sql('v')} FROM (SELECT ?::VARCHAR AS v)", [v]).fetchall()[0][0] == neutralise(v)
