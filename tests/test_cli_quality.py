"""`riskgrade quality` end to end on a known delivery."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_cli
from .test_ingest import delivery  # noqa: F401  (fixture)


def test_quality_json_html_and_summary(delivery: Path, home: Path, tmp_path: Path) -> None:  # noqa: F811
    run_cli("ingest", str(delivery), home=home)
    p = run_cli("quality", "--json", home=home)
    m = json.loads(p.stdout)
    s = m["summary"]
    # entities: 11 read, 5 valid (4 accepted + 1 merged); events: 16 read, 6 valid (5 + 1)
    assert s["rows_read"] == 27
    assert s["accepted"] == 9 and s["merged"] == 2 and s["quarantined"] == 16
    assert abs(s["validity_rate"] - 11 / 27) < 1e-6
    # attribution 记名率 over events: 6 attributed of 16 read; below the 80% target
    assert abs(m["attribution"]["rate"] - 6 / 16) < 1e-6
    assert m["attribution"]["unattributed"] == 2
    assert m["attribution"]["meets_target"] is False
    html = tmp_path / "q.html"
    run_cli("quality", "--out", str(html), home=home)
    text = html.read_text(encoding="utf-8")
    assert "数据质量监测评估报告" in text and "记名率" in text
    assert "src=\"http" not in text and "echarts" in text  # offline: ECharts inlined, no CDN
    p = run_cli("quality", home=home)
    assert "记名率" in p.stdout and "not met" in p.stdout


def test_settings_file_and_global_home_option(delivery: Path, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "h"
    home.mkdir()
    (home / "riskgrade.toml").write_text('lock_timeout = 1.5\nmemory_limit = "1GB"\n', encoding="utf-8")
    from riskgrade import settings

    s = settings.load(home)
    assert (s.lock_timeout, s.memory_limit) == (1.5, "1GB")
    (home / "riskgrade.toml").write_text("lock_timeout = [", encoding="utf-8")
    p = run_cli("--home", str(home), "status", home=tmp_path / "other", check=False)
    assert p.returncode == 1 and "riskgrade.toml" in p.stderr and "Traceback" not in p.stderr
    (home / "riskgrade.toml").unlink()
    run_cli("--home", str(home), "ingest", str(delivery), home=tmp_path / "other")
    assert (home / "warehouse.duckdb").exists() and not (tmp_path / "other").exists()
