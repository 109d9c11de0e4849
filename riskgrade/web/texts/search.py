"""Console words of the entity search when its matches were counted only up to a bound (a province's search:
"more than 10,000"), and of the pager that then knows a lower bound of the pages."""

from __future__ import annotations

STRINGS = {
    "zh": {
        "results_more": "超过 {n} 户", "page_more": "第 {p} 页，共 {n} 页以上",
        "results_more_hint": "符合条件的主体较多，只计数到 {n} 户；可增加筛选条件缩小范围。",
    },
    "en": {
        "results_more": "more than {n} entities", "page_more": "Page {p} of more than {n}",
        "results_more_hint": "Many entities match: they were counted up to {n}; add a filter to narrow the search.",
    },
}
