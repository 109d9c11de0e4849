"""The simulated population of market entities (市场主体) and their latent risk.

Every entity gets a type, a county, an industry, an establishment date, a
pseudonymous legal representative and phone, a registered address and name,
and a latent risk in ``[0, 1]`` that later drives every record stream.  About
8% of entities "turn risky" on a date inside the window (their risk jumps to
``risk_after``); about 2% are shells (空壳) in clusters of 3-40 registered at
one address within a few weeks, sharing a phone and often a legal
representative, mostly with one trade name (字号) and often one registered
capital; a few % of businesses are tenants of benign multi-tenant office
towers (写字楼, :mod:`.towers`), some of which also host a shell cluster.
Everything is numpy arrays (one element per entity); Arrow
string columns are built once at the end by :meth:`Population.entity_strings`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..codes import industries, regions, uscc
from ..dates import years_back
from . import names, registration
from .strings import NO_DAY, DateStrings, hex_ids, int_strings, join, lookup
from .towers import place

ENTERPRISE, INDIVIDUAL, COOPERATIVE = 0, 1, 2
ENTITY_TYPES = ("enterprise", "individual", "cooperative")
ACTIVE, DEREGISTERED, REVOKED = 0, 1, 2
STATUSES = ("active", "deregistered", "revoked")

CLASSES: tuple[str, ...] = tuple(sorted(industries.SIMULATED_CLASSES))
CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}

# class -> (enterprise weight x, individual weight x, cooperative weight x, risk shift on the logit scale)
_PROFILE: dict[str, tuple[float, float, float, float]] = {
    "0111": (0.5, 0.6, 3.0, -0.2), "0141": (0.5, 1.0, 4.0, -0.2), "0313": (0.5, 0.8, 3.0, -0.1),
    "1431": (1.0, 0.6, 0, 0.1), "1512": (1.0, 0.2, 0, 0.0), "1810": (1.2, 0.5, 0, 0.0),
    "2110": (1.0, 0.4, 0, 0.0), "2710": (1.0, 0.0, 0, -0.2), "3311": (1.5, 0.2, 0, 0.0),
    "3670": (1.5, 0.1, 0, 0.0), "4710": (2.5, 0.2, 0, 0.2), "4910": (1.5, 0.5, 0, 0.1),
    "5121": (1.5, 0.6, 0, 0.2), "5211": (1.0, 1.2, 0, 0.0), "5212": (0.5, 1.2, 0, -0.1),
    "5221": (0.3, 1.2, 0, 0.0), "5225": (0.2, 1.3, 0, 0.0), "5261": (1.5, 0.1, 0, 0.0),
    "5292": (1.5, 1.0, 0, 0.4), "5431": (1.5, 1.0, 0, 0.2), "5932": (1.5, 0.2, 0, 0.0),
    "6110": (1.0, 0.8, 0, 0.0), "6210": (0.6, 1.2, 0, 0.1), "6220": (0.4, 1.2, 0, 0.1),
    "6291": (0.2, 1.4, 0, 0.2), "6513": (3.0, 0.1, 0, 0.2), "6531": (2.5, 0.3, 0, 0.2),
    "7010": (3.0, 0.0, 0, 0.3), "7020": (2.0, 0.1, 0, 0.0), "7030": (1.0, 0.8, 0, 0.3),
    "7111": (1.5, 0.3, 0, 0.2), "7241": (2.0, 0.3, 0, 0.3), "7251": (2.0, 0.5, 0, 0.5),
    "7320": (3.0, 0.1, 0, 0.1), "8010": (0.6, 1.2, 0, 0.1), "8051": (0.2, 1.4, 0, 0.1),
    "8111": (0.5, 1.3, 0, 0.1), "8411": (2.0, 0.0, 0, -0.4),
}
SHELL_CLASSES = ("7241", "7251", "5292", "6513", "6531", "7320", "5121", "7030")
# Industry groups (by class code) used by the record streams and domain grades.
FOOD = frozenset({"1431", "1512", "5121", "5211", "5212", "5221", "5225", "6110", "6210", "6220", "6291"})
DRUG = frozenset({"2710", "8411"})
SPECIAL_EQUIPMENT = frozenset({"3311", "3670", "5932", "6110", "7020", "8111"})
LICENSED = FOOD | DRUG | frozenset({"5431", "8051", "4710", "7010"})
CONSUMER = FOOD | frozenset({"5261", "5292", "6110", "7030", "7111", "8010", "8051", "8111"})
ONLINE_PROPENSITY = {"5292": 0.95}
PLATFORM_GROUP_FOOD = frozenset({"1431", "1512", "6210", "6220", "6291"})
PLATFORM_GROUP_SERVICE = frozenset({"6110", "7030", "7111", "8010", "8051", "8111"})

RngFactory = Callable[[str], np.random.Generator]


def rng_factory(seed: int) -> RngFactory:
    """Independent, named random streams: ``rng_for("events.inspection")``; stable when others change."""

    def rng_for(name: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])))

    return rng_for


def _day(d: date) -> int:
    return int(np.datetime64(d.isoformat(), "D").astype(np.int64))


def ymd(year: np.ndarray | int, month: int, day: int) -> np.ndarray:
    """Vectorised day numbers of ``year-month-day``."""
    y = np.asarray(year, dtype=np.int64) - 1970
    d = y.astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    return (d.astype("datetime64[D]") + (day - 1)).astype(np.int64).astype(np.int32)


@dataclass(frozen=True)
class Window:
    """The simulated period: ``years`` years ending on ``end`` (inclusive)."""

    end_date: date
    years: int

    @property
    def start_date(self) -> date:
        return years_back(self.end_date, self.years) + timedelta(days=1)

    @property
    def end(self) -> int:
        return _day(self.end_date)

    @property
    def start(self) -> int:
        return _day(self.start_date)

    @property
    def report_years(self) -> np.ndarray:
        """Annual-report years whose listing day for non-filers (1 July of the next year) is in the window.

        The report for year Y is filed from 1 January to 30 June of Y+1; the last year is
        ``end.year - 1`` (its filings after ``end`` are simply not delivered yet).
        """
        s = self.start_date
        first = s.year - 1 if s <= date(s.year, 7, 1) else s.year
        return np.arange(first, self.end_date.year, dtype=np.int64)

    @property
    def calendar_years(self) -> np.ndarray:
        return np.arange(self.start_date.year, self.end_date.year + 1, dtype=np.int64)


@dataclass
class Population:
    """One element per entity; day numbers are int32 days since 1970-01-01 (``NO_DAY`` = none)."""

    window: Window
    counties: list[regions.Region]
    etype: np.ndarray  # int8: ENTERPRISE / INDIVIDUAL / COOPERATIVE
    county: np.ndarray  # int32 index into counties
    industry: np.ndarray  # int32 index into CLASSES
    est: np.ndarray  # int32 established day
    is_shell: np.ndarray  # bool
    cluster: np.ndarray  # int32 shell cluster id, -1 none
    person: np.ndarray  # int32 legal representative / operator (person index)
    phone: np.ndarray  # int32 phone index, -1 none
    base_risk: np.ndarray  # float64
    change: np.ndarray  # int32 day the entity turns risky, NO_DAY none
    risk_after: np.ndarray  # float64 (= base_risk when it never turns)
    capital: np.ndarray  # int64 registered capital in 10,000 CNY, -1 none
    employees: np.ndarray  # int32 insured headcount at the window start, 0 = no employees
    revenue: np.ndarray  # float64 typical yearly revenue in CNY
    online: np.ndarray  # int32 day the entity opens an online store, NO_DAY none
    platform: np.ndarray  # int32 index into names.PLATFORMS
    address_parts: dict[str, np.ndarray]  # road, number, building, room (building -1 none)
    name_parts: dict[str, np.ndarray]  # prefix, zihao, word indexes into the name tables
    n_people: int
    id_keys: dict[str, tuple[int, int, int]]
    uscc_codes: list[str]  # entity codes, then spare valid codes that belong to no entity
    # set by the lifecycle (riskgrade.simulate.events): everyone active until then
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # int8 ACTIVE / DEREGISTERED / REVOKED
    closed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # int32 closing day, NO_DAY active
    lifecycle_done: bool = False
    tower: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # int32 office tower id, -1 none

    def __post_init__(self) -> None:
        if self.status.size != self.n:
            self.status = np.zeros(self.n, np.int8)
            self.closed = np.full(self.n, NO_DAY, np.int32)
        if self.tower.size != self.n:
            self.tower = np.full(self.n, -1, np.int32)

    @property
    def n(self) -> int:
        return int(self.etype.size)

    @property
    def spare_usccs(self) -> list[str]:
        """Valid USCCs that belong to no entity (for unattributed records in the dirty copy)."""
        return self.uscc_codes[self.n :]

    def uscc_matrix(self) -> np.ndarray:
        """Entity USCCs as an ``(n, 18)`` uint8 matrix (for fanning out to events)."""
        return np.frombuffer("".join(self.uscc_codes[: self.n]).encode("ascii"), dtype=np.uint8).reshape(-1, 18)

    def in_group(self, group: frozenset[str]) -> np.ndarray:
        member = np.array([c in group for c in CLASSES], dtype=bool)
        return member[self.industry]

    def risk_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Latent risk of entities ``idx`` on ``day``."""
        return np.where(day >= self.change[idx], self.risk_after[idx], self.base_risk[idx])

    def exists_from(self) -> np.ndarray:
        """First day an entity can have records in the window."""
        return np.maximum(self.est, np.int32(self.window.start)).astype(np.int32)

    def exists_until(self) -> np.ndarray:
        """Exclusive end of the entity's records: the day after closure or after the window end."""
        stop = np.minimum(self.closed, np.int32(self.window.end))
        return (stop + 1).astype(np.int32)

    def person_ids(self, index: np.ndarray) -> pa.Array:
        """``P`` + 10 hex for person indexes (distinct people get distinct ids)."""
        return hex_ids("P", index, self.id_keys["person"])

    # ------------------------------------------------------------------ strings
    def entity_strings(self, dates: DateStrings, rng: np.random.Generator,
                       registration_rng: np.random.Generator | None = None) -> pa.Table:
        """The ``entities`` table of the delivery (all columns strings).  The registration columns beyond
        v1 (:mod:`.registration`) come from ``registration_rng``, a stream of their own, so that the other
        columns are what they were before those columns existed."""
        n = self.n
        lettered = [industries.DIVISION_SECTION[c[:2]] + c for c in CLASSES]
        with_letter = rng.random(n) < 0.5
        industry_code = lookup(list(CLASSES) + lettered, self.industry + with_letter * len(CLASSES))
        region_codes = [r.code for r in self.counties]
        name = join(
            lookup(_NAME_PREFIXES(self.counties), self.name_parts["prefix"]),
            lookup(_ZIHAO, self.name_parts["zihao"]),
            lookup(_WORDS, self.name_parts["word"]),
            lookup(("有限公司", "", "农民专业合作社"), self.etype.astype(np.int32)),
        )
        ap = self.address_parts
        has_building = ap["building"] >= 0
        place = lookup([_prefecture(r) + r.name for r in self.counties], self.county)
        road = lookup(_ROADS, ap["road"])
        building = lookup(names.BUILDINGS + names.TOWERS, np.maximum(ap["building"], 0), ~has_building)
        room = join(int_strings(ap["room"], ~has_building), "室")
        no_room = has_building & (ap["room"] < 0)  # a tower tenant giving the bare building address
        if no_room.any():
            room = pc.if_else(pa.array(no_room), pa.scalar("", pa.string()), room)
        address = join(place, road, int_strings(ap["number"]), "号")
        if has_building.any():
            address = pc.if_else(pa.array(has_building), join(address, building, room), address)
        return pa.table(
            {
                "uscc": pa.array(self.uscc_codes[:n], type=pa.string()),
                "name": name,
                "entity_type": lookup(ENTITY_TYPES, self.etype.astype(np.int32)),
                "region_code": lookup(region_codes, self.county),
                "industry_code": industry_code,
                "established_on": dates(self.est),
                "status": lookup(STATUSES, self.status.astype(np.int32)),
                "closed_on": dates(self.closed),
                "registered_capital": int_strings(self.capital, self.capital < 0),
                "address": address,
                "legal_rep_id": self.person_ids(self.person),
                "phone_id": self.phone_ids(),
                **registration.registration_columns(
                    self.person, self.industry, CLASSES, self.county, self.counties,
                    registration_rng if registration_rng is not None else np.random.default_rng(0)),
            }
        )

    def phone_ids(self) -> pa.Array:
        """``T`` + 10 hex per entity (null when the entity has no phone on record)."""
        ids = hex_ids("T", np.maximum(self.phone, 0), self.id_keys["phone"])
        missing = self.phone < 0
        if not missing.any():
            return ids
        return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), ids)


# ---------------------------------------------------------------------- name and address tables
_ZIHAO: tuple[str, ...] = tuple(a + b for a in names.ZIHAO_FIRST for b in names.ZIHAO_SECOND if a != b) + tuple(
    s + x for s in names.SURNAMES for x in names.SURNAME_SHOP_SUFFIX
)
_N_PLAIN_ZIHAO = sum(1 for a in names.ZIHAO_FIRST for b in names.ZIHAO_SECOND if a != b)
_ROADS: tuple[str, ...] = tuple(
    a + b + k for a in names.ROAD_FIRST for b in names.ROAD_SECOND for k in dict.fromkeys(names.ROAD_KIND)
)
# industry words: enterprise word per class, then every shop word, then cooperative words
_ENT_WORD = [names.INDUSTRY_WORDS[c][0] for c in CLASSES]
_SHOP_WORDS: list[tuple[int, int]] = []  # per class: (offset, count) into _WORDS
_WORDS_LIST = list(_ENT_WORD)
for _c in CLASSES:
    _SHOP_WORDS.append((len(_WORDS_LIST), len(names.INDUSTRY_WORDS[_c][1])))
    _WORDS_LIST.extend(names.INDUSTRY_WORDS[_c][1])
_COOP_OFFSET = len(_WORDS_LIST)
_WORDS_LIST.extend(names.INDUSTRY_WORDS[_c][2] or names.INDUSTRY_WORDS[_c][0] for _c in CLASSES)
_WORDS: tuple[str, ...] = tuple(_WORDS_LIST)


_COUNTY_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗")


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    """``历下区`` -> ``历下``, ``济南市`` -> ``济南`` (kept when fewer than two characters would remain)."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _prefecture(r: regions.Region) -> str:
    """The prefecture part of an address: the city, the municipality itself, or nothing (省直辖 cities)."""
    p = r.prefecture
    if p in ("市辖区", "县"):  # municipalities: 北京市, 重庆市 ...
        return r.province
    if p is None or p.endswith(("直辖县级行政单位", "直辖县级行政区划")) or p == "林区":
        return ""
    return p


def _NAME_PREFIXES(counties: list[regions.Region]) -> list[str]:  # noqa: N802 - a table, not a function
    """Name prefixes: county short names, prefecture short names, full county names, ''."""
    return (
        [_short(r.name, _COUNTY_SUFFIXES) for r in counties]
        + [_short(_prefecture(r), ("市", "省")) or _short(r.name, _COUNTY_SUFFIXES) for r in counties]
        + [r.name for r in counties]
        + [""]
    )


# ---------------------------------------------------------------------- building the population
def _unique_usccs(
    rng: np.random.Generator, etype: np.ndarray, region: np.ndarray, modern: np.ndarray, n_spare: int, spare_region: str
) -> list[str]:
    """Distinct valid USCCs: ``9`` + type digit + region + 9 characters + check character."""
    n = etype.size
    total = n + n_spare
    t = np.concatenate([etype.astype(np.int64), rng.integers(0, 2, n_spare)])
    reg = np.concatenate([region, np.full(n_spare, spare_region)]).astype("S6")
    mod = np.concatenate([modern, np.ones(n_spare, bool)])
    alpha = np.frombuffer(uscc.ALPHABET.encode(), dtype=np.uint8)
    org = np.empty((total, 9), dtype=np.int64)  # indexes into the alphabet

    def draw(rows: np.ndarray) -> None:
        k = rows.size
        o = rng.integers(0, 31, size=(k, 9))
        o[:, :8] = np.where(mod[rows, None], o[:, :8], rng.integers(0, 10, size=(k, 8)))  # old codes: 8 digits
        o[mod[rows], 0] = uscc.ALPHABET.index("M")  # post-2015 codes: "MA" + 7 characters
        o[mod[rows], 1] = uscc.ALPHABET.index("A")
        org[rows] = o

    draw(np.arange(total))
    _, reg_num = np.unique(reg, return_inverse=True)
    for _ in range(100):
        key = ((reg_num.astype(np.int64) * 3 + t) * 31**9) + (org * 31 ** np.arange(8, -1, -1)).sum(axis=1)
        _, first = np.unique(key, return_index=True)
        dup = np.ones(total, bool)
        dup[first] = False  # later copies of a key are redrawn
        if not dup.any():
            break
        draw(np.flatnonzero(dup))
    else:  # pragma: no cover - 31**9 codes per region and type
        raise RuntimeError("could not draw distinct USCCs")
    mat = np.empty((total, 17), dtype=np.uint8)
    mat[:, 0] = ord("9")
    mat[:, 1] = (t + ord("1")).astype(np.uint8)
    mat[:, 2:8] = np.frombuffer(reg.tobytes(), dtype=np.uint8).reshape(-1, 6)
    mat[:, 8:] = alpha[org]
    s = mat.tobytes().decode("ascii")
    return uscc.make([s[i : i + 17] for i in range(0, 17 * total, 17)])


def _group_sizes(rng: np.random.Generator, total: int, sizes: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Group sizes drawn from ``sizes``/``p`` until they cover ``total`` (the last one cut to fit)."""
    if total <= 0:
        return np.zeros(0, np.int64)
    k = int(total / float((sizes * p).sum()) * 1.3) + 4
    while True:
        s = rng.choice(sizes, size=k, p=p)
        c = np.cumsum(s)
        if c[-1] >= total:
            m = int(np.searchsorted(c, total)) + 1
            s = s[:m].copy()
            s[-1] -= int(c[m - 1] - total)
            return s[s > 0]
        k *= 2


def build(n: int, province: str, window: Window, rng_for: RngFactory, n_spare: int = 0) -> Population:
    """Draw the population (without lifecycle: status and closure come from :mod:`.events`)."""
    counties = regions.counties(province)
    if not counties:
        raise ValueError(f"no current county-level divisions for province prefix {province!r}")
    rng = rng_for("population")
    end, start = window.end, window.start

    # ---- counties: uneven, urban districts and the two big cities larger
    cw = rng.lognormal(0.0, 0.6, len(counties))
    cw *= np.array([2.2 if r.name.endswith("区") else 1.0 for r in counties])
    cw *= np.array([1.6 if r.code[2:4] in ("01", "02") else 1.0 for r in counties])
    cw /= cw.sum()

    etype = rng.choice(3, size=n, p=[0.25, 0.72, 0.03]).astype(np.int8)
    county = rng.choice(len(counties), size=n, p=cw).astype(np.int32)
    industry = np.empty(n, np.int32)
    base_w = np.array([industries.SIMULATED_CLASSES[c][1] for c in CLASSES])
    for t in range(3):
        rows = np.flatnonzero(etype == t)
        w = base_w * np.array([_PROFILE[c][t] for c in CLASSES])
        industry[rows] = rng.choice(len(CLASSES), size=rows.size, p=w / w.sum())

    # ---- establishment: up to 20 years before the end, recent years more frequent
    span = 20 * 365.25
    shape = np.where(etype == INDIVIDUAL, 1.6, 1.4)
    age = np.floor(span * rng.random(n) ** shape).astype(np.int32) + 1
    est = (end - age).astype(np.int32)

    # ---- shells: clusters of 5-30 at one address, registered within a few weeks
    is_shell = np.zeros(n, bool)
    cluster = np.full(n, -1, np.int32)
    n_shell = int(round(0.02 * n)) if n >= 250 else (5 if n >= 100 else 0)
    sizes = _cluster_sizes(rng, n_shell)
    members = rng.permutation(n)[: int(sizes.sum())]
    cl_of_member = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    is_shell[members] = True
    cluster[members] = cl_of_member
    n_cl = sizes.size
    cl_county = rng.choice(len(counties), size=n_cl, p=cw).astype(np.int32)
    lo = start - 365
    cl_day = (lo + rng.random(n_cl) * (end - 120 - lo)).astype(np.int32)
    county[members] = cl_county[cl_of_member]
    est[members] = np.minimum(cl_day[cl_of_member] + rng.integers(0, 28, members.size), end - 1).astype(np.int32)
    etype[members] = np.where(rng.random(members.size) < 0.85, ENTERPRISE, INDIVIDUAL).astype(np.int8)
    shell_cls = np.array([CLASS_INDEX[c] for c in SHELL_CLASSES], np.int32)
    industry[members] = shell_cls[rng.integers(0, shell_cls.size, members.size)]

    # ---- people: legal representatives / operators; a few % of people run 2-5 entities
    person = np.full(n, -1, np.int32)
    normal = np.flatnonzero(~is_shell)
    multi = normal[rng.random(normal.size) < 0.09]
    multi = rng.permutation(multi)
    g = _group_sizes(rng, multi.size, np.array([2, 3, 4, 5]), np.array([0.55, 0.25, 0.12, 0.08]))
    person[multi] = np.repeat(np.arange(g.size, dtype=np.int32), g)
    next_person = g.size
    single = np.flatnonzero((person < 0) & ~is_shell)
    person[single] = next_person + np.arange(single.size, dtype=np.int32)
    next_person += single.size
    # shells: one person for the whole cluster (60%), else a small pool of 2-3 people
    pooled = rng.random(n_cl) < 0.4
    pool_size = np.where(pooled, rng.integers(2, 4, n_cl), 1)
    pool_start = next_person + np.concatenate([[0], np.cumsum(pool_size)[:-1]]).astype(np.int32)
    next_person += int(pool_size.sum())
    pick = (rng.random(members.size) * pool_size[cl_of_member]).astype(np.int32)
    person[members] = pool_start[cl_of_member] + pick

    # ---- phones: own phone; a person running several entities often uses one; shells share one per cluster
    phone = np.arange(n, dtype=np.int32)
    share = (rng.random(multi.size) < 0.5)
    phone[multi[share]] = n + person[multi[share]]
    phone[members] = 3 * n + cl_of_member
    own_phone_in_cluster = rng.random(members.size) < 0.1
    phone[members[own_phone_in_cluster]] = members[own_phone_in_cluster]
    phone[(rng.random(n) < 0.04) & ~is_shell] = -1

    # ---- latent risk
    ind_shift = np.array([_PROFILE[c][3] for c in CLASSES])[industry]
    county_shift = rng.normal(0.0, 0.25, len(counties))[county]
    type_shift = np.array([0.0, 0.1, 0.5])[etype]
    age_years = (end - est) / 365.25
    young_shift = 0.4 * np.exp(-age_years / 2.0)
    person_shift = np.zeros(n)
    p_eff = rng.normal(0.0, 0.7, g.size)
    person_shift[multi] = p_eff[person[multi]]
    b = rng.beta(1.6, 7.5, n)
    logit = np.log(b / (1 - b)) + ind_shift + county_shift + type_shift + young_shift + person_shift
    base = 1.0 / (1.0 + np.exp(-logit))
    base[members] = rng.beta(6.0, 2.2, members.size)
    base = np.clip(base, 0.005, 0.995)
    change = np.full(n, NO_DAY, np.int32)
    risk_after = base.copy()
    first = np.maximum(est, start) + 30
    turn = (~is_shell) & (rng.random(n) < 0.08) & (first < end - 30)
    tr = np.flatnonzero(turn)
    change[tr] = (first[tr] + rng.random(tr.size) * (end - 30 - first[tr])).astype(np.int32)
    risk_after[tr] = np.clip(np.maximum(base[tr] + 0.2, rng.beta(5.0, 2.2, tr.size)), 0.0, 0.98)

    # ---- capital, employees, revenue, online presence
    capital = np.full(n, -1, np.int64)
    ent = etype == ENTERPRISE
    capital[ent] = np.maximum(1, np.round(rng.lognormal(np.log(100), 1.3, int(ent.sum())))).astype(np.int64)
    coop = etype == COOPERATIVE
    capital[coop] = np.maximum(1, np.round(rng.lognormal(np.log(50), 1.0, int(coop.sum())))).astype(np.int64)
    capital[members] = np.where(
        etype[members] == ENTERPRISE, rng.choice([100, 200, 500, 1000, 3000, 5000], members.size), -1
    )
    employees = np.zeros(n, np.int32)
    p_emp = np.array([0.9, 0.3, 0.3])[etype]
    p_emp[members] = 0.08
    has = rng.random(n) < p_emp
    size = np.where(
        etype == ENTERPRISE, np.ceil(rng.lognormal(1.6, 1.1, n)), 1 + rng.poisson(1.5, n)
    ).astype(np.int32)
    size[members] = 1
    employees[has] = np.clip(size[has], 1, 5000)
    rev_median = np.array([3.0e6, 1.5e5, 2.0e5])[etype]
    revenue = rev_median * rng.lognormal(0.0, 1.0, n) * np.where(employees > 0, np.sqrt(employees + 1.0), 1.0)
    prop = np.array(
        [ONLINE_PROPENSITY.get(c, 0.5 if c in FOOD or c.startswith("52") else 0.3 if c in CONSUMER else 0.08)
         for c in CLASSES]
    )[industry]
    online = np.full(n, NO_DAY, np.int32)
    on = np.flatnonzero(rng.random(n) < prop)
    s_on = np.maximum(est[on], start)
    online[on] = (s_on + rng.random(on.size) * 0.8 * np.maximum(end - s_on, 0)).astype(np.int32)
    grp_food = np.array([c in PLATFORM_GROUP_FOOD for c in CLASSES])[industry]
    grp_serv = np.array([c in PLATFORM_GROUP_SERVICE for c in CLASSES])[industry]
    pf, pr, ps = ([names.PLATFORMS.index(p) for p in group] for group in
                  (names.PLATFORMS_FOOD, names.PLATFORMS_RETAIL, names.PLATFORMS_SERVICE))
    platform = np.where(
        grp_food, rng.choice(pf, n), np.where(grp_serv, rng.choice(ps, n), rng.choice(pr, n))
    ).astype(np.int32)

    # ---- names: prefix + 字号 + industry word + suffix
    nc = len(counties)
    prefix = np.where(rng.random(n) < 0.6, county, nc + county).astype(np.int32)  # enterprise, cooperative
    ind_rows = etype == INDIVIDUAL
    prefix[ind_rows] = np.where(rng.random(int(ind_rows.sum())) < 0.4, 2 * nc + county[ind_rows], 3 * nc)
    zihao = rng.integers(0, _N_PLAIN_ZIHAO, n).astype(np.int32)
    surname_style = ind_rows & (rng.random(n) < 0.3)
    zihao[surname_style] = rng.integers(_N_PLAIN_ZIHAO, len(_ZIHAO), int(surname_style.sum()))
    offs = np.array([o for o, _ in _SHOP_WORDS])[industry]
    cnt = np.array([c for _, c in _SHOP_WORDS])[industry]
    word = industry.copy()
    word[ind_rows] = (offs + (rng.random(n) * cnt).astype(np.int32))[ind_rows]
    word[coop] = _COOP_OFFSET + industry[coop]

    # ---- addresses
    road = rng.integers(0, len(_ROADS), n).astype(np.int32)
    number = rng.integers(1, 600, n).astype(np.int32)
    building = np.where(ent & (rng.random(n) < 0.15), rng.integers(0, len(names.BUILDINGS), n), -1).astype(np.int32)
    room = rng.integers(101, 2999, n).astype(np.int32)
    cl_road = rng.integers(0, len(_ROADS), n_cl)
    cl_number = rng.integers(1, 600, n_cl)
    cl_building = rng.integers(0, len(names.BUILDINGS), n_cl)
    cl_room = rng.integers(501, 2899, n_cl)
    road[members] = cl_road[cl_of_member]
    number[members] = cl_number[cl_of_member]
    building[members] = cl_building[cl_of_member]
    room[members] = cl_room[cl_of_member]

    # ---- codes
    modern = (est >= _day(date(2015, 10, 1))) & (rng.random(n) < 0.85)
    region = np.array([r.code for r in counties])[county]
    spare_region = counties[0].code
    codes = _unique_usccs(rng_for("uscc"), etype, region, modern, n_spare, spare_region)
    keys = {k: tuple(int(x) for x in rng_for("ids." + k).integers(1, 2**40, 3)) for k in ("person", "phone")}
    pop = Population(
        window=window,
        counties=counties,
        etype=etype,
        county=county,
        industry=industry,
        est=est,
        is_shell=is_shell,
        cluster=cluster,
        person=person,
        phone=phone,
        base_risk=base,
        change=change,
        risk_after=risk_after,
        capital=capital,
        employees=employees,
        revenue=revenue,
        online=online,
        platform=platform,
        address_parts={"road": road, "number": number, "building": building, "room": room},
        name_parts={"prefix": prefix, "zihao": zihao, "word": word},
        n_people=int(next_person),
        id_keys=keys,  # type: ignore[arg-type]
        uscc_codes=codes,
    )
    # towers and the shell clusters' structure: own random streams, so every draw above stays as it was
    place(pop, cw, rng_for("population.towers"), rng_for("population.shells"))
    return pop


def _cluster_sizes(rng: np.random.Generator, n_shell: int) -> np.ndarray:
    """Cluster sizes of 5-40 (mostly small) adding up to about ``n_shell`` (:mod:`.towers` splits some)."""
    if n_shell < 5:
        return np.zeros(0, np.int64)
    sizes: list[int] = []
    total = 0
    while total < n_shell:
        s = int(np.clip(5 + rng.geometric(1 / 6) - 1, 5, 40))
        s = min(s, n_shell - total) if n_shell - total >= 5 else s
        sizes.append(s)
        total += s
    return np.array(sizes, np.int64)
