"""Value mutations of the dirty delivery: values that fail a check, and valid values in odd spellings.

Pure functions of a value and a variant number (which of the spellings), used by :mod:`.dirty`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..codes import uscc as uscc_codes

_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
BAD_REGIONS = ("379999", "370199", "379901", "990101", "370999", "000000", "37A102")
BAD_INDUSTRIES = ("9999", "Z6210", "A6210", "621", "62100", "0099")
BAD_DATES = ("2025-02-30", "2023-13-01", "2024-06-31", "yesterday", "昨天")
BAD_NUMBERS = ("abc", "1.2.3", "十万", "12O0", "5 万")
UNKNOWN_EVENT_TYPES = ("site_visit", "annual_reprot", "走访记录", "tax_payment", "license_check")
BAD_ENUMS = {
    "entity_type": ("company", "分公司", "sole_trader"),
    "status": ("closed", "迁出", "suspended"),
    "party_kind": ("robot", "组织"),
    "role": ("ceo", "监事会", "owner"),
}


def fullwidth(s: str) -> str:
    return s.translate(_FULLWIDTH)


def bad_uscc(code: str, variant: int) -> str:
    """A code that fails GB 32100 even after trimming, folding and upper-casing."""
    v = variant % 4
    if v == 0:  # wrong check character
        right = code[17]
        alt = uscc_codes.ALPHABET[(uscc_codes.ALPHABET.index(right) + 1 + variant % 29) % 31]
        return code[:17] + alt
    if v == 1:
        return code[:17]
    if v == 2:
        return code[:10] + "IOZSV"[variant % 5] + code[11:]
    return code + "0"


def odd_date(iso: str, variant: int) -> str:
    """The same date in another accepted spelling."""
    y, m, d = iso.split("-")
    v = variant % 4
    if v == 0:
        return f"{y}/{int(m)}/{int(d)}"
    if v == 1:
        return f"{y}年{int(m)}月{int(d)}日"
    if v == 2:
        return f"{y}{m}{d}"
    return fullwidth(iso)


def future_date(variant: int) -> str:
    """A date after any load date (2099), varied."""
    return f"2099-{1 + variant % 12:02d}-{1 + variant % 28:02d}"


def csv_line(values: Iterable[Any]) -> bytes:
    """One CSV line quoted like pyarrow writes it (strings quoted, empty cells bare)."""
    cells = []
    for v in values:
        cells.append("" if v is None else '"' + str(v).replace('"', '""') + '"')
    return (",".join(cells) + "\n").encode("utf-8")
