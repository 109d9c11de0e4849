"""Registration clusters (异常注册聚集): shell companies registered together, told from office towers.

A shell cluster is a group of businesses registered within a few weeks that share *more than a
place*: a contact phone, a legal representative, a shareholder, one trade name (字号), one
registered capital, and that later file no annual reports or cannot be reached. An office tower
(写字楼) hosts many tenants at one address who arrive over years with phones and people of their
own; even a new building opening, 10-20 tenants in a month, shares nothing but the address.

How a run decides (all in DuckDB, over the keys that new registrations touch):

1. **Keys** of the new or changed entities: building address (the registered address without its
   room number: ``...路100号世纪大厦1801室`` -> ``...路100号世纪大厦``), phone, legal representative,
   and, when ``relations`` is delivered, each shareholder / executive (a person in two entities, or
   one entity holding shares of the other).
2. **Candidates**: every entity holding one of those keys, with its traits (name stem, capital, building,
   phone, person, what it did next, how many tenants its building had before). **Pairs**: two
   candidates registered within ``window_days`` of each other that share a phone, a person or a
   relation, or the building together with a second trait (name stem, capital, a later listing); the
   building alone pairs only when ``quiet_address`` is set. So a tower's 300 tenants are not joined
   with each other at all, and an incremental run reads only the keys its new registrations touch.
   A key held by more than ``max_key_entities`` (1,000) candidates is a public one (a market hall,
   an agent's switchboard), not a link.
3. **Pair score**: the sum of the weights of what the pair shares: ``phone`` (2), the same people
   (``legal_rep`` or ``relation``, 1.5, counted once), ``address``, ``name_stem`` (1 each),
   ``capital`` (identical registered capital, 0.5) and ``after`` (both later listed abnormal for a
   missed annual report or an unreachable address, or found unreachable at an inspection, 0.5). A
   pair counts when its score reaches ``min_pair_score`` (2): the address alone (1) never does, nor
   a person alone (people run several businesses); a phone does, and the address with a name stem
   or a person.  At an address that is *not* a multi-tenant building (fewer than
   ``tower_min_tenants`` tenants registered there more than ``window_days`` before the pair) the
   address weighs ``quiet_address`` more (0 by default: a new building's opening burst has no
   earlier tenants either, so the default never lets the address stand alone).
4. **Clusters**: the connected components of counting pairs (label propagation in SQL) with at
   least ``min_entities`` members. One alert per cluster, one member row per entity; the alert is
   raised on the registration date of its ``min_entities``-th member.
5. **Evidence** (the alert's ``info``): how many members share each link, the registration window,
   the address and how many earlier tenants it hosts, the shared trade name and capital, how many
   members were later listed or unreachable. :func:`summary_zh` says it in plain Chinese.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from ..codes import regions
from ..sql import literal, table_exists

SIGNALS = ("phone", "legal_rep", "relation", "address", "name_stem", "capital", "after")
SIGNAL_ZH = {"phone": "联系电话", "legal_rep": "法定代表人", "relation": "股东或高管", "address": "登记住所",
             "name_stem": "字号", "capital": "注册资本"}
# a building address: the registered address without a trailing room number (1801室, A-1203室, 12房)
ROOM = r"[0-9A-Za-z\-－]+(室|房间|房)$"
LEGAL_FORM = r"(股份有限公司|有限责任公司|有限公司|农民专业合作社|专业合作社|合作社|分公司|公司)$"
AFTER_DETAILS = ("no_annual_report", "unreachable_address")


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: float = Field(2.0, ge=0)
    legal_rep: float = Field(1.5, ge=0)
    relation: float = Field(1.5, ge=0)
    address: float = Field(1.0, ge=0)
    name_stem: float = Field(1.0, ge=0)
    capital: float = Field(0.5, ge=0)
    after: float = Field(0.5, ge=0)


class ClusterParams(BaseModel):
    """Parameters of a ``registration_cluster`` rule (validated when the catalog is loaded)."""

    model_config = ConfigDict(extra="forbid")
    window_days: int = Field(60, ge=1, le=730)
    min_entities: int = Field(3, ge=2)
    min_pair_score: float = Field(2.0, gt=0)
    weights: Weights = Weights()
    tower_min_tenants: int = Field(10, ge=1)
    quiet_address: float = Field(0.0, ge=0)
    max_key_entities: int = Field(1000, ge=2)
    high_from: int = Field(10, ge=2)


@lru_cache(maxsize=4096)
def _place_words(code: str) -> tuple[str, ...]:
    """The place words a name registered in county ``code`` may start with: the county, prefecture and province
    names, long and short (none for a code that is not a county)."""
    r = regions.table().get(code)
    if r is None or r.level != "county":
        return ()
    words = {r.name, _short(r.name), r.province, _short(r.province)}
    if r.prefecture and r.prefecture not in ("市辖区", "县"):
        words |= {r.prefecture, _short(r.prefecture)}
    return tuple(w for w in sorted(words) if len(w) >= 2)


def _short(name: str) -> str:
    for suffix in ("自治县", "自治州", "自治区", "地区", "省", "市", "区", "县", "旗"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def building_sql(col: str) -> str:
    """SQL: the building address of an address column (spaces removed, trailing room number cut)."""
    return f"nullif(regexp_replace(replace(replace({col}, ' ', ''), '　', ''), '{ROOM}', ''), '')"


def _prefix_sql(col: str) -> str:
    """SQL: the first 8 characters of an address column with its spaces removed (the spaces are removed only
    from the addresses that hold one: the scan over every entity stays cheap)."""
    return (f"CASE WHEN contains({col}, ' ') OR contains({col}, '　') "
            f"THEN left(replace(replace({col}, ' ', ''), '　', ''), 8) ELSE left({col}, 8) END")


def prepare(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> None:
    """Build ``w_cl_out``: one row per member of each scored cluster (see the module's description)."""
    w = int(p["window_days"])
    wt = p["weights"]
    has_rel = table_exists(con, "relations")
    con.execute("CREATE OR REPLACE TEMP TABLE w_cl_new AS SELECT DISTINCT uscc FROM w_ent_new")
    def rel(only_new: bool) -> str:
        """Relation keys: a person party of two entities, or one entity holding shares of the other."""
        if not has_rel:
            return ""
        a = " AND r.uscc IN (SELECT uscc FROM w_cl_new)" if only_new else ""
        b = " AND r.party_id IN (SELECT uscc FROM w_cl_new)" if only_new else ""
        return f"""
            UNION ALL SELECT r.uscc, 'relation', CASE WHEN r.party_kind = 'entity' THEN 'e:' ELSE 'p:' END || r.party_id
            FROM relations r WHERE nullif(r.party_id, '') IS NOT NULL AND coalesce(r.role, '') <> 'legal_rep'{a}
            UNION ALL SELECT r.party_id, 'relation', 'e:' || r.party_id FROM relations r
            WHERE r.party_kind = 'entity' AND nullif(r.party_id, '') IS NOT NULL{b}"""

    # the keys the new entities hold (not every key of every entity)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_keys AS
        WITH n AS (SELECT * FROM entities WHERE uscc IN (SELECT uscc FROM w_cl_new)),
        k AS (SELECT uscc, 'address' AS kind, {building_sql('address')} AS key FROM n
              UNION ALL SELECT uscc, 'phone', nullif(phone_id, '') FROM n
              UNION ALL SELECT uscc, 'legal_rep', nullif(legal_rep_id, '') FROM n{rel(True)})
        SELECT DISTINCT kind, key FROM k WHERE key IS NOT NULL""")
    # the entities holding them (addresses: a cheap prefix test before the room number is cut)
    holders = f"""
        SELECT n.uscc, 'address' AS kind, {building_sql('n.address')} AS key FROM entities n
        WHERE {_prefix_sql('n.address')} IN
              (SELECT DISTINCT left(key, 8) FROM w_cl_keys WHERE kind = 'address')
        UNION ALL SELECT uscc, 'phone', phone_id FROM entities
        WHERE phone_id IN (SELECT key FROM w_cl_keys WHERE kind = 'phone')
        UNION ALL SELECT uscc, 'legal_rep', legal_rep_id FROM entities
        WHERE legal_rep_id IN (SELECT key FROM w_cl_keys WHERE kind = 'legal_rep'){rel(False)}"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_cand AS
        SELECT h.uscc, h.kind, h.key, n.established_on AS est, n.delivery_id, n.name, n.region_code,
               n.registered_capital AS capital, n.address, n.phone_id, n.legal_rep_id,
               h.uscc IN (SELECT uscc FROM w_cl_new) AS is_new
        FROM ({holders}) h SEMI JOIN w_cl_keys k ON k.kind = h.kind AND k.key = h.key
        JOIN entities n ON n.uscc = h.uscc
        WHERE n.established_on IS NOT NULL""")
    # the candidates' attributes: name stem, capital, building, phone, person, what they did next, and how
    # many tenants their building had more than the window before they registered (a multi-tenant building)
    codes = sorted(r[0] for r in con.execute(
        "SELECT DISTINCT region_code FROM w_cl_cand WHERE region_code IS NOT NULL").fetchall())
    words = [(c, x) for c in codes for x in _place_words(c)]
    con.register("w_cl_words", pa.table({"region_code": pa.array([c for c, _ in words], pa.string()),
                                         "word": pa.array([x for _, x in words], pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE w_cl_place AS SELECT * FROM w_cl_words")
    con.unregister("w_cl_words")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_ent AS
        WITH e AS (SELECT DISTINCT uscc, name, region_code, capital, est, delivery_id, is_new,
                          {building_sql('address')} AS building, nullif(phone_id, '') AS phone,
                          nullif(legal_rep_id, '') AS rep
                   FROM w_cl_cand),
        earlier AS (SELECT uscc, max(earlier) AS earlier FROM (
                        SELECT uscc, count(*) OVER (PARTITION BY key ORDER BY est
                            RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL {w + 1} DAYS PRECEDING) AS earlier
                        FROM w_cl_cand WHERE kind = 'address') GROUP BY uscc),
        n1 AS (SELECT e.*, regexp_replace(regexp_replace(replace(coalesce(e.name, ''), ' ', ''),
                   '[（(][^）)]*[）)]', '', 'g'), '{LEGAL_FORM}', '') AS n1 FROM e),
        s1 AS (SELECT n1.*, coalesce((SELECT max_by(word, length(word)) FROM w_cl_place w
                   WHERE w.region_code = n1.region_code AND starts_with(n1.n1, w.word)), '') AS p1 FROM n1),
        s2 AS (SELECT s1.*, substr(s1.n1, length(s1.p1) + 1) AS r1 FROM s1),
        s3 AS (SELECT s2.*, coalesce((SELECT max_by(word, length(word)) FROM w_cl_place w
                   WHERE w.region_code = s2.region_code AND starts_with(s2.r1, w.word)), '') AS p2 FROM s2),
        -- one scan per event type: an equality on event_type reaches the Parquet reader, an IN list does not
        -- (ten times the CPU: every row of every column read)
        ad AS (SELECT uscc, count(*) AS n FROM (
                   SELECT uscc FROM events WHERE event_type = 'abnormal_list_in' AND detail IN {tuple(AFTER_DETAILS)}
                   UNION ALL SELECT uscc FROM events WHERE event_type = 'inspection' AND detail = 'unreachable')
               WHERE uscc IN (SELECT uscc FROM e)
               GROUP BY uscc)
        SELECT s3.uscc, s3.est, s3.delivery_id, s3.is_new, s3.capital, s3.building, s3.phone, s3.rep,
               coalesce(earlier.earlier, 0) AS earlier,
               nullif(left(substr(s3.r1, length(s3.p2) + 1), 2), '') AS stem, coalesce(ad.n, 0) > 0 AS after
        FROM s3 LEFT JOIN ad USING (uscc) LEFT JOIN earlier USING (uscc)""")
    # pairing keys: phone, person, relation, and the building address only together with a second trait (the
    # address alone weighs too little to count, so a tower's tenants are never paired by it); a key held by more
    # than max_key_entities candidates is a public one (a market hall, an agent's switchboard), not a link
    pk = """SELECT c.uscc, c.kind, c.key, c.est FROM w_cl_cand c WHERE c.kind <> 'address'
            UNION ALL SELECT uscc, 'address', building || '|s:' || stem, est FROM w_cl_ent
            WHERE building IS NOT NULL AND length(stem) = 2
            UNION ALL SELECT uscc, 'address', building || '|c:' || capital, est FROM w_cl_ent
            WHERE building IS NOT NULL AND capital > 0
            UNION ALL SELECT uscc, 'address', building || '|a', est FROM w_cl_ent WHERE building IS NOT NULL AND after"""
    if float(p["quiet_address"]) > 0:
        pk += " UNION ALL SELECT uscc, 'address', building, est FROM w_cl_ent WHERE building IS NOT NULL"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_pair AS
        WITH k AS (SELECT * FROM (SELECT k.*, count(*) OVER (PARTITION BY kind, key) AS holders FROM ({pk}) k)
                   WHERE holders <= {int(p['max_key_entities'])})
        SELECT a.uscc AS a, b.uscc AS b, bool_or(a.kind = 'relation') AS relation
        FROM k a JOIN k b ON a.kind = b.kind AND a.key = b.key AND a.uscc < b.uscc
             AND b.est BETWEEN a.est - {w} AND a.est + {w}
        GROUP BY ALL""")
    score = " + ".join([
        f"CASE WHEN x.phone = y.phone THEN {float(wt['phone'])!r} ELSE 0 END",
        # the same people once: a legal representative who also holds the shares is one link, not two
        f"greatest(CASE WHEN x.rep = y.rep THEN {float(wt['legal_rep'])!r} ELSE 0 END, "
        f"CASE WHEN p.relation THEN {float(wt['relation'])!r} ELSE 0 END)",
        f"CASE WHEN x.building = y.building THEN {float(wt['address'])!r} + CASE WHEN "
        f"(CASE WHEN x.est <= y.est THEN x.earlier ELSE y.earlier END) < {int(p['tower_min_tenants'])} "
        f"THEN {float(p['quiet_address'])!r} ELSE 0 END ELSE 0 END",
        f"CASE WHEN x.stem = y.stem AND length(x.stem) = 2 THEN {float(wt['name_stem'])!r} ELSE 0 END",
        f"CASE WHEN x.capital = y.capital AND x.capital > 0 THEN {float(wt['capital'])!r} ELSE 0 END",
        f"CASE WHEN x.after AND y.after THEN {float(wt['after'])!r} ELSE 0 END"])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_pair AS
        SELECT p.a, p.b, coalesce(x.phone = y.phone, false) AS phone, coalesce(x.rep = y.rep, false) AS legal_rep,
               p.relation, coalesce(x.building = y.building, false) AS address,
               CASE WHEN x.building = y.building THEN x.building END AS address_key,
               CASE WHEN x.building = y.building THEN (CASE WHEN x.est <= y.est THEN x.earlier ELSE y.earlier END)
                    ELSE 0 END AS standing,
               coalesce(x.stem = y.stem AND length(x.stem) = 2, false) AS name_stem,
               coalesce(x.capital = y.capital AND x.capital > 0, false) AS capital,
               coalesce(x.after AND y.after, false) AS after, ({score}) AS score
        FROM w_cl_pair p JOIN w_cl_ent x ON x.uscc = p.a JOIN w_cl_ent y ON y.uscc = p.b""")
    con.execute(f"DELETE FROM w_cl_pair WHERE score < {float(p['min_pair_score'])!r}")
    _components(con)
    _members(con, p)


def _components(con: duckdb.DuckDBPyConnection) -> None:
    """Connected components of the counting pairs: every entity takes the smallest label around it."""
    con.execute("""CREATE OR REPLACE TEMP TABLE w_cl_lab AS
        SELECT uscc, min(l) AS lab FROM (SELECT a AS uscc, least(a, b) AS l FROM w_cl_pair
                                         UNION ALL SELECT b, least(a, b) FROM w_cl_pair) GROUP BY uscc""")
    for _ in range(200):
        con.execute("""CREATE OR REPLACE TEMP TABLE w_cl_lab2 AS
            SELECT l.uscc, least(l.lab, coalesce(min(o.lab), l.lab)) AS lab
            FROM w_cl_lab l LEFT JOIN (SELECT p.a AS u, lb.lab FROM w_cl_pair p JOIN w_cl_lab lb ON lb.uscc = p.b
                                       UNION ALL SELECT p.b, la.lab FROM w_cl_pair p JOIN w_cl_lab la ON la.uscc = p.a) o
                 ON o.u = l.uscc
            GROUP BY l.uscc, l.lab""")
        changed = con.execute("SELECT count(*) FROM w_cl_lab2 JOIN w_cl_lab USING (uscc) "
                              "WHERE w_cl_lab2.lab <> w_cl_lab.lab").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE w_cl_lab AS SELECT * FROM w_cl_lab2")
        if not changed:
            break


def _members(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> None:
    """``w_cl_out``: the members of components of at least ``min_entities``, with their cluster's figures."""
    k = int(p["min_entities"])
    pair_signals = [s for s in SIGNALS if s != "after"]
    sig = " UNION ALL ".join(f"SELECT a AS u, '{s}' AS s FROM w_cl_pair WHERE {s} UNION ALL "
                             f"SELECT b, '{s}' FROM w_cl_pair WHERE {s}" for s in pair_signals)
    counts = ", ".join(f"count(DISTINCT u) FILTER (WHERE s = '{s}') AS {s}" for s in pair_signals)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w_cl_out AS
        WITH m AS (SELECT l.uscc, l.lab, e.est, e.delivery_id, e.is_new, e.stem, e.capital, e.after
                   FROM w_cl_lab l JOIN w_cl_ent e USING (uscc)),
        c AS (SELECT lab, count(*) AS size, min(est) AS first_on, max(est) AS last_on,
                     count(*) FILTER (WHERE after) AS after
              FROM m GROUP BY lab HAVING count(*) >= {k}),
        st AS (SELECT lab, arg_max(stem, (n, stem)) AS stem, max(n) AS n_stem
               FROM (SELECT lab, stem, count(*) AS n FROM m WHERE stem IS NOT NULL GROUP BY ALL HAVING n >= 2) GROUP BY lab),
        cap AS (SELECT lab, arg_max(capital, (n, capital)) AS capital
                FROM (SELECT lab, capital, count(*) AS n FROM m WHERE capital > 0 GROUP BY ALL HAVING n >= 2) GROUP BY lab),
        f AS (SELECT lab, est AS fire_on FROM (SELECT lab, est, row_number() OVER (PARTITION BY lab ORDER BY est, uscc)
                                                AS r FROM m) WHERE r = {k}),
        a AS (SELECT l.lab, arg_max(q.address_key, (q.standing, q.address_key)) AS address, max(q.standing) AS standing
              FROM w_cl_pair q JOIN w_cl_lab l ON l.uscc = q.a WHERE q.address_key IS NOT NULL GROUP BY l.lab),
        sc AS (SELECT l.lab, {counts} FROM ({sig}) x JOIN w_cl_lab l ON l.uscc = x.u GROUP BY l.lab),
        first AS (SELECT lab, arg_min(uscc, (est, uscc)) AS first_uscc FROM m GROUP BY lab)
        SELECT m.uscc, m.est, m.delivery_id, m.is_new, c.lab, c.size, c.first_on, c.last_on, c.after AS n_after,
               f.fire_on, a.address AS address_key, coalesce(a.standing, 0) AS standing, st.stem,
               coalesce(st.n_stem, 0) AS n_stem, cap.capital, first.first_uscc,
               {", ".join(f"coalesce(sc.{s}, 0) AS n_{s}" for s in pair_signals)}
        FROM m JOIN c USING (lab) JOIN f USING (lab) JOIN first USING (lab) LEFT JOIN a USING (lab)
        LEFT JOIN st USING (lab) LEFT JOIN cap USING (lab) LEFT JOIN sc USING (lab)""")


def hits_sql(rule_code: str, severity: str, p: dict[str, Any]) -> str:
    """The hits of the clusters in ``w_cl_out`` (one per member; every member carries the cluster's figures)."""
    w = int(p["window_days"])
    links = ", ".join(f"'{s}': o.n_{s}" for s in SIGNALS)
    return f"""
        SELECT {literal(rule_code)} AS rule, 'cluster:' || o.first_uscc AS group_key, o.uscc,
               greatest(o.fire_on, o.est) AS raised_on, 'entities' AS trig_source, o.uscc AS trig_record,
               {literal(severity)} AS severity,
               to_json({{'is_new': o.is_new, 'size': o.size, 'window_days': {w}, 'first_registered': o.first_on,
                        'last_registered': o.last_on, 'links': {{{links}}}, 'address': o.address_key,
                        'earlier_tenants': o.standing, 'name_stem': o.stem,
                        'capital': o.capital}})::VARCHAR AS info,
               [struct_pack(uscc := o.uscc, source := 'entities', record_id := o.uscc, event_type := 'registration',
                            event_date := o.est, delivery_id := o.delivery_id)] AS evidence
        FROM w_cl_out o"""


def summary_zh(info: dict[str, Any], members: int) -> str:
    """The alert's summary in plain Chinese: how many registered when, what they share, what they did next."""
    links = info.get("links") or {}
    if not isinstance(links, dict):  # an alert raised before the links were counted
        return f"{members} 户市场主体在短期内集中登记（首户登记于 {info.get('first_registered')}）"
    shared = []
    for s in ("phone", "legal_rep", "relation", "name_stem", "capital", "address"):
        n = int(links.get(s) or 0)
        if not n:
            continue
        what = SIGNAL_ZH[s]
        if s == "name_stem" and info.get("name_stem"):
            what = f"字号“{info['name_stem']}”"
        if s == "capital" and info.get("capital"):
            what = f"注册资本（{_amount(info['capital'])}万元）"
        shared.append(f"{n} 户共用{what}" if s in ("phone", "legal_rep", "relation", "address") else f"{n} 户{what}相同")
    text = (f"{members} 户市场主体于 {info.get('first_registered')} 至 {info.get('last_registered')} 间集中登记"
            f"（相互间隔不超过 {info.get('window_days')} 天）")
    if shared:
        text += "，" + "、".join(shared)
    after = int(links.get("after") or 0)
    if after:
        text += f"；其中 {after} 户此后因未报年报或住所无法联系被列入经营异常名录或检查时无法联系"
    standing = int(info.get("earlier_tenants") or 0)
    if standing:
        text += f"；登记住所为多户入驻的楼宇（此前已有 {standing} 户在此登记），仅同址登记不计为聚集"
    return text + "。"


def _amount(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"
