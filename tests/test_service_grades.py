"""One grades-export column list (issue 16): ``riskgrade export grades`` writes the columns of
``riskgrade.service.grades.GRADES_EXPORT_COLUMNS`` (``facts`` last, on request), and the service's rows
carry the same columns and values."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from .conftest import run_cli

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def small_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grades-export")
    home = root / "home"
    run_cli("simulate", "--entities", "1200", "--seed", "4", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", AS_OF, "--model", "expert", home=home)
    return home


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


def test_the_cli_export_has_the_one_column_list(small_home: Path, tmp_path: Path) -> None:
    from riskgrade.service.grades import FACTS_COLUMN, GRADES_EXPORT_COLUMNS

    run_cli("export", "grades", "--as-of", AS_OF, "--out", str(tmp_path / "g.csv"), home=small_home)
    cols, rows = _read(tmp_path / "g.csv")
    assert cols == list(GRADES_EXPORT_COLUMNS)
    assert rows and all(r["as_of"] == AS_OF for r in rows)
    run_cli("export", "grades", "--as-of", AS_OF, "--facts", "--out", str(tmp_path / "f.csv"), home=small_home)
    cols_f, rows_f = _read(tmp_path / "f.csv")
    assert cols_f == [*GRADES_EXPORT_COLUMNS, FACTS_COLUMN]
    assert len(rows_f) == len(rows) and any(r[FACTS_COLUMN] for r in rows_f)


def test_the_service_rows_match_the_file(small_home: Path, tmp_path: Path) -> None:
    from riskgrade.service.grades import GRADES_EXPORT_COLUMNS, grade_rows
    from riskgrade.warehouse import Warehouse

    run_cli("export", "grades", "--as-of", AS_OF, "--out", str(tmp_path / "g.csv"), home=small_home)
    _, from_file = _read(tmp_path / "g.csv")
    with Warehouse(small_home) as wh:
        rows = grade_rows(wh.con, date.fromisoformat(AS_OF))
        region = rows[0]["region_code"][:4]
        in_region = grade_rows(wh.con, date.fromisoformat(AS_OF), region_prefix=region)
    assert [list(r) for r in rows[:1]] == [list(GRADES_EXPORT_COLUMNS)]
    assert [r["uscc"] for r in rows] == [r["uscc"] for r in from_file]
    assert [r["grade"] for r in rows] == [r["grade"] for r in from_file]
    assert [r["contributions"] for r in rows] == [r["contributions"] for r in from_file]
    assert in_region and len(in_region) < len(rows) and all(r["region_code"].startswith(region) for r in in_region)


def test_no_classification_is_one_riskgrade_error(small_home: Path, tmp_path: Path) -> None:
    p = run_cli("export", "grades", "--as-of", "2026-08-31", "--out", str(tmp_path / "g.csv"), home=small_home,
                check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: no classification as of 2026-08-31")


def test_the_published_rows_have_the_same_columns_and_values(small_home: Path, tmp_path: Path) -> None:
    """What the API exports (the registry's copy of the month) has the same columns as the CLI's file, and
    the same contributions, computed by the one expression from the published reason points."""
    from riskgrade.registry.db import open_registry
    from riskgrade.service.grades import GRADES_EXPORT_COLUMNS, published_grade_rows

    run_cli("publish", "--as-of", AS_OF, home=small_home)
    run_cli("export", "grades", "--as-of", AS_OF, "--out", str(tmp_path / "g.csv"), home=small_home)
    _, from_file = _read(tmp_path / "g.csv")
    f = open_registry(small_home, None)
    as_of, rows = published_grade_rows(f, date.fromisoformat(AS_OF))
    assert as_of.isoformat() == AS_OF and list(rows[0]) == list(GRADES_EXPORT_COLUMNS)
    for col in ("uscc", "grade", "labels", "reasons", "region_code", "model_version", "contributions"):
        assert [r[col] or "" for r in rows] == [r[col] for r in from_file], col
    assert any(r["contributions"] for r in rows)
    region = rows[0]["region_code"][:4]
    _, in_region = published_grade_rows(f, None, region_prefix=region)
    assert in_region and all(r["region_code"].startswith(region) for r in in_region) and len(in_region) < len(rows)
    assert published_grade_rows(f, date(2026, 8, 31)) is None
