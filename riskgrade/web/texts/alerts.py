"""Console words of the alerts page: the queue's corroboration (印证, the status of a single-signal alert kept for
review) and the filter box (folded on a phone, where it would fill the first screen)."""

from __future__ import annotations

STRINGS = {
    "zh": {
        "st_uncorroborated": "待印证",
        "al_uncorroborated_hint": "待印证：该市场主体一年内仅触发一条预警规则（单一信号），未进入待分办队列，"
                                  "留存备查；可直接分办处理。",
        "al_filters": "筛选条件",
        "al_filters_on": "（已选 {n} 项）",
    },
    "en": {
        "st_uncorroborated": "uncorroborated",
        "al_uncorroborated_hint": "Uncorroborated: the only warning rule its entity triggered within a year (a single "
                                  "signal); kept out of the open queue, listed for review; it can still be assigned.",
        "al_filters": "Filters",
        "al_filters_on": " ({n} chosen)",
    },
}
