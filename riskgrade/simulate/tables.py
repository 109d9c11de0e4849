"""The optional tables of a delivery: relations, inspectors and professional-domain grades."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import GRADE_SETS
from . import names
from .draws import categorical
from .population import COOPERATIVE, DRUG, ENTERPRISE, FOOD, INDIVIDUAL, Population, ymd
from .strings import NO_DAY, DateStrings, fixed_width, join, lookup, prefixed_numbers

ROLES = ("legal_rep", "shareholder", "operator", "executive")
PARTY_KINDS = ("person", "entity")


def relations(pop: Population, uscc: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """One legal representative (operator for individual businesses) per entity, shareholders, executives."""
    n = pop.n
    ent_rows, party, kind, role = [], [], [], []  # party: person index, or entity index when kind == 1

    def add(e: np.ndarray, p: np.ndarray, k: int, r: int | np.ndarray) -> None:
        ent_rows.append(e.astype(np.int32))
        party.append(p.astype(np.int64))
        kind.append(np.full(e.size, k, np.int8))
        role.append(np.broadcast_to(np.asarray(r, np.int8), e.shape))

    # the legal representative, or the operator (经营者) of an individual business
    add(np.arange(n, dtype=np.int32), pop.person, 0, np.where(pop.etype == INDIVIDUAL, 2, 0))
    next_person = pop.n_people
    # shareholders of enterprises and cooperatives
    holders = np.flatnonzero(((pop.etype == ENTERPRISE) | (pop.etype == COOPERATIVE)) & ~pop.is_shell)
    k = rng.choice([1, 2, 3], size=holders.size, p=[0.45, 0.35, 0.2])
    rep_holds = rng.random(holders.size) < 0.7
    add(holders[rep_holds], pop.person[holders[rep_holds]], 0, 1)
    new_slots = np.repeat(holders, k - rep_holds)  # remaining shareholders are other people
    add(new_slots, next_person + np.arange(new_slots.size), 0, 1)
    next_person += new_slots.size
    ents = np.flatnonzero(pop.etype == ENTERPRISE)
    if ents.size > 1:
        corp = holders[(pop.etype[holders] == ENTERPRISE) & (rng.random(holders.size) < 0.12)]
        other = ents[rng.integers(0, ents.size, corp.size)]
        clash = other == corp
        other[clash] = ents[(np.searchsorted(ents, corp[clash]) + 1) % ents.size]
        add(corp, other, 1, 1)
    # shells: the legal representative holds the shares; some hold shares of another cluster member
    shells = np.flatnonzero(pop.is_shell & (pop.etype == ENTERPRISE))
    add(shells, pop.person[shells], 0, 1)
    if shells.size:
        order = shells[np.lexsort((shells, pop.cluster[shells]))]
        nxt = np.roll(order, -1)
        same = pop.cluster[nxt] == pop.cluster[order]
        pick = same & (nxt != order) & (rng.random(order.size) < 0.3)
        add(order[pick], nxt[pick], 1, 1)
    # executives (监事/高管) of some enterprises
    ex = ents[~pop.is_shell[ents] & (rng.random(ents.size) < 0.2)]
    add(ex, next_person + np.arange(ex.size), 0, 3)

    e = np.concatenate(ent_rows)
    p = np.concatenate(party)
    kd = np.concatenate(kind)
    rl = np.concatenate(role)
    order = np.argsort(e, kind="stable")
    e, p, kd, rl = e[order], p[order], kd[order], rl[order]
    is_ent = kd == 1
    person_ids = pop.person_ids(np.where(is_ent, 0, p))
    entity_ids = fixed_width(uscc[np.where(is_ent, p, 0)])
    party_id = pc.if_else(pa.array(is_ent), entity_ids, person_ids) if is_ent.any() else person_ids
    return pa.table(
        {
            "uscc": fixed_width(uscc[e]),
            "party_id": party_id,
            "party_kind": lookup(PARTY_KINDS, kd.astype(np.int32)),
            "role": lookup(ROLES, rl.astype(np.int32)),
        }
    )


def inspectors(pop: Population, rng: np.random.Generator) -> pa.Table:
    """About one inspector per 400 entities, at least four per county-level unit."""
    nc = len(pop.counties)
    per_county = np.maximum(4, np.round(np.bincount(pop.county, minlength=nc) / 400)).astype(np.int64)
    unit = np.repeat(np.arange(nc, dtype=np.int32), per_county)
    m = unit.size
    ids = np.sort(rng.choice(900_000, size=m, replace=False) + 100_000)
    surname = rng.integers(0, len(names.SURNAMES), m)
    g1 = rng.integers(0, len(names.GIVEN_CHARS), m)
    g2 = rng.integers(0, len(names.GIVEN_CHARS) + 1, m)  # the last value: a one-character given name
    given = list(names.GIVEN_CHARS) + [""]
    domains = ("general", "general;food", "food", "general;drug", "general;special_equipment", "drug",
               "general;food;drug")
    d = categorical(rng, np.tile([0.35, 0.28, 0.1, 0.1, 0.1, 0.04, 0.03], (m, 1)))
    return pa.table(
        {
            "inspector_id": prefixed_numbers(np.frombuffer(b"I", np.uint8), ids, 6),
            "name": join(lookup(names.SURNAMES, surname), lookup(names.GIVEN_CHARS, g1), lookup(given, g2)),
            "unit_region_code": lookup([c.code for c in pop.counties], unit),
            "domains": lookup(domains, d),
        }
    )


def domain_grades(pop: Population, uscc: np.ndarray, dates: DateStrings, rng: np.random.Generator) -> pa.Table:
    """Food-safety and drug risk grades (A-D) at the two most recent year ends, by latent risk."""
    w = pop.window
    as_of = ymd(np.array([w.end_date.year - 2, w.end_date.year - 1]), 12, 31)
    as_of = as_of[as_of <= w.end]
    rows_e, rows_d, rows_dom = [], [], []
    for dom, group in (("food", FOOD), ("drug", DRUG)):
        members = np.flatnonzero(pop.in_group(group))
        for day in as_of:
            alive = (pop.est[members] <= day - 30) & ((pop.closed[members] == NO_DAY) | (pop.closed[members] > day))
            sel = members[alive]
            rows_e.append(sel)
            rows_d.append(np.full(sel.size, day, np.int32))
            rows_dom.append(np.full(sel.size, 0 if dom == "food" else 1, np.int32))
    e = np.concatenate(rows_e) if rows_e else np.zeros(0, np.int32)
    d = np.concatenate(rows_d) if rows_d else np.zeros(0, np.int32)
    dom = np.concatenate(rows_dom) if rows_dom else np.zeros(0, np.int32)
    order = np.lexsort((d, dom, e))
    e, d, dom = e[order], d[order], dom[order]
    score = pop.risk_at(e, d) + rng.normal(0, 0.1, e.size)
    grade = np.select([score < 0.15, score < 0.35, score < 0.6], [0, 1, 2], 3).astype(np.int32)
    return pa.table(
        {
            "uscc": fixed_width(uscc[e]) if e.size else pa.array([], pa.string()),
            "domain": lookup(("food", "drug"), dom),
            "grade": lookup(GRADE_SETS["four"], grade),
            "as_of": dates(d),
        }
    )
