"""Record streams (涉企信息) of the simulated province, fully vectorised.

Each stream is a point process per entity whose rate, outcome and follow-ups
depend on the entity's latent risk *on the day of the record* (risk jumps on
``Population.change``), so every stream carries a learnable but noisy signal.
Past inspections are the exception on purpose: who gets inspected depends on
what a regulator sees (random spot checks, abnormal-list listings, complaints,
earlier problem findings), only the result depends on the latent risk.
The lifecycle (annual reports, abnormal-list listings, revocation after missed
reports, deregistration) is simulated first because it decides until when an
entity exists.  All records are collected as numbers in an :class:`EventStore`
and turned into Arrow string columns chunk by chunk when written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .. import contract
from . import names
from .population import (
    ACTIVE,
    CONSUMER,
    COOPERATIVE,
    DEREGISTERED,
    DRUG,
    ENTERPRISE,
    FOOD,
    INDIVIDUAL,
    LICENSED,
    REVOKED,
    SPECIAL_EQUIPMENT,
    Population,
    RngFactory,
    ymd,
)
from .draws import RateFn, busday, categorical, first_point, poisson_points
from .strings import NO_DAY, DateStrings, fixed_width, int_strings, lookup, prefixed_numbers

EVENT_TYPES: tuple[str, ...] = tuple(contract.EVENT_TYPES)
T = {name: np.int8(i) for i, name in enumerate(EVENT_TYPES)}
RECORD_PREFIX = {
    "annual_report": "NB", "abnormal_list_in": "YC", "abnormal_list_out": "YY",
    "serious_dishonest_in": "SX", "serious_dishonest_out": "SY", "admin_penalty": "CF",
    "admin_license": "XK", "inspection": "JC", "complaint": "TS", "tax_abnormal_in": "FZ",
    "tax_abnormal_out": "FJ", "judgment_debtor_in": "BZ", "judgment_debtor_out": "BJ",
    "social_insurance": "SB", "registration_change": "BG", "credit_repair": "XF", "honor": "RY",
    "online_store": "WD", "party_building": "DJ", "type_classification": "FX",
    "tax_credit_grade": "NS", "platform_rating": "PT",
}
RECORD_DIGITS = 10
AMT_NULL = np.iinfo(np.int64).min

INSPECTION_DOMAINS = ("general", "food", "drug", "special_equipment")
SOURCES: tuple[str, ...] = (
    names.SRC_SAMR, names.SRC_TAX, names.SRC_COURT, names.SRC_HRSS, names.SRC_12315, names.SRC_COMMERCE,
    names.SRC_APPROVAL, names.SRC_ECOLOGY, names.SRC_SAFETY, names.SRC_CREDIT, names.SRC_PARTY, names.SRC_ONLINE,
) + INSPECTION_DOMAINS + names.PLATFORMS
S = {name: np.int16(i) for i, name in enumerate(SOURCES)}
PLATFORM_SOURCE0 = int(S[names.PLATFORMS[0]])

# reporting lag per source: (mean working days, share in the fat tail, share with no reported_on)
_LAG: dict[str, tuple[float, float, float]] = {
    names.SRC_SAMR: (2.0, 0.02, 0.01), names.SRC_TAX: (4.0, 0.10, 0.02), names.SRC_COURT: (5.0, 0.15, 0.03),
    names.SRC_HRSS: (6.0, 0.05, 0.02), names.SRC_12315: (1.5, 0.02, 0.05), names.SRC_COMMERCE: (4.0, 0.05, 0.03),
    names.SRC_APPROVAL: (2.0, 0.02, 0.01), names.SRC_ECOLOGY: (5.0, 0.10, 0.03), names.SRC_SAFETY: (5.0, 0.10, 0.03),
    names.SRC_CREDIT: (3.0, 0.05, 0.02), names.SRC_PARTY: (8.0, 0.20, 0.10), names.SRC_ONLINE: (3.0, 0.05, 0.05),
}
LAG = np.array([_LAG.get(s, (3.0, 0.03, 0.01) if s in INSPECTION_DOMAINS else (2.0, 0.05, 0.08)) for s in SOURCES])

HONOR_KINDS = ("famous_specialty", "award", "contract_honoring")
_YEAR0 = 1990
DETAILS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [c for codes in contract.DETAIL_CODES.values() for c in codes]
        + list(HONOR_KINDS)
        + list(names.COMPLAINT_CATEGORIES)
        + list(names.PLATFORMS)
    )
)
D = {name: np.int16(i) for i, name in enumerate(DETAILS)}
YEAR_DETAIL0 = len(DETAILS)  # report years 1990..2199 follow the codes
DETAILS_ALL: tuple[str, ...] = DETAILS + tuple(str(y) for y in range(_YEAR0, 2200))
PLATFORM_DETAIL0 = int(D[names.PLATFORMS[0]])


# ---------------------------------------------------------------------- the store
@dataclass
class EventStore:
    """All records as numbers, sorted by event date; strings are made per chunk by :meth:`table`."""

    ent: np.ndarray  # int32 entity index
    typ: np.ndarray  # int8 index into EVENT_TYPES
    day: np.ndarray  # int32 event_date
    rep: np.ndarray  # int32 reported_on (NO_DAY = empty)
    end: np.ndarray  # int32 end_date (NO_DAY = empty)
    src: np.ndarray  # int16 index into SOURCES
    det: np.ndarray  # int16 index into DETAILS_ALL (-1 = empty)
    amt: np.ndarray  # int64 amount (AMT_NULL = empty)
    seq: np.ndarray  # int64 record number within the event type

    COLUMNS = ("record_id", "uscc", "event_type", "event_date", "reported_on", "source", "detail", "amount", "end_date")

    def __len__(self) -> int:
        return int(self.ent.size)

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.typ, minlength=len(EVENT_TYPES))
        return {name: int(c[i]) for i, name in enumerate(EVENT_TYPES)}

    def table(self, sel: slice | np.ndarray, uscc: np.ndarray, dates: DateStrings) -> pa.Table:
        """Rows ``sel`` as an Arrow table of strings; ``uscc`` is the ``(n, 18)`` entity code matrix."""
        typ = self.typ[sel]
        prefixes = np.frombuffer("".join(RECORD_PREFIX[t] for t in EVENT_TYPES).encode(), np.uint8).reshape(-1, 2)
        det = self.det[sel]
        amt = self.amt[sel]
        return pa.table(
            {
                "record_id": prefixed_numbers(prefixes[typ], self.seq[sel], RECORD_DIGITS),
                "uscc": fixed_width(uscc[self.ent[sel]]),
                "event_type": lookup(_EVENT_TYPE_ARRAY, typ.astype(np.int32)),
                "event_date": dates(self.day[sel]),
                "reported_on": dates(self.rep[sel]),
                "source": lookup(_SOURCE_ARRAY, self.src[sel].astype(np.int32)),
                "detail": lookup(_DETAIL_ARRAY, det.astype(np.int32), det < 0),
                "amount": int_strings(amt, amt == AMT_NULL),
                "end_date": dates(self.end[sel]),
            }
        )


_EVENT_TYPE_ARRAY = pa.array(list(EVENT_TYPES), type=pa.string())
_SOURCE_ARRAY = pa.array(list(SOURCES), type=pa.string())
_DETAIL_ARRAY = pa.array(list(DETAILS_ALL), type=pa.string())


class Collector:
    """Accumulates streams, keeping only records of existing entities that were delivered by the end.

    ``add`` drops records outside the entity's life or the window and draws the
    reporting lag (``reported_on``); :meth:`finish` sorts by event date and numbers
    the records per event type.  Columns are kept in per-column lists so that
    concatenation never holds two full copies of the table.
    """

    _NAMES = ("ent", "typ", "day", "rep", "end", "src", "det", "amt")

    def __init__(self, pop: Population, rng: np.random.Generator) -> None:
        self.pop = pop
        self.rng = rng
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in self._NAMES}
        self._from: np.ndarray | None = None
        self._until: np.ndarray | None = None

    def add(
        self,
        typ: str,
        ent: np.ndarray,
        day: np.ndarray,
        src: np.ndarray | int,
        det: np.ndarray | int | None = None,
        amt: np.ndarray | None = None,
        end: np.ndarray | None = None,
        *,
        workday: bool = False,
    ) -> None:
        if self._from is None or self._until is None:
            if not self.pop.lifecycle_done:
                raise RuntimeError("the lifecycle must set closures before records are added")
            self._from, self._until = self.pop.exists_from(), self.pop.exists_until()
        n = ent.size
        if n == 0:
            return
        day = np.asarray(day, dtype=np.int32)
        if workday:
            day = busday(day)

        def full(v: np.ndarray | int | None, fill: int, dt: type) -> np.ndarray:
            return np.full(n, fill, dt) if v is None else np.broadcast_to(np.asarray(v, dt), (n,))

        src_a = full(src, 0, np.int16)
        keep = (day >= self._from[ent]) & (day < self._until[ent])
        # reported_on: a lag of 0-15 working days, a fat tail for some sources, sometimes empty
        s_k = src_a[keep]
        k = int(keep.sum())
        lag_p = LAG[s_k]
        u = self.rng.random(k)
        lag = np.minimum(np.floor(self.rng.exponential(1.0, k) * lag_p[:, 0]), 15)
        tail = u < lag_p[:, 1]
        lag[tail] = 16 + np.floor(self.rng.exponential(60.0, int(tail.sum())))
        d_k = day[keep]
        rep = busday(d_k, lag.astype(np.int64))
        rep[(u >= lag_p[:, 1]) & (u < lag_p[:, 1] + lag_p[:, 2])] = NO_DAY
        delivered = (rep == NO_DAY) | (rep <= self.pop.window.end)  # not yet delivered at the end: not exported
        sel = np.flatnonzero(keep)[delivered]
        c = self.cols
        c["ent"].append(ent[sel].astype(np.int32))
        c["typ"].append(np.full(sel.size, T[typ], np.int8))
        c["day"].append(day[sel])
        c["rep"].append(rep[delivered])
        c["end"].append(full(end, NO_DAY, np.int32)[sel])
        c["src"].append(src_a[sel])
        c["det"].append(full(det, -1, np.int16)[sel])
        c["amt"].append(full(amt, AMT_NULL, np.int64)[sel])

    def finish(self) -> EventStore:
        out: dict[str, np.ndarray] = {}
        for k in self._NAMES:
            out[k] = np.concatenate(self.cols[k]) if self.cols[k] else np.zeros(0, np.int32)
            self.cols[k] = []
        order = np.argsort(out["day"], kind="stable")
        for k in self._NAMES:
            out[k] = out[k][order]
        del order
        typ = out["typ"]
        seq = np.zeros(typ.size, np.int64)
        for t in range(len(EVENT_TYPES)):
            m = typ == t
            seq[m] = np.arange(1, int(m.sum()) + 1)
        return EventStore(seq=seq, **out)


# ---------------------------------------------------------------------- streams
def simulate(pop: Population, rng_for: RngFactory) -> EventStore:
    """Run the lifecycle (sets ``pop.status`` / ``pop.closed``) and every record stream."""
    col = Collector(pop, rng_for("events.lag"))
    listings = _lifecycle(pop, col, rng_for("events.lifecycle"))
    # complaints come before inspections: regulators target what they can see (listings, complaints)
    complaints = _complaints_and_penalties(pop, col, rng_for("events.penalty"))
    _inspections(pop, col, rng_for("events.inspection"), listings, complaints)
    _licences(pop, col, rng_for("events.licence"))
    _registration_changes(pop, col, rng_for("events.change"))
    _social_insurance(pop, col, rng_for("events.social"))
    _tax_credit(pop, col, rng_for("events.taxgrade"))
    _lists(pop, col, rng_for("events.lists"))
    _positive(pop, col, rng_for("events.positive"))
    _online(pop, col, rng_for("events.online"))
    _type_classification(pop, col, rng_for("events.typeclass"))
    return col.finish()


def _risk_grid(pop: Population, days: np.ndarray) -> np.ndarray:
    """Risk of every entity (rows) on each of ``days`` (columns)."""
    return np.where(days[None, :] >= pop.change[:, None], pop.risk_after[:, None], pop.base_risk[:, None])


def _lifecycle(pop: Population, col: Collector, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Annual reports, abnormal-list listings, revocation and deregistration.

    Returns ``(entity index, day)`` of the abnormal-list listings for a missed annual report
    (they trigger targeted inspections).
    """
    w = pop.window
    n = pop.n
    years = w.report_years
    m = years.size
    shell = pop.is_shell[:, None]
    coop = (pop.etype == COOPERATIVE)[:, None]
    dec31 = ymd(years, 12, 31)
    jan1 = ymd(years + 1, 1, 1)
    jul1 = ymd(years + 1, 7, 1)
    due = pop.est[:, None] <= dec31[None, :]
    r = _risk_grid(pop, jul1 - 30)
    p_miss = np.clip(0.002 + 0.4 * r**1.5 + 0.35 * shell + 0.08 * coop, 0, 0.97)
    miss = due & (rng.random((n, m)) < p_miss)
    late = due & ~miss & (rng.random((n, m)) < 0.005 + 0.2 * r**1.3)
    on_time = jan1[None, :] + np.floor(181 * rng.beta(2.2, 1.2, (n, m))).astype(np.int32)
    late_day = jul1[None, :] + 1 + np.minimum(np.floor(rng.exponential(70.0, (n, m))), 540).astype(np.int32)
    filed_on = np.where(late, late_day, on_time)
    listing = busday(jul1[None, :] + rng.integers(0, 10, (n, m)).astype(np.int32))
    listed = due & (miss | (late & (filed_on >= listing)))

    # revocation: often after two consecutive missed reports
    revoke = np.full(n, NO_DAY, np.int32)
    if m >= 2:
        both = miss[:, :-1] & miss[:, 1:]
        p_rev = 0.35 + 0.35 * shell + 0.1 * coop
        cand = both & (rng.random((n, m - 1)) < p_rev)
        day = listing[:, 1:] + rng.integers(90, 720, (n, m - 1)).astype(np.int32)
        first_rev = np.where(cand, day, NO_DAY).min(axis=1)
        has = first_rev != NO_DAY
        revoke[has] = busday(first_rev[has])
        revoke[revoke > w.end] = NO_DAY
    # deregistration: a hazard that grows with risk (individual businesses churn more)
    type_mult = np.array([1.0, 1.7, 1.3])[pop.etype] * np.where(pop.is_shell, 2.0, 1.0)
    start = np.maximum(pop.est + 60, w.start).astype(np.int32)
    stop = np.full(n, w.end + 1, np.int32)
    dereg = first_point(rng, pop, start, stop, lambda risk: (0.005 + 0.035 * risk) * type_mult)
    pop.closed = np.minimum(revoke, dereg).astype(np.int32)
    status = np.where(revoke <= dereg, REVOKED, DEREGISTERED)
    pop.status = np.where(pop.closed == NO_DAY, ACTIVE, status).astype(np.int8)
    pop.lifecycle_done = True

    # annual reports (detail = report year, amount = revenue; all-zero reports for shells)
    ii, jj = np.nonzero(due & ~miss)
    rr = r[ii, jj]
    y = years[jj]
    growth = 0.05 - 0.3 * (pop.base_risk[ii] - 0.17)
    rev = pop.revenue[ii] * np.exp(growth * (y - years[0])) * rng.lognormal(0.0, 0.25, ii.size)
    rev *= np.where(jul1[jj] - 180 >= pop.change[ii], 0.45, 1.0)
    amount = np.round(rev).astype(np.int64)
    zero = rng.random(ii.size) < np.where(pop.is_shell[ii], 0.7, 0.02 + 0.25 * rr**2)
    amount[zero] = 0
    hidden = rng.random(ii.size) < np.where(pop.etype[ii] == INDIVIDUAL, 0.35, 0.08)
    amount[hidden] = AMT_NULL
    col.add("annual_report", ii, filed_on[ii, jj], S[names.SRC_SAMR], YEAR_DETAIL0 + (y - _YEAR0), amount)

    # abnormal list for a missed report, removed after a late filing (sometimes with credit repair)
    li, lj = np.nonzero(listed)
    col.add("abnormal_list_in", li, listing[li, lj], S[names.SRC_SAMR], D["no_annual_report"])
    oi, oj = np.nonzero(listed & late)
    out_day = busday(filed_on[oi, oj], rng.integers(1, 15, oi.size))
    col.add("abnormal_list_out", oi, out_day, S[names.SRC_SAMR], D["no_annual_report"])
    rep = rng.random(oi.size) < 0.15
    col.add("credit_repair", oi[rep], busday(out_day[rep], rng.integers(3, 30, int(rep.sum()))), S[names.SRC_CREDIT])

    # three years on the abnormal list -> serious illegal and dishonest list (first time only)
    # (enforced for some: many are revoked or deregistered first)
    si, sj = np.nonzero(miss & (rng.random((n, m)) < np.where(shell, 0.6, 0.3)))
    sd = listing[si, sj] + 3 * 365 + 1 + rng.integers(0, 30, si.size)
    first_sd = np.full(n, NO_DAY, np.int32)
    np.minimum.at(first_sd, si, sd.astype(np.int32))
    has_sd = np.flatnonzero(first_sd <= w.end)
    sd_day = busday(first_sd[has_sd])
    col.add("serious_dishonest_in", has_sd, sd_day, S[names.SRC_SAMR], end=sd_day + 3 * 365)
    out = rng.random(has_sd.size) < 0.15
    sd_out = busday(sd_day[out] + rng.integers(200, 700, int(out.sum())).astype(np.int32))
    col.add("serious_dishonest_out", has_sd[out], sd_out, S[names.SRC_SAMR])
    rep = rng.random(sd_out.size) < 0.7
    col.add("credit_repair", has_sd[out][rep], busday(sd_out[rep], rng.integers(3, 30, int(rep.sum()))),
            S[names.SRC_CREDIT])

    # revocation of the business licence is itself an administrative penalty
    rv = np.flatnonzero(pop.status == REVOKED)
    col.add("admin_penalty", rv, pop.closed[rv], S[names.SRC_SAMR], D["revocation"])
    return li.astype(np.int32), listing[li, lj].astype(np.int32)


def inspection_outcome_weights(r: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """Relative weights of the inspection results (contract order: pass, corrected, problem,
    unreachable, refused, not_operating) for latent risk ``r``; shells are seldom found."""
    return np.stack(
        [
            0.85 * (1 - r) ** 2 + 0.05,  # pass
            0.10 + 0.25 * r,  # corrected
            0.02 + 0.35 * r**1.5,  # problem
            0.01 + 0.20 * r**2 + 0.6 * shell,  # unreachable
            0.005 + 0.05 * r,  # refused
            0.01 + 0.10 * r**2 + 0.3 * shell,  # not_operating
        ],
        axis=1,
    )


# Past inspections (see docs/simulate.md): a small random share, the rest triggered by what a
# regulator can see (a listing for a missed annual report, complaints, an earlier problem finding).
# The latent risk decides the outcome, not who is inspected.
RANDOM_INSPECTION_RATE = 0.05  # double-random spot checks per entity and year
RANDOM_INSPECTION_EXTRA = {"food": 0.03, "drug": 0.03, "special_equipment": 0.015}  # per year, on top
P_INSPECT_AFTER_LISTING = 0.35  # an abnormal-list listing for a missed annual report
LISTING_DELAY_DAYS = (14, 90)  # [low, high) calendar days after the listing
P_INSPECT_AFTER_COMPLAINT = 0.25  # per complaint
COMPLAINT_DELAY_DAYS = (10, 41)
P_FOLLOW_UP_PROBLEM = 0.3  # re-inspection after a problem finding
FOLLOW_UP_DELAY_DAYS = (30, 121)
_MAX_FOLLOW_UP_ROUNDS = 8


def _inspections(
    pop: Population,
    col: Collector,
    rng: np.random.Generator,
    listings: tuple[np.ndarray, np.ndarray],
    complaints: tuple[np.ndarray, np.ndarray],
) -> None:
    """Past inspections: random spot checks plus inspections triggered by visible records.

    ``listings`` and ``complaints`` are ``(entity index, day)`` of the abnormal-list listings
    for a missed annual report and of the complaints.  The outcome of every inspection follows
    :func:`inspection_outcome_weights` of the entity's latent risk on its day; problems are
    followed up by a re-inspection sometimes (in rounds, each vectorised).
    """
    s, e = pop.exists_from(), pop.exists_until()
    food, drug, se = pop.in_group(FOOD), pop.in_group(DRUG), pop.in_group(SPECIAL_EQUIPMENT)
    x = RANDOM_INSPECTION_EXTRA
    rate = RANDOM_INSPECTION_RATE + x["food"] * food + x["drug"] * drug + x["special_equipment"] * se
    r_idx, r_day = poisson_points(rng, pop, s, e, lambda risk: rate)

    li, ld = listings
    hit = rng.random(li.size) < P_INSPECT_AFTER_LISTING
    l_idx, l_day = li[hit], ld[hit] + rng.integers(*LISTING_DELAY_DAYS, int(hit.sum())).astype(np.int32)

    ci, cd = complaints
    hit = rng.random(ci.size) < P_INSPECT_AFTER_COMPLAINT
    c_idx, c_day = ci[hit], cd[hit] + rng.integers(*COMPLAINT_DELAY_DAYS, int(hit.sum())).astype(np.int32)

    idx = np.concatenate([r_idx, l_idx, c_idx]).astype(np.int32)
    day = np.concatenate([r_day, l_day, c_day]).astype(np.int32)
    codes = np.array([D[c] for c in contract.DETAIL_CODES["inspection"]], np.int16)
    for _ in range(_MAX_FOLLOW_UP_ROUNDS):
        day = busday(day)
        alive = (day >= s[idx]) & (day < e[idx])
        idx, day = idx[alive], day[alive]
        if idx.size == 0:
            break
        outcome = _inspection_batch(pop, col, rng, idx, day, codes)
        follow = (outcome == 2) & (rng.random(idx.size) < P_FOLLOW_UP_PROBLEM)
        idx = idx[follow]
        day = day[follow] + rng.integers(*FOLLOW_UP_DELAY_DAYS, int(follow.sum())).astype(np.int32)


def _inspection_batch(
    pop: Population, col: Collector, rng: np.random.Generator, idx: np.ndarray, day: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Record inspections of ``idx`` on working days ``day`` and their consequences; returns the outcomes."""
    food, drug, se = pop.in_group(FOOD), pop.in_group(DRUG), pop.in_group(SPECIAL_EQUIPMENT)
    r = pop.risk_at(idx, day)
    shell = pop.is_shell[idx]
    u = rng.random(idx.size)
    domain = np.zeros(idx.size, np.int16)  # general
    domain[food[idx] & (u < 0.55)] = 1
    domain[drug[idx] & (u < 0.6)] = 2
    domain[se[idx] & ~food[idx] & (u > 0.75)] = 3
    outcome = categorical(rng, inspection_outcome_weights(r, shell))
    col.add("inspection", idx, day, S["general"] + domain, codes[outcome])

    # unreachable at the registered address -> abnormal list; some later removed
    un = outcome == 3
    ui = idx[un]
    listed = rng.random(ui.size) < 0.85
    ui, ud = ui[listed], busday(day[un][listed], rng.integers(5, 25, int(listed.sum())))
    col.add("abnormal_list_in", ui, ud, S[names.SRC_SAMR], D["unreachable_address"])
    out = rng.random(ui.size) < 0.3
    od = busday(ud[out], rng.integers(20, 280, int(out.sum())))
    col.add("abnormal_list_out", ui[out], od, S[names.SRC_SAMR], D["unreachable_address"])
    rep = rng.random(od.size) < 0.3
    col.add("credit_repair", ui[out][rep], busday(od[rep], rng.integers(3, 30, int(rep.sum()))), S[names.SRC_CREDIT])
    # problems found -> some penalties
    pb = (outcome == 2) & (rng.random(idx.size) < 0.45)
    _penalties(col, rng, idx[pb], busday(day[pb], rng.integers(10, 60, int(pb.sum()))), r[pb])
    return outcome


def _penalties(col: Collector, rng: np.random.Generator, idx: np.ndarray, day: np.ndarray, r: np.ndarray) -> None:
    weights = np.stack(
        [0.35 - 0.1 * r, 0.45 + 0 * r, 0.10 + 0 * r, 0.04 + 0.1 * r, 0.005 + 0.04 * r], axis=1
    )
    kind = categorical(rng, weights)  # warning, fine, confiscation, suspension, revocation
    codes = np.array([D[c] for c in contract.DETAIL_CODES["admin_penalty"]], np.int16)
    fine = np.maximum(200, np.round(rng.lognormal(np.log(3000) + 1.5 * r, 1.0), -2)).astype(np.int64)
    amount = np.where((kind == 1) | (kind == 2) | ((kind == 3) & (rng.random(idx.size) < 0.5)), fine, AMT_NULL)
    src = np.array([S[names.SRC_SAMR], S[names.SRC_TAX], S[names.SRC_ECOLOGY], S[names.SRC_SAFETY]])
    which = src[categorical(rng, np.tile([0.8, 0.1, 0.05, 0.05], (idx.size, 1)))]
    col.add("admin_penalty", idx, day, which, codes[kind], amount, workday=True)


def _complaints_and_penalties(
    pop: Population, col: Collector, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Complaints (12315), penalties after some substantiated ones, penalties from other cases.

    Returns ``(entity index, day)`` of the complaints (they trigger targeted inspections).
    """
    s, e = pop.exists_from(), pop.exists_until()
    factor = np.where(pop.in_group(CONSUMER), 1.6, 0.5)
    idx, day = poisson_points(rng, pop, s, e, lambda risk: (0.1 + 0.6 * risk**1.2) * factor)
    r = pop.risk_at(idx, day)
    food = pop.in_group(FOOD)[idx]
    cats = np.array([D[c] for c in names.COMPLAINT_CATEGORIES], np.int16)
    w = np.tile(np.array([0.02, 0.2, 0.2, 0.15, 0.2, 0.12, 0.05, 0.06]), (idx.size, 1))
    w[food, 0] = 0.6
    category = cats[categorical(rng, w)]
    u = rng.random(idx.size)
    substantiated = rng.random(idx.size) < 0.15 + 0.6 * r
    amount = np.where(u < 0.2, AMT_NULL, substantiated.astype(np.int64))
    col.add("complaint", idx, day, S[names.SRC_12315], category, amount)
    complaints = (idx, day)
    fu = substantiated & (u >= 0.2) & (rng.random(idx.size) < 0.12)
    _penalties(col, rng, idx[fu], busday(day[fu], rng.integers(10, 60, int(fu.sum()))), r[fu])
    # penalties from other sources of cases
    idx, day = poisson_points(rng, pop, s, e, lambda risk: 0.004 + 0.18 * risk**2)
    _penalties(col, rng, idx, day, pop.risk_at(idx, day))
    return complaints


def _licences(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """Licences valid five years: granted, renewed, expired when not renewed (more often when risky)."""
    w = pop.window
    lic = np.flatnonzero(pop.in_group(LICENSED))
    lic = np.sort(np.concatenate([lic, lic[rng.random(lic.size) < 0.6]]))  # some hold two licences
    k = 5
    first = pop.est[lic] + rng.integers(5, 60, lic.size).astype(np.int32)
    step = 1826 - rng.integers(0, 30, (lic.size, k)).astype(np.int32)
    step[:, 0] = 0
    granted = first[:, None] + np.cumsum(step, axis=1)
    expires = granted + 1825
    # renewal decision at each expiry; the first refusal ends the chain
    risk = np.where(expires >= pop.change[lic, None], pop.risk_after[lic, None], pop.base_risk[lic, None])
    renew = rng.random((lic.size, k)) < 0.97 - 0.7 * risk
    alive = np.concatenate([np.ones((lic.size, 1), bool), np.cumprod(renew[:, :-1], axis=1).astype(bool)], axis=1)
    gi, gk = np.nonzero(alive & (granted <= w.end))
    col.add("admin_license", lic[gi], granted[gi, gk], S[names.SRC_APPROVAL], D["granted"], end=expires[gi, gk],
            workday=True)
    ei, ek = np.nonzero(alive & ~renew & (expires < w.end))
    col.add("admin_license", lic[ei], expires[ei, ek] + 1, S[names.SRC_APPROVAL], D["expired"], end=expires[ei, ek])
    # rare revocations of a licence for risky holders
    sub = np.zeros(pop.n, bool)
    sub[lic] = True
    idx, day = poisson_points(rng, pop, pop.exists_from(), pop.exists_until(), lambda r: sub * 0.06 * r**2)
    col.add("admin_license", idx, day, S[names.SRC_SAMR], D["revoked"], workday=True)


def _registration_changes(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """变更登记; risky entities churn (legal representative, address)."""
    shell = 0.3 * pop.is_shell
    idx, day = poisson_points(rng, pop, pop.exists_from(), pop.exists_until(), lambda r: 0.22 + 0.7 * r + shell)
    r = pop.risk_at(idx, day)
    indiv = pop.etype[idx] == INDIVIDUAL
    # legal_rep, address, name, capital, scope, shareholder
    w = np.stack([0.15 + 0.3 * r, 0.15 + 0.25 * r, 0.05 + 0 * r, 0.12 + 0 * r, 0.35 - 0.2 * r, 0.18 + 0 * r], axis=1)
    w[indiv, 0] = 0.02
    w[indiv, 3] = 0.0
    w[indiv, 5] = 0.0
    codes = np.array([D[c] for c in contract.DETAIL_CODES["registration_change"]], np.int16)
    col.add("registration_change", idx, day, S[names.SRC_SAMR], codes[categorical(rng, w)], workday=True)


def _social_insurance(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """Insured headcount at the end of June and December; declining for risky employers."""
    w = pop.window
    emp = np.flatnonzero(pop.employees > 0)
    ys = w.calendar_years
    days = np.sort(np.concatenate([ymd(ys, 6, 30), ymd(ys, 12, 31)]))
    days = days[(days >= w.start) & (days <= w.end)]
    ok = (pop.est[emp, None] <= days[None, :] - 30) & (rng.random((emp.size, days.size)) > 0.03)
    ei, dj = np.nonzero(ok)
    idx = emp[ei]
    day = days[dj]
    t = (day - w.start) / 365.25
    growth = 0.05 - 0.4 * (pop.base_risk[idx] - 0.17)
    decline = np.maximum(0, day - pop.change[idx].astype(np.int64)) / 365.25
    head = pop.employees[idx] * np.exp(growth * t - 0.8 * decline) * rng.lognormal(0, 0.1, idx.size)
    head = np.where(pop.is_shell[idx] & (t > 0.5), 0, head)
    col.add("social_insurance", idx, day, S[names.SRC_HRSS], amt=np.round(head).astype(np.int64))


def _tax_credit(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """纳税信用等级 each April for enterprises and some individual businesses: A/B/M/C/D by risk (M: new)."""
    w = pop.window
    graded = (pop.etype == ENTERPRISE) | ((pop.etype == INDIVIDUAL) & (rng.random(pop.n) < 0.35))
    ent = np.flatnonzero(graded)
    ys = w.calendar_years
    days = ymd(ys, 4, 20)
    ok = pop.est[ent, None] <= ymd(ys - 1, 12, 31)[None, :]
    ei, yj = np.nonzero(ok)
    idx = ent[ei]
    day = days[yj] + rng.integers(0, 10, idx.size).astype(np.int32)
    r = pop.risk_at(idx, day)
    score = r + rng.normal(0, 0.1, idx.size)
    grade = np.select([score < 0.08, score < 0.3, score < 0.5], [0, 1, 3], 4)  # A B C D (M = 2)
    new = pop.est[idx] >= ymd(ys[yj] - 1, 1, 1)
    grade[(new & (rng.random(idx.size) < 0.8)) | (rng.random(idx.size) < 0.06)] = 2
    codes = np.array([D[c] for c in contract.DETAIL_CODES["tax_credit_grade"]], np.int16)
    col.add("tax_credit_grade", idx, day, S[names.SRC_TAX], codes[grade], workday=True)


def _in_out(
    col: Collector, rng: np.random.Generator, pop: Population, kind: str, source: str, rate: RateFn,
    p_out: float, out_days: tuple[int, int], p_repair: float, end_days: int | None = None,
) -> None:
    """A listing (``<kind>_in``), its removal for some (``<kind>_out``) and credit repair after some removals."""
    idx, day = poisson_points(rng, pop, pop.exists_from(), pop.exists_until(), rate)
    day = busday(day)
    end = day + end_days if end_days else None
    col.add(f"{kind}_in", idx, day, S[source], end=end)
    out = rng.random(idx.size) < p_out
    od = busday(day[out] + rng.integers(*out_days, int(out.sum())).astype(np.int32))
    col.add(f"{kind}_out", idx[out], od, S[source])
    rep = rng.random(od.size) < p_repair
    col.add("credit_repair", idx[out][rep], busday(od[rep], rng.integers(3, 40, int(rep.sum()))), S[names.SRC_CREDIT])


def _lists(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """Tax non-compliance, court defaulters and the serious-dishonesty list: rare, for risky entities."""
    tmult = np.array([1.0, 0.5, 0.5])[pop.etype]
    shell = pop.is_shell
    _in_out(col, rng, pop, "tax_abnormal", names.SRC_TAX,
            lambda r: (0.003 + 0.12 * r**2.5 + 0.3 * shell) * tmult, 0.45, (30, 400), 0.3)
    jmult = np.array([1.0, 0.6, 0.4])[pop.etype]
    _in_out(col, rng, pop, "judgment_debtor", names.SRC_COURT,
            lambda r: (0.002 + 0.05 * r**2) * jmult, 0.55, (60, 900), 0.0)
    _in_out(col, rng, pop, "serious_dishonest", names.SRC_SAMR,
            lambda r: 0.0003 + 0.01 * r**3, 0.25, (365, 1100), 0.7, end_days=3 * 365)


def _positive(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """Honours (low-risk entities) and party-building organisations."""
    tm = np.array([1.2, 0.8, 1.0])[pop.etype] * ~pop.is_shell
    idx, day = poisson_points(rng, pop, pop.exists_from(), pop.exists_until(), lambda r: 0.035 * (1 - r) ** 6 * tm)
    indiv = pop.etype[idx] == INDIVIDUAL
    w = np.where(indiv[:, None], [0.7, 0.3, 0.0], [0.2, 0.4, 0.4])
    kinds = np.array([D[k] for k in HONOR_KINDS], np.int16)
    src = np.where(rng.random(idx.size) < 0.8, S[names.SRC_SAMR], S[names.SRC_COMMERCE])
    col.add("honor", idx, day, src, kinds[categorical(rng, w)], workday=True)
    cand = np.flatnonzero((pop.etype == ENTERPRISE) & (pop.employees >= 10) & ~pop.is_shell)
    cand = cand[rng.random(cand.size) < 0.2]
    s, e = pop.exists_from()[cand], pop.exists_until()[cand]
    day = (s + rng.random(cand.size) * np.maximum(e - s, 0)).astype(np.int32)
    col.add("party_building", cand, day, S[names.SRC_PARTY], workday=True)


def _online(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """Online stores and quarterly platform ratings (lower when risky)."""
    w = pop.window
    on = np.flatnonzero(pop.online != NO_DAY)
    plat = pop.platform[on]
    col.add("online_store", on, pop.online[on], S[names.SRC_ONLINE], PLATFORM_DETAIL0 + plat)
    ys = w.calendar_years
    days = np.sort(np.concatenate([ymd(ys, 3, 31), ymd(ys, 6, 30), ymd(ys, 9, 30), ymd(ys, 12, 31)]))
    days = days[(days >= w.start) & (days <= w.end)]
    ok = (pop.online[on, None] <= days[None, :] - 30) & (rng.random((on.size, days.size)) > 0.1)
    oi, dj = np.nonzero(ok)
    idx, day = on[oi], days[dj]
    r = pop.risk_at(idx, day)
    rating = np.clip(np.round(96 - 40 * r + rng.normal(0, 4, idx.size)), 0, 100).astype(np.int64)
    col.add("platform_rating", idx, day, PLATFORM_SOURCE0 + pop.platform[idx], PLATFORM_DETAIL0 + pop.platform[idx],
            rating)


def _type_classification(pop: Population, col: Collector, rng: np.random.Generator) -> None:
    """分型分类 of individual businesses each December: survival / growth / development."""
    w = pop.window
    ind = np.flatnonzero(pop.etype == INDIVIDUAL)
    ys = w.calendar_years
    base = ymd(ys, 12, 1)
    ok = pop.est[ind, None] <= base[None, :] - 180
    ii, yj = np.nonzero(ok)
    idx = ind[ii]
    day = base[yj] + rng.integers(0, 20, idx.size).astype(np.int32)
    r = pop.risk_at(idx, day)
    big = pop.revenue[idx] > 3.0e5
    wts = np.stack([0.5 + 0.45 * r, 0.35 - 0.2 * r + 0.15 * big, 0.08 * (1 - r) + 0.07 * big], axis=1)
    codes = np.array([D[c] for c in contract.DETAIL_CODES["type_classification"]], np.int16)
    col.add("type_classification", idx, day, S[names.SRC_SAMR], codes[categorical(rng, wts)], workday=True)
