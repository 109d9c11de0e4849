"""From raw hits to alerts: de-duplication, grouping, cool-down and suppression (pure Python).

A *unit* is one raw hit: an entity hit (one entity, one triggering record), an area-month of a CUSUM
alarm (the entities complained about that month), or one member entity of a registration cluster.

* **Already alerted.** A unit whose trigger records are already trigger evidence of the rule is
  dropped: the same records never raise the same rule twice (``warn --since`` re-reads, revised
  records).
* **Stale / closed / below severity.** Units whose records are older than the reference date minus
  ``max_age_days``, about an entity closed on or before the records' date, or below
  ``min_severity`` are counted and not raised.
* **Grouping.** Cluster members linked by a shared address, phone or person (transitively) are one
  alert; an area's alarm months and an entity's hits within the cool-down form one episode.
* **Cool-down.** A unit within ``cooldown_days`` of the last alert of the same rule and group joins
  that alert (more evidence, a log entry) while it is not closed, and is suppressed when it is.
  A cluster that grows joins its open alert; a closed cluster alert is not reopened: the grown
  cluster becomes a new alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .rules import RuleCatalog, severity_rank

COUNTS = ("raw", "already", "stale", "closed_entity", "below_severity", "grouped", "cooldown_open",
          "cooldown_closed", "alerts", "extended")
SUPPRESSED = ("stale", "closed_entity", "below_severity", "grouped", "cooldown_open", "cooldown_closed")


@dataclass
class Hit:
    rule: str
    group_key: str
    uscc: str
    raised_on: dt.date
    trig_source: str
    trig_record: str
    severity: str
    info: dict
    evidence: list[dict]


@dataclass
class Existing:
    alert_id: str
    raised_on: dt.date
    status: str


@dataclass
class Outcome:
    """A new alert (``new``) or more members and evidence for an existing one."""

    alert_id: str
    rule: str
    scope: str
    group_key: str
    raised_on: dt.date
    severity: str
    info: dict
    new: bool
    members: dict[str, dt.date] = field(default_factory=dict)
    evidence: dict[tuple[str, str, str], tuple[dict, str]] = field(default_factory=dict)
    last_record_on: dt.date | None = None
    hits: int = 0

    def add(self, unit: list[Hit], member_date: dt.date | None = None) -> None:
        self.hits += 1
        for h in unit:
            if self.scope != "area":  # an area alert is about its county x industry: no entity members
                self.members.setdefault(h.uscc, member_date or self.raised_on)
            trig = (h.uscc, h.trig_source, h.trig_record)
            for e in h.evidence:
                k = (e["uscc"], e["source"], e["record_id"])
                role = "trigger" if k == trig else "context"
                if k not in self.evidence or role == "trigger":
                    self.evidence[k] = (e, role)
            if trig not in self.evidence:
                self.evidence[trig] = ({"uscc": h.uscc, "source": h.trig_source, "record_id": h.trig_record,
                                        "event_type": "trigger", "event_date": h.raised_on, "delivery_id": None},
                                       "trigger")
            if severity_rank(h.severity) > severity_rank(self.severity):
                self.severity = h.severity
            self.last_record_on = max(self.last_record_on or h.raised_on, h.raised_on,
                                      *(e["event_date"] for e in h.evidence if e["event_date"]))


def alert_id(*parts: str) -> str:
    """Deterministic alert identity: the same rule, group and triggering records give the same id."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass
class State:
    """What the store already holds about the hits' entities and groups."""

    triggered: set[tuple[str, str, str, str]]  # (rule, uscc, source, record_id) of trigger evidence
    last: dict[tuple[str, str], Existing]  # (rule, group_key) -> latest alert
    cluster_of: dict[tuple[str, str], list[Existing]]  # (rule, uscc) -> cluster alerts holding the entity
    closed_on: dict[str, dt.date]  # entities closed (deregistered / revoked) and when
    existing_ids: set[str]


class Grouper:
    def __init__(self, catalog: RuleCatalog, ref_date: dt.date, state: State):
        self.catalog = catalog
        self.ref = ref_date
        self.state = state
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.outcomes: dict[str, Outcome] = {}

    # ------------------------------------------------------------------ helpers
    def _stale(self, rule, d: dt.date) -> bool:
        age = self.catalog.max_age(rule)
        return age is not None and d < self.ref - dt.timedelta(days=age)

    def _closed(self, uscc: str, d: dt.date) -> bool:
        c = self.state.closed_on.get(uscc)
        return self.catalog.suppression.skip_closed and c is not None and c <= d

    def _below(self, severity: str) -> bool:
        return severity_rank(severity) < severity_rank(self.catalog.suppression.min_severity)

    def _triggered(self, rule: str, h: Hit) -> bool:
        return (rule, h.uscc, h.trig_source, h.trig_record) in self.state.triggered

    def _outcome(self, rule, ex: Existing, group_key: str, raised_on: dt.date, severity: str) -> Outcome:
        if ex.alert_id not in self.outcomes:
            self.outcomes[ex.alert_id] = Outcome(ex.alert_id, rule.code, rule.scope, group_key, ex.raised_on,
                                                 severity, {}, new=False)
        return self.outcomes[ex.alert_id]

    # ------------------------------------------------------------------ entity and area rules
    def episodes(self, rule, hits: list[Hit]) -> None:
        c = self.counts[rule.code]
        units: dict[tuple[str, str, str], list[Hit]] = defaultdict(list)
        for h in hits:
            units[(h.group_key, h.trig_source, h.trig_record)].append(h)
        by_group: dict[str, list[list[Hit]]] = defaultdict(list)
        for (g, _s, _r), u in units.items():
            by_group[g].append(u)
        cooldown = dt.timedelta(days=self.catalog.cooldown(rule))
        for g in sorted(by_group):
            last = self.state.last.get((rule.code, g))
            current: Outcome | None = None
            for u in sorted(by_group[g], key=lambda u: (u[0].raised_on, u[0].trig_source, u[0].trig_record)):
                h0 = u[0]
                if all(self._triggered(rule.code, h) for h in u):
                    c["already"] += 1
                    continue
                c["raw"] += 1
                sev = max((h.severity for h in u), key=severity_rank)
                if self._stale(rule, h0.raised_on):
                    c["stale"] += 1
                    continue
                if rule.scope == "entity" and self._closed(h0.uscc, h0.raised_on):
                    c["closed_entity"] += 1
                    continue
                if self._below(sev):
                    c["below_severity"] += 1
                    continue
                if current is not None and abs(h0.raised_on - current.raised_on) <= cooldown:
                    current.add(u)
                    c["grouped" if current.new else "cooldown_open"] += 1
                    continue
                if current is None and last is not None and abs(h0.raised_on - last.raised_on) <= cooldown:
                    if last.status == "closed":
                        c["cooldown_closed"] += 1
                        continue
                    current = self._outcome(rule, last, g, h0.raised_on, sev)
                    current.add(u)
                    c["cooldown_open"] += 1
                    continue
                aid = alert_id(rule.code, g, h0.trig_source, h0.trig_record)
                if aid in self.state.existing_ids:
                    c["already"] += 1
                    c["raw"] -= 1
                    continue
                current = Outcome(aid, rule.code, rule.scope, g, h0.raised_on, sev, dict(h0.info), new=True)
                current.add(u)
                self.outcomes[aid] = current
                c["alerts"] += 1

    # ------------------------------------------------------------------ registration clusters
    def clusters(self, rule, hits: list[Hit]) -> None:
        c = self.counts[rule.code]
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        first_of_key: dict[str, str] = {}
        rows: dict[str, list[Hit]] = defaultdict(list)
        for h in hits:
            rows[h.uscc].append(h)
            if h.group_key in first_of_key:
                a, b = find(h.uscc), find(first_of_key[h.group_key])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_of_key[h.group_key] = find(h.uscc)
        comps: dict[str, list[str]] = defaultdict(list)
        for u in rows:
            comps[find(u)].append(u)
        high_from = int(rule.params["high_from"])
        for root in sorted(comps):
            members = sorted(comps[root])
            fire = {u: min(h.raised_on for h in rows[u]) for u in members}
            new = [u for u in members if any(h.info.get("is_new") for h in rows[u])]
            if not new:
                continue
            fresh = [u for u in members if not any(self._triggered(rule.code, h) for h in rows[u])]
            if not fresh:
                c["already"] += len(members)
                continue
            c["raw"] += len(fresh)
            c["already"] += len(members) - len(fresh)
            raised = min(fire.values())
            sev = "high" if len(members) >= high_from else rule.severity
            if self._stale(rule, max(fire[u] for u in new)):
                c["stale"] += len(fresh)
                continue
            if all(self._closed(u, fire[u]) for u in members):
                c["closed_entity"] += len(fresh)
                continue
            if self._below(sev):
                c["below_severity"] += len(fresh)
                continue
            held = {e.alert_id: e for u in members for e in self.state.cluster_of.get((rule.code, u), [])}
            open_ = sorted((e for e in held.values() if e.status != "closed"), key=lambda e: (e.raised_on, e.alert_id))
            if open_:
                o = self._outcome(rule, open_[0], open_[0].alert_id, raised, sev)
                for u in fresh:
                    o.add(rows[u], fire[u])
                if severity_rank(sev) > severity_rank(o.severity):
                    o.severity = sev
                c["cooldown_open"] += len(fresh)
                continue
            keys = sorted({h.group_key for u in members for h in rows[u]})
            first = min(members, key=lambda u: (fire[u], u))
            aid = alert_id(rule.code, keys[0], "entities", first)
            if aid in self.state.existing_ids:
                c["already"] += len(fresh)
                c["raw"] -= len(fresh)
                continue
            # the cluster's figures (links, window, address, name stem...) as the evaluator scored them
            info = {k: v for k, v in next((h.info for u in members for h in rows[u] if "links" in h.info),
                                          {}).items() if k != "is_new"}
            info.update({"size": len(members), "keys": keys[:20], "first_registered": min(
                e["event_date"] for u in members for h in rows[u] for e in h.evidence).isoformat()})
            o = Outcome(aid, rule.code, rule.scope, keys[0], raised, sev, info, new=True)
            for u in members:
                o.add(rows[u])
            o.hits = len(fresh)
            self.outcomes[aid] = o
            c["alerts"] += 1
            c["grouped"] += len(fresh) - 1

    def result(self) -> tuple[list[Outcome], dict[str, dict[str, int]]]:
        for o in self.outcomes.values():
            if not o.new:
                self.counts[o.rule]["extended"] += 1
        counts = {r: {k: int(v.get(k, 0)) for k in COUNTS} for r, v in self.counts.items()}
        return list(self.outcomes.values()), counts


def info_json(info: dict) -> str:
    return json.dumps(info, ensure_ascii=False, sort_keys=True, default=str)
