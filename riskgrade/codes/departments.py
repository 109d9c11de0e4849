"""Departments (部门) and the province's routing table (分办): who supervises what an alert is about.

The table (``defaults/routing.yaml`` or a province's own file) names every department the data gives as an
event's ``source`` with a stable ``code``.  A source text is matched to a department by code, never by
equality with one free text (:meth:`RoutingTable.department_of`):

1. the normalised text (NFKC, no spaces) *is* a department code, or starts with one of its
   ``source_codes`` (the longest wins);
2. else it ends with one of a department's ``aliases`` (the longest alias wins), so
   ``济南市历下区卫生健康局`` and ``卫健委`` are both ``health``.

Who supervises (:meth:`RoutingTable.supervisor`): a licensed activity goes to the department that granted
the licence when that department supervises (谁审批、谁监管); a licence granted by a department that
approves without supervising (``supervises: false``: the 行政审批服务局 under 审管分离) goes to the
department its *licence domain* names (known from the holder's industry); an entity the table places by
its industry goes to that industry's department (谁主管、谁监管); everything else to the ``default``
department, the county market-supervision bureau.  An approval-only department is never a supervisor.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from .. import config
from ..errors import RiskgradeError
from . import regions

CODE = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Department(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str
    unit: str = "{county}{name}"        # the supervising unit in a county; {county}, {name}
    supervises: bool = True             # false: approves, does not supervise (审管分离)
    aliases: list[str] = []
    source_codes: list[str] = []        # source texts starting with one of these are this department
    counties: dict[str, str] = {}       # region code prefix -> unit name (the longest prefix wins)


class LicenceDomain(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str
    industries: list[str] = Field(min_length=1)   # section letters, divisions or class prefixes of the holder
    supervisor: str


class IndustryRoute(_Strict):
    industries: list[str] = Field(min_length=1)
    department: str


def norm(text: str | None) -> str:
    """A source or department text as matched: NFKC (full-width to half-width), no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def _industry_match(prefixes: list[str], section: str | None, code: str | None) -> int:
    """How specific the best prefix matching an industry is (0: none): a section letter counts 1."""
    best = 0
    for p in prefixes:
        if p.isalpha() and section and p == section:
            best = max(best, 1)
        elif p.isdigit() and code and code.startswith(p):
            best = max(best, 1 + len(p))
    return best


class RoutingTable(_Strict):
    version: str
    default: str = "amr"
    departments: list[Department] = Field(min_length=1)
    licence_domains: list[LicenceDomain] = []
    industries: list[IndustryRoute] = []
    _match: Any = PrivateAttr(default=None)   # the table's matcher, built on first use
    _cache: dict = PrivateAttr(default_factory=dict)  # (what, arguments) -> answer: units, supervisors

    @model_validator(mode="after")
    def _check(self) -> RoutingTable:
        codes = [d.code for d in self.departments]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"department code {sorted(dup)[0]} appears twice")
        by = {d.code: d for d in self.departments}
        refs = [("default", self.default)] + [(f"licence_domains.{x.code}.supervisor", x.supervisor)
                                              for x in self.licence_domains]
        refs += [(f"industries.{i}.department", x.department) for i, x in enumerate(self.industries)]
        for where, code in refs:
            if code not in by:
                raise ValueError(f"{where}: unknown department {code!r}")
            if not by[code].supervises:
                raise ValueError(f"{where}: {code} approves but does not supervise (supervises: false)")
        seen: dict[str, str] = {}
        for d in self.departments:
            for a in d.aliases:
                k = norm(a)
                if not k:
                    raise ValueError(f"departments.{d.code}: an empty alias")
                if seen.get(k, d.code) != d.code:
                    raise ValueError(f"alias {a!r} names two departments ({seen[k]}, {d.code})")
                seen[k] = d.code
        return self

    # ------------------------------------------------------------------ matching
    def dept(self, code: str) -> Department:
        return next(d for d in self.departments if d.code == code)

    def department_of(self, text: str | None) -> str | None:
        """The code of the department a source (or a user's department) text names; None when none."""
        t = norm(text)
        if not t:
            return None
        priv = self.__pydantic_private__  # (plain attribute access: the private-attribute lookup is slow)
        if priv["_match"] is None:
            priv["_match"] = _matcher(self)
        return priv["_match"](t)

    def unit(self, code: str, county: str | None) -> str:
        """The name of a department's supervising unit in a county."""
        cache, key = self.__pydantic_private__["_cache"], ("unit", code, county)
        if key not in cache:
            cache[key] = self._unit(code, county)
        return cache[key]

    def _unit(self, code: str, county: str | None) -> str:
        d = self.dept(code)
        c = county or ""
        over = max((p for p in d.counties if c.startswith(p)), key=len, default=None)
        if over is not None:
            return d.counties[over]
        cname = regions.name(c) if c else "（未知县区）"
        return d.unit.format(county=cname, name=d.name_zh)

    def supervisor(self, licence_source: str | None, section: str | None, industry: str | None) -> tuple[str, str]:
        """(department code, basis) of who supervises an entity: ``licence`` (谁审批、谁监管: the granting
        department supervises), ``licence_domain`` (the grantor only approves: the domain's supervisor),
        ``industry`` (谁主管、谁监管) or ``default``."""
        cache, key = self.__pydantic_private__["_cache"], ("supervisor", licence_source, section, industry)
        if key not in cache:
            cache[key] = self._supervisor(licence_source, section, industry)
        return cache[key]

    def _supervisor(self, licence_source: str | None, section: str | None, industry: str | None) -> tuple[str, str]:
        if licence_source is not None:
            code = self.department_of(licence_source)
            if code is not None and self.dept(code).supervises:
                return code, "licence"
            dom = self._best(self.licence_domains, section, industry)
            if dom is not None:
                return dom.supervisor, "licence_domain"
        ind = self._best(self.industries, section, industry)
        if ind is not None:
            return ind.department, "industry"
        return self.default, "default"

    @staticmethod
    def _best(items: list, section: str | None, industry: str | None):
        scored = [(_industry_match(x.industries, section, industry), i, x) for i, x in enumerate(items)]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: (s[0], -s[1]))[2] if scored else None


@lru_cache(maxsize=16)
def _matcher_for(key: str):
    table = RoutingTable.model_validate_json(key)
    codes = {d.code: d.code for d in table.departments}
    prefixes = sorted(((norm(p), d.code) for d in table.departments for p in d.source_codes if norm(p)),
                      key=lambda x: -len(x[0]))
    aliases = sorted(((norm(a), d.code) for d in table.departments for a in (*d.aliases, d.name_zh)),
                     key=lambda x: (-len(x[0]), x[0]))

    @lru_cache(maxsize=65536)
    def match(t: str) -> str | None:
        if t.lower() in codes:
            return codes[t.lower()]
        for p, code in prefixes:
            if t.startswith(p):
                return code
        for a, code in aliases:
            if t.endswith(a):
                return code
        return None

    return match


def _matcher(table: RoutingTable):
    return _matcher_for(table.model_dump_json())


def load(path: Path | None = None) -> RoutingTable:
    """The shipped routing table, or a province's own file (validated: a one-line message naming the field).

    A province's file is complete, or starts with ``extends: default``: its departments and licence domains
    then replace or amend the shipped ones of the same code (fields it gives), new codes are added, and
    ``industries``, ``default`` and ``version`` replace the shipped ones when given."""
    data, where = config.read_yaml(path, "routing.yaml")
    if data.get("extends") == "default":
        base, _ = config.read_yaml(None, "routing.yaml")
        merged = {k: v for k, v in base.items()}
        for key in ("departments", "licence_domains"):
            by_code = {x["code"]: x for x in base.get(key) or []}
            for x in data.get(key) or []:
                if not isinstance(x, dict) or "code" not in x:
                    raise RiskgradeError(f"{where}: {key}: every entry needs a code")
                by_code[x["code"]] = {**by_code.get(x["code"], {}), **x}
            merged[key] = list(by_code.values())
        for key in ("industries", "default", "version"):
            if key in data:
                merged[key] = data[key]
        data = merged
    return config.validate(RoutingTable, data, where)
