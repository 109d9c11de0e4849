"""Random matching of inspectors to drawn entities (执法检查人员随机匹配).

For each drawn entity, in the order of its draw key, the inspectors are chosen from the pool of its
county-level unit (or of its city, with ``cross_county``) who are qualified for the task's domain,
minus the inspectors to avoid (回避: who inspected the same entity last time, and the configured
conflicts).  Among those, the ``per_inspection`` inspectors with the least work so far are taken,
ties broken by a seeded random order (drawn afresh at each workload level), so that the workload is balanced (max - min at
most one where nothing is avoided) and the choice is random and reproducible.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Inspector:
    inspector_id: str
    unit: str          # 6-digit GB/T 2260 code of the inspector's unit
    domains: frozenset[str]


@dataclass
class Assignment:
    inspectors: dict[str, list[str]] = field(default_factory=dict)   # uscc -> inspector ids
    unassigned: dict[str, str] = field(default_factory=dict)         # uscc -> reason
    load: dict[str, int] = field(default_factory=dict)               # inspector -> inspections
    pools: dict[str, list[str]] = field(default_factory=dict)        # pool (county or city) -> inspector ids

    def workload(self) -> tuple[int, int, int, int]:
        """(inspectors used, max, min, largest max-min spread within one pool) over the pools drawn from."""
        used = list(self.load.values())
        spread = max((max(self.load[i] for i in ids) - min(self.load[i] for i in ids)
                      for ids in self.pools.values() if ids), default=0)
        return (sum(1 for n in used if n), max(used, default=0), min(used, default=0), spread)


def _rank(seed: str, inspector_id: str, load: int) -> str:
    """Seeded random order among inspectors with the same load, shuffled again at every load level."""
    return hashlib.sha256(f"{seed}|inspector|{load}|{inspector_id}".encode()).hexdigest()


def assign(entities: list[tuple[str, str]], inspectors: list[Inspector], *, domain: str, seed: str,
           per_inspection: int = 2, cross_county: bool = False,
           avoid: dict[str, set[str]] | None = None) -> Assignment:
    """``entities``: (uscc, region_code) in draw order; ``avoid``: uscc -> inspector ids not to send."""
    avoid = avoid or {}
    qualified = [i for i in inspectors if domain in i.domains]

    def pool_key(region: str) -> str:
        return region[:4] if cross_county else region

    pools: dict[str, list[Inspector]] = defaultdict(list)
    for i in qualified:
        pools[pool_key(i.unit)].append(i)
    res = Assignment()
    heaps: dict[str, list[tuple[int, str, str]]] = {}
    for uscc, region in entities:
        key = pool_key(region)
        if key not in heaps:
            heaps[key] = [(0, _rank(seed, i.inspector_id, 0), i.inspector_id) for i in pools.get(key, [])]
            heapq.heapify(heaps[key])
            res.pools[key] = [i.inspector_id for i in pools.get(key, [])]
            for i in pools.get(key, []):
                res.load.setdefault(i.inspector_id, 0)
        heap = heaps[key]
        bad = avoid.get(uscc, set())
        taken, skipped = [], []
        while heap and len(taken) < per_inspection:
            item = heapq.heappop(heap)
            (skipped if item[2] in bad else taken).append(item)
        if len(taken) < per_inspection:
            where = f"city {key}" if cross_county else f"county {key}"
            have = len(pools.get(key, []))
            res.unassigned[uscc] = (f"{len(taken)} of {per_inspection} inspectors available in {where} "
                                    f"({have} qualified for {domain}, {len(bad & {i.inspector_id for i in pools.get(key, [])})} to avoid)")
            for item in taken + skipped:
                heapq.heappush(heap, item)
            continue
        res.inspectors[uscc] = sorted(t[2] for t in taken)
        for load, _, iid in taken:
            res.load[iid] = load + 1
            heapq.heappush(heap, (load + 1, _rank(seed, iid, load + 1), iid))
        for item in skipped:
            heapq.heappush(heap, item)
    return res
