"""The pandas reference (benchmarks/pandas_indicators.py) gives the generated indicator query's numbers.

The reference writes every indicator of the default catalog again in plain pandas; when the catalog
changes, this fails until the reference follows it (the parity is checked at more dates and sizes by
``python benchmarks/pandas_indicators.py check``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pandas as pd

from riskgrade.ingest import ingest

from .conftest import EVENT_HEADER, ROOT, write_csv

AS_OF = dt.date(2026, 9, 30)


def _reference():
    path = ROOT / "benchmarks" / "pandas_indicators.py"
    spec = importlib.util.spec_from_file_location("pandas_indicators", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_pandas_reference_matches_generated_query(tmp_path: Path) -> None:
    ref = _reference()
    home = ref.simulate_and_ingest(2000, tmp_path)
    entities, _, _ = ref.load(home)
    old = entities[(entities["status"] == "active") & (entities["established_on"] < "2020-01-01")]
    u = sorted(old["uscc"])[:5]
    # records where a careless reimplementation would part from the SQL
    write_csv(tmp_path / "extra" / "events.csv", EVENT_HEADER, [
        # latest = greatest (event date, record id) as text: on one day 'si9' is later than 'si10'
        ["si9", u[0], "social_insurance", "2026-08-31", "2026-09-01", "人社", "", "5", ""],
        ["si10", u[0], "social_insurance", "2026-08-31", "2026-09-01", "人社", "", "7", ""],
        ["tie1", u[0], "inspection", "2026-09-25", "2026-09-25", "general", "unreachable", "", ""],
        ["tie2", u[0], "inspection", "2026-09-25", "2026-09-26", "general", "pass", "", ""],
        # the latest tax grade has no grade: the one before counts
        ["tg1", u[1], "tax_credit_grade", "2026-08-01", "2026-08-01", "税务局", "D", "", ""],
        ["tg2", u[1], "tax_credit_grade", "2026-09-01", "2026-09-01", "税务局", "", "", ""],
        # a report year that is not four digits is no report year; a record delivered after T is not known
        ["ar1", u[2], "annual_report", "2024-08-01", "2024-08-01", "市场监管局", "2023.0", "1", ""],
        ["pen1", u[2], "admin_penalty", "2026-09-01", "2026-10-15", "市场监管局", "fine", "5000", ""],
        # listed and taken off on the same day: not listed
        ["ab1", u[3], "abnormal_list_in", "2026-09-20", "2026-09-20", "市场监管局", "unreachable_address", "", ""],
        ["ab2", u[3], "abnormal_list_out", "2026-09-20", "2026-09-20", "市场监管局", "", "", ""],
    ])
    write_csv(tmp_path / "extra" / "domain_grades.csv", ["uscc", "domain", "grade", "as_of"], [
        [u[4], "food", "C", "2026-09-15"], [u[4], "food", "B", "2026-09-10"],  # the latest grade counts
        [u[3], "food", "A", "2026-09-14"], [u[3], "food", "X", "2026-09-15"],  # latest unmapped: no level
    ])
    ingest(home, tmp_path / "extra")

    rows, problems = ref.parity(home, AS_OF)
    assert rows > 1000
    assert not problems, "\n".join(problems)

    got = ref.compute(*ref.load(home), AS_OF).set_index("uscc")
    assert got.loc[u[0], "insured_latest"] == 5 and got.loc[u[0], "inspection_latest_unreachable"] == 0
    assert got.loc[u[1], "tax_grade_risk"] == 4
    assert got.loc[u[3], "abnormal_unreachable_current"] == 0
    assert got.loc[u[4], "domain_food_level"] == 2 and got.loc[u[3], "domain_food_level"] is pd.NA
