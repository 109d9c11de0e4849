"""Office towers (写字楼、商务楼宇) and the structure of shell clusters in the simulated population.

Called once at the end of :func:`.population.build`, with random streams of its own, so that every
draw of the population (types, dates, risk, events) stays what it was; only addresses, names,
capital, phones and legal representatives of the entities concerned change.

* **Towers**: a few % of businesses (4% of enterprises, 1% of individual businesses) are tenants of
  benign multi-tenant office towers, several per county in the busier counties. A tower opens 1-15
  years before the end; its tenants are businesses of its county established after it opened, so
  they arrive over years, each with its own phone and people and ordinary risk. About 20% of towers
  are very large (50-300 tenants). About 35% of towers also take a *burst*: 10-20 businesses of the
  county established within one month (a new building opening), still unrelated to each other.
  Half of a tower's tenants give a room number, half the bare building address.
* **Shell clusters**: about 40% of the clusters of six or more are split in two (sizes from 3);
  the split-off part gets its own address, phone and people. Most clusters (75%) register every
  member under one trade name (字号, the name stem) and 60% give every enterprise one registered
  capital. Half the clusters in a county with a tower register at that tower's address (their
  own room): the hard case, where the address alone cannot tell them from the tenants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import names

_ENTERPRISE, _INDIVIDUAL, _COOPERATIVE = 0, 1, 2
# new people of split-off shell clusters: far above every person index the population and its
# relations table use
PERSON_OFFSET = 2**30
N_BUILDINGS = len(names.BUILDINGS)  # tower buildings are names.TOWERS, indexed after names.BUILDINGS


def place(pop: Any, county_weight: np.ndarray, rng: np.random.Generator, rng_shell: np.random.Generator) -> None:
    """Split shell clusters, give them name stems and capital, draw towers and their tenants (in place)."""
    _split_clusters(pop, rng_shell)
    meta = _towers(pop, county_weight, rng)
    _shell_traits(pop, rng_shell, meta)


def _split_clusters(pop: Any, rng: np.random.Generator) -> None:
    cl = pop.cluster
    ids = np.unique(cl[cl >= 0])
    if ids.size == 0:
        return
    ap = pop.address_parts
    next_id = int(ids.max()) + 1
    next_person = PERSON_OFFSET
    n = pop.n
    for c in ids:
        members = np.flatnonzero(cl == c)
        m = members.size
        if m < 6 or rng.random() >= 0.4:
            continue
        k = int(rng.integers(3, m - 2))
        part = np.sort(rng.permutation(members)[k:])
        cl[part] = next_id
        ap["road"][part] = rng.integers(0, int(ap["road"].max()) + 1)
        ap["number"][part] = rng.integers(1, 600)
        ap["building"][part] = rng.integers(0, N_BUILDINGS)
        ap["room"][part] = rng.integers(501, 2899)
        pool = int(rng.integers(1, 4))
        pop.person[part] = next_person + rng.integers(0, pool, part.size)
        next_person += pool
        phone = np.full(part.size, 3 * n + next_id, np.int32)
        own = rng.random(part.size) < 0.1
        phone[own] = part[own]
        pop.phone[part] = phone
        next_id += 1


def _towers(pop: Any, cw: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    n = pop.n
    w = pop.window
    ent = pop.etype == _ENTERPRISE
    eligible = ~pop.is_shell & (ent | ((pop.etype == _INDIVIDUAL) & (rng.random(n) < 0.25)))
    target = int(round(0.04 * ent.sum() + 0.01 * (pop.etype == _INDIVIDUAL).sum()))
    if target < 8:
        return None
    sizes: list[int] = []
    while sum(sizes) < target:
        sizes.append(int(rng.integers(50, 301)) if rng.random() < 0.2 else int(rng.integers(8, 50)))
    t_n = len(sizes)
    t_county = rng.choice(len(pop.counties), size=t_n, p=cw)
    t_open = (w.end - rng.integers(365, 15 * 365, t_n)).astype(np.int32)
    t_burst = rng.random(t_n) < 0.35
    n_roads = int(pop.address_parts["road"].max()) + 1
    t_road = rng.integers(0, n_roads, t_n)
    t_number = rng.integers(1, 600, t_n)
    t_building = N_BUILDINGS + rng.integers(0, len(names.TOWERS), t_n)
    order = np.argsort(pop.county, kind="stable")
    bounds = np.searchsorted(pop.county[order], np.arange(len(pop.counties) + 1))
    tower = pop.tower
    for t in range(t_n):
        idx = order[bounds[t_county[t]]: bounds[t_county[t] + 1]]
        idx = idx[eligible[idx] & (tower[idx] < 0) & (pop.est[idx] >= t_open[t])]
        if idx.size == 0:
            continue
        chosen = []
        if t_burst[t]:
            est = np.sort(pop.est[idx])
            e_idx = idx[np.argsort(pop.est[idx], kind="stable")]
            hi = np.searchsorted(est, est + 31)
            ok = np.flatnonzero(hi - np.arange(est.size) >= 10)
            if ok.size:
                s = int(ok[rng.integers(0, ok.size)])
                k = min(int(hi[s] - s), int(rng.integers(10, 21)))
                chosen.append(e_idx[s: s + k])
        rest = np.setdiff1d(idx, np.concatenate(chosen)) if chosen else idx
        chosen.append(rng.permutation(rest)[: max(0, sizes[t] - sum(c.size for c in chosen))])
        tenants = np.sort(np.concatenate(chosen))
        tower[tenants] = t
        ap = pop.address_parts
        ap["road"][tenants] = t_road[t]
        ap["number"][tenants] = t_number[t]
        ap["building"][tenants] = t_building[t]
        ap["room"][tenants] = np.where(rng.random(tenants.size) < 0.5, -1, rng.integers(101, 2999, tenants.size))
    return {"county": t_county, "road": t_road, "number": t_number, "building": t_building,
            "used": np.isin(np.arange(t_n), tower[tower >= 0])}


def _shell_traits(pop: Any, rng: np.random.Generator, meta: dict[str, np.ndarray] | None) -> None:
    cl = pop.cluster
    ids = np.unique(cl[cl >= 0])
    ap = pop.address_parts
    zihao = pop.name_parts["zihao"]
    for c in ids:
        members = np.flatnonzero(cl == c)
        if rng.random() < 0.75:  # one trade name (字号) for the cluster, a few members differ
            same = rng.random(members.size) < 0.9
            same[0] = True
            zihao[members[same]] = zihao[members[0]]
        ents = members[pop.etype[members] == _ENTERPRISE]
        if ents.size and rng.random() < 0.6:
            pop.capital[ents] = pop.capital[ents[0]]
        in_tower = rng.random() < 0.5
        if meta is None or not in_tower:
            continue
        towers = np.flatnonzero((meta["county"] == pop.county[members[0]]) & meta["used"])
        if towers.size == 0:
            continue
        t = int(towers[rng.integers(0, towers.size)])
        pop.tower[members] = t
        ap["road"][members] = meta["road"][t]
        ap["number"][members] = meta["number"][t]
        ap["building"][members] = meta["building"][t]
