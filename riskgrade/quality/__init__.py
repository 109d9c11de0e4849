"""Data-quality monitoring and assessment (数据质量监测评估).

``measure(con, delivery_id=None) -> dict`` computes the measures from the store
(validity, duplicates, quarantine reasons, completeness, timeliness in official
working days, attribution rate 记名率, the trend across deliveries, unreadable
files); ``render_html(measures, lang="zh")`` turns them into one standalone,
offline HTML page (数据质量监测评估报告) with inlined Apache ECharts;
``write_report(measures, path, lang="zh")`` writes ``.html`` or ``.json``.
"""

from .measures import (
    ATTRIBUTION_TARGET,
    REASONS_ZH,
    TIMELY_SHARE_TARGET,
    TIMELY_WORKDAYS,
    measure,
    reason_zh,
)
from .report import render_html, write_report

__all__ = [
    "ATTRIBUTION_TARGET",
    "REASONS_ZH",
    "TIMELY_SHARE_TARGET",
    "TIMELY_WORKDAYS",
    "measure",
    "reason_zh",
    "render_html",
    "write_report",
]
