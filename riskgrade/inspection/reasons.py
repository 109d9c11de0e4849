"""Why a line of a results upload was rejected: the one catalog of reason codes and their words (zh, en).

Every rejected line carries a stable code (:data:`REASONS`), its line and column, and the parameters its
words need (the value, a date, a line number).  The faces never write these words: the console shows
:func:`text` in the page's language (Chinese by default), the API returns the code with the English and
Chinese messages, the CLI prints the English one and writes them to ``--rejected``.

    >>> message("bad_result", 12, "result", "zh", value="合格吧")
    '第 12 行「检查结果」列：无法识别的检查结果「合格吧」'
"""

from __future__ import annotations

from .. import contract

_CODES = ", ".join(contract.DETAIL_CODES["inspection"])

# code -> (zh, en); the words take the parameters named in braces (value, first, max, as_of, period_end, why)
REASONS: dict[str, tuple[str, str]] = {
    "empty": ("为空", "empty"),
    "bad_uscc": ("不是有效的统一社会信用代码（GB 32100）「{value}」",
                 "not a valid unified social credit code (GB 32100)"),
    "bad_date": ("无法识别的日期「{value}」（应为 2026-10-20、2026/10/20 或 2026年10月20日）",
                 "not a date (2026-10-20, 2026/10/20, 2026年10月20日)"),
    "bad_result": ("无法识别的检查结果「{value}」（应为 " + "、".join(contract.INSPECTION_RESULT_ZH.values()) + " 之一）",
                   f"not a result: one of {_CODES} or their Chinese words (未发现问题, ...)"),
    "duplicate_result": ("同一主体同一日期的第二条结果（第 {first} 行已有）",
                         "a second result for this entity and date (line {first})"),
    "cell_too_long": ("单元格超过 {max:,} 个字符", "a cell of more than {max:,} characters"),
    "not_in_plan": ("主体 {value} 不是本计划抽中的主体", "not an entity of this plan"),
    "outside_region": ("主体 {value} 不在您的辖区内", "outside your region"),
    "before_as_of": ("检查日期 {value} 早于或等于计划基准日 {as_of}", "on or before the plan's as-of date {as_of}"),
    "after_period_end": ("检查日期 {value} 晚于任务截止日 {period_end}", "after the task's period end {period_end}"),
    "in_future": ("检查日期 {value} 是将来的日期", "in the future"),
    "quarantined": ("入库检查未通过：{why}", "quarantined by the ingest: {why}"),
}
LANGS = ("zh", "en")
# how a line and its column are named before the reason
_WHERE = {"zh": ("第 {line} 行「{column}」列：", "第 {line} 行："), "en": ("line {line}, column {column}: ", "line {line}: ")}
# the columns of a results file by their Chinese names (the template's headers)
COLUMNS_ZH = {"uscc": "统一社会信用代码", "date": "检查日期", "result": "检查结果", "inspector": "检查人员", "notes": "备注",
              "event_type": "记录类型"}


def text(code: str, lang: str = "en", **params) -> str:
    """The reason ``code`` in ``lang`` (zh or en) with its parameters; an unknown code is returned as it is."""
    words = REASONS.get(code)
    if words is None:
        return code
    template = words[0 if lang == "zh" else 1]
    try:
        return template.format(**{"value": "", "first": "", "max": 0, "as_of": "", "period_end": "", "why": "",
                                  **params})
    except (ValueError, KeyError, IndexError):
        return template


def message(code: str, line: int, column: str, lang: str = "en", **params) -> str:
    """A rejected line as the uploader reads it: where (line, column) and why, in ``lang``."""
    with_col, without = _WHERE["zh" if lang == "zh" else "en"]
    shown = COLUMNS_ZH.get(column, column) if lang == "zh" else column
    where = (with_col if column else without).format(line=line, column=shown)
    return where + text(code, lang, **params)
