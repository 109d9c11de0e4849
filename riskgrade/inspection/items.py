"""The province's list of inspection items (抽查事项清单): per domain, what an inspection checks, on which legal
basis, how and by which department (``defaults/inspection_items.yaml``; a province's own list in
``<home>/inspection_items.yaml`` replaces it).  Validated on load with a message naming the file and the field.

Tasks name their items by code in ``check_items`` (``;``-separated); a task written before the list (free
text) keeps its text, shown as it is (:func:`describe_items`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from .. import config
from ..errors import RiskgradeError
from .tasks import DOMAIN_RE

HOME_FILE = "inspection_items.yaml"
CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")
METHODS = {"onsite": ("现场检查", "on site"), "written": ("书面检查", "in writing"),
           "online": ("网络监测", "online monitoring"), "sampling": ("抽样检验", "sampling and testing")}


class Item(BaseModel):
    code: str
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    basis: str = Field(min_length=1, max_length=300)
    method: Literal["onsite", "written", "online", "sampling"]
    department: str = Field(min_length=1, max_length=128)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE_RE.match(v):
            raise ValueError(f"item code {v!r}: upper-case letters, digits and -, 2-32 characters (e.g. FOOD-01)")
        return v


class ItemList(BaseModel):
    version: str = Field(min_length=1)
    domains: dict[str, list[Item]]

    @model_validator(mode="after")
    def _check(self) -> ItemList:
        seen: dict[str, str] = {}
        for domain, items in self.domains.items():
            if not DOMAIN_RE.match(domain):
                raise ValueError(f"domain {domain!r}: lower-case letters, digits and _ (general, food, ...)")
            if not items:
                raise ValueError(f"domain {domain}: list at least one item")
            for it in items:
                if it.code in seen:
                    raise ValueError(f"item code {it.code} is listed twice (in {seen[it.code]} and {domain})")
                seen[it.code] = domain
        return self

    def for_domain(self, domain: str) -> list[Item]:
        return list(self.domains.get(domain, []))

    def by_code(self) -> dict[str, tuple[str, Item]]:
        return {it.code: (d, it) for d, items in self.domains.items() for it in items}


def load_items(path: Path | None = None, home: Path | None = None) -> ItemList:
    """The list: ``path``, else ``<home>/inspection_items.yaml`` when there is one, else the shipped default."""
    if path is None and home is not None and (Path(home) / HOME_FILE).exists():
        path = Path(home) / HOME_FILE
    return config.load(ItemList, path, HOME_FILE)


def split_codes(check_items: str | None) -> list[str]:
    return [x.strip() for x in (check_items or "").split(";") if x.strip()]


def check_codes(items: ItemList, domain: str, codes: list[str]) -> str:
    """The codes as a task stores them (``;``-separated), each an item of the domain (general items are allowed
    in every domain); otherwise a clear error."""
    allowed = {it.code for it in items.for_domain(domain)} | {it.code for it in items.for_domain("general")}
    known = items.by_code()
    for c in codes:
        if c not in known:
            raise RiskgradeError(f"inspection item {c!r} is not in the list (抽查事项清单 {items.version})")
        if c not in allowed:
            raise RiskgradeError(f"inspection item {c} belongs to domain {known[c][0]}, not {domain}")
    return ";".join(dict.fromkeys(codes))


def describe_items(items: ItemList, check_items: str | None, lang: str = "zh") -> list[dict]:
    """A task's items for a reader: each code with its name, basis, method and department; a free-text entry
    (a task written before the list) as its text alone."""
    known = items.by_code()
    out = []
    codes = split_codes(check_items)
    if codes and not all(c in known for c in codes):  # free text (old tasks): keep it readable, as written
        return [{"code": "", "name": (check_items or "").strip(), "basis": "", "method": "", "department": ""}]
    for c in codes:
        _, it = known[c]
        out.append({"code": c, "name": it.name_zh if lang == "zh" else it.name_en, "basis": it.basis,
                    "method": METHODS[it.method][0 if lang == "zh" else 1], "department": it.department})
    return out
