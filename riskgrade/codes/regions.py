"""GB/T 2260 administrative division codes, from the table python-stdnum ships (``cn/loc.dat``).

A name in brackets carries its validity: ``[1983-]`` current since 1983,
``[-2010]`` or ``[1983-1987]`` abolished (historical).  Codes without a bracket
are current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

_BRACKET = re.compile(r"^\[(\d{4})?-(\d{4})?\](.*)$")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    province: str
    prefecture: str | None
    current: bool
    level: str  # province | prefecture | county


def _split(name: str) -> tuple[str, bool]:
    m = _BRACKET.match(name)
    if not m:
        return name, True
    return m.group(3), m.group(2) is None


@lru_cache(maxsize=1)
def table() -> dict[str, Region]:
    """Every code python-stdnum knows, current and historical."""
    db = numdb.get("cn/loc")
    out: dict[str, Region] = {}
    for _len, prov_low, prov_high, prov_props, children in db.prefixes:
        prov_name = prov_props.get("province", "")
        for _l, sub_low, sub_high, sub_props, _c in children:
            if sub_low != sub_high:
                continue
            name, current = _split(sub_props.get("county", ""))
            code = prov_low + sub_low
            if len(code) != 6 or not code.isdigit():
                continue
            if code.endswith("0000"):
                level = "province"
            elif code.endswith("00"):
                level = "prefecture"
            else:
                level = "county"
            # a code may be listed twice (abolished, later reused): current wins
            if code in out and out[code].current and not current:
                continue
            out[code] = Region(code, name, prov_name, None, current, level)
    # attach prefecture names
    fixed: dict[str, Region] = {}
    for code, r in out.items():
        pref = out.get(code[:4] + "00")
        fixed[code] = Region(r.code, r.name, r.province, pref.name if pref and pref.code != code else None, r.current, r.level)
    return fixed


@lru_cache(maxsize=1)
def current_codes() -> frozenset[str]:
    return frozenset(c for c, r in table().items() if r.current)


@lru_cache(maxsize=1)
def historical_codes() -> frozenset[str]:
    return frozenset(c for c, r in table().items() if not r.current) - current_codes()


def counties(province_prefix: str) -> list[Region]:
    """Current county-level divisions of one province (excluding 市辖区 placeholders)."""
    return [
        r
        for c, r in sorted(table().items())
        if c.startswith(province_prefix) and r.current and r.level == "county" and r.name != "市辖区"
    ]


def name(code: str) -> str:
    r = table().get(code)
    if r is None:
        return code
    return (r.prefecture or "") + r.name if r.level == "county" else r.name


def is_region_prefix(prefix: str) -> bool:
    """Whether ``prefix`` names a current division a user's scope can be: a province (2 digits), a city
    (4 digits) or a county (6 digits) with at least one current GB/T 2260 code under it."""
    if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", prefix or ""):
        return False
    if len(prefix) == 6:
        return prefix in current_codes() and not prefix.endswith("00")
    return any(c.startswith(prefix) for c in current_codes())
