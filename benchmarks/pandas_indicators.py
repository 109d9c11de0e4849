"""The default indicator catalog written again in plain pandas: an independent reference for the SQL.

    python benchmarks/pandas_indicators.py check --entities 5000

``compute(entities, events, domain_grades, as_of)`` computes the 50 indicators that the built-in
catalog enables (``load_catalog(None, fusion=load_fusion(None))``: every indicator of
``riskgrade/defaults/indicators.yaml`` plus ``domain_food_level``, the one professional domain that
the built-in ``fusion.yaml`` fuses by indicator) the way an analyst would with pandas: filter the
records known at T (``event_date <= T`` and ``reported_on <= T``) and the population (established by
T, not closed by T), one boolean column per condition summed by ``groupby("uscc")``, the latest record
of a kind by sorting on (event date, record id) and taking each entity's last non-null value, value
counts mapped back for the related-party counts.  Vectorised throughout: no loop over rows and no
DuckDB in the computation (``load(home)`` uses the store only to read its three tables).  It does
not read the catalog: every definition is written out below, so when the catalog changes the parity
check fails until this file follows (where a definition reads two ways, the DuckDB query
``riskgrade.indicators.compute.indicator_query`` is the reference).

The result has one row per entity in scope, ordered by USCC, with the columns of ``indicator_query``:
``ATTRIBUTES`` then the indicators (event, entity, related, domain, derived; each kind in catalog
order).

``check`` simulates a province (``riskgrade simulate --seed 1 --format parquet``), ingests it, computes
the indicators both ways as of 2026-09-30 and 2025-05-31 and compares them (``compare``):

* the same columns in the same order, and the same entities (matched by USCC);
* types by kind, not by width: a column that is an integer in the query's result (INTEGER or BIGINT;
  pandas ``int32``/``int64``, or the nullable ``Int32``/``Int64`` when it holds nulls) must be an
  integer column here too (numpy or nullable, any width), never a float one; a DOUBLE must be a
  float; text must be text and dates dates;
* nulls: a null (SQL NULL, which pandas shows as NaN / NA / NaT / None) equals only a null: a cell
  null on one side and not on the other is a difference;
* values: integers, text and dates exactly; floats to a relative tolerance of 1e-9
  (``|a - b| <= 1e-9 * max(|a|, |b|)``).

Differences are reported per column with a few USCCs; the check exits non-zero if there is any.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ATTRIBUTES = ["uscc", "name", "entity_type", "region_code", "industry_code", "industry_section", "status",
              "established_on", "registered_capital", "bucket"]
EVENT_INDICATORS = [
    "ar_missing_latest", "ar_missing_2y", "ar_late_3y", "ar_zero_latest", "change_legal_rep_1y", "change_address_1y",
    "change_any_2y", "insured_latest", "insured_drop_1y", "license_revoked_3y", "license_expired_unrenewed",
    "tax_grade_risk", "type_survival", "type_classification", "abnormal_current", "abnormal_unreachable_current",
    "abnormal_in_3y", "serious_dishonest_current", "judgment_debtor_current", "tax_abnormal_current", "penalty_1y",
    "penalty_3y", "penalty_severe_3y", "penalty_fine_3y", "inspections_3y", "inspection_problem_3y",
    "inspection_fail_repeated", "inspection_refused_3y", "inspection_latest_unreachable", "inspection_not_operating",
    "credit_repair_3y", "complaints_1y", "complaints_substantiated_1y", "complaints_90d", "complaints_growth",
    "platform_rating_latest", "honor_3y", "famous_specialty", "online", "party_building"]
ENTITY_INDICATORS = ["age_years", "capital_10k", "is_individual"]
RELATED_INDICATORS = ["address_cohabitants", "phone_cohabitants", "legal_rep_entities", "legal_rep_risky_links"]
# professional domains fused by indicator in the built-in fusion.yaml: code -> (domain, levels, max_age_days)
DOMAINS = {"domain_food_level": ("food", {"A": 0, "B": 1, "C": 2, "D": 3}, None)}
DERIVED_INDICATORS = ["young_entity", "platform_rating_low"]
COLUMNS = [*ATTRIBUTES, *EVENT_INDICATORS, *ENTITY_INDICATORS, *RELATED_INDICATORS, *DOMAINS, *DERIVED_INDICATORS]

ENTITY_COLUMNS = [*ATTRIBUTES, "closed_on", "address", "phone_id", "legal_rep_id"]
EVENT_COLUMNS = ["uscc", "event_type", "event_date", "reported_on", "record_id", "detail", "amount", "end_date"]
DOMAIN_COLUMNS = ["uscc", "domain", "grade", "as_of"]

TAX_GRADE_RISK = {"A": 0, "B": 1, "M": 2, "C": 3, "D": 4}
NO_DATE = pd.Timestamp("1900-01-01")  # "never taken off the list"
# what SQL's trim() removes (DuckDB: the Unicode space separators, category Zs; not tabs or line breaks)
SPACES = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


# --------------------------------------------------------------------------- loading
def load(home: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``entities``, ``events`` and ``domain_grades`` of a data home as DataFrames (the columns used)."""
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        def read(table: str, cols: list[str]) -> pd.DataFrame:
            return wh.con.execute(f"SELECT {', '.join(cols)} FROM {table}").df()

        return read("entities", ENTITY_COLUMNS), read("events", EVENT_COLUMNS), read("domain_grades", DOMAIN_COLUMNS)


# --------------------------------------------------------------------------- the indicators
def _years_back(d: dt.date, n: int) -> dt.date:
    try:
        return d.replace(year=d.year - n)
    except ValueError:  # 29 February
        return d.replace(year=d.year - n, day=28)


def _nullable_int(s: pd.Series) -> pd.Series:
    return s.astype("Int64")


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` (indexed by key) for each of ``keys``, null when absent (``Series.map``, keeping the dtype
    even when ``values`` is empty)."""
    return values.reindex(keys.to_numpy()).set_axis(keys.index)


ROOM = re.compile(r"[0-9A-Za-z\-－]+(室|房间|房)$")


def _building_linked(pop: pd.DataFrame) -> pd.Series:
    """一址多企: other entities in scope at the same building (the address without spaces and a trailing room
    number) registered within 60 days before or after, sharing the phone or the legal representative."""
    def blank(s: pd.Series) -> pd.Series:
        s = s.astype("string").str.strip()
        return s.where(s != "")

    b = pd.DataFrame({"uscc": pop["uscc"], "est": pop["established_on"],
                      "building": blank(pop["address"].astype("string").str.replace(" ", "").str.replace("　", "")
                                        .map(lambda a: ROOM.sub("", a) if isinstance(a, str) else a)),
                      "phone": blank(pop["phone_id"]), "rep": blank(pop["legal_rep_id"])})
    pairs = []
    for key in ("phone", "rep"):
        k = b.dropna(subset=["building", key])
        m = k.merge(k, on=["building", key], suffixes=("", "_o"))
        m = m[(m["uscc"] != m["uscc_o"]) & ((m["est"] - m["est_o"]).abs() <= pd.Timedelta(days=60))]
        pairs.append(m[["uscc", "uscc_o"]])
    counts = pd.concat(pairs).drop_duplicates().groupby("uscc").size()
    out = _lookup(pop["uscc"], counts).fillna(0)
    return _nullable_int(out.where(pop["address"].notna()))


def compute(entities: pd.DataFrame, events: pd.DataFrame, domain_grades: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """One row per entity in scope at ``as_of`` (ordered by USCC): ``ATTRIBUTES``, then the indicators."""
    T = pd.Timestamp(as_of)
    y1, y2, y3 = (pd.Timestamp(_years_back(as_of, n)) for n in (1, 2, 3))
    d90 = T - pd.Timedelta(days=90)
    # the two most recent annual-report years that are due at T (due by 30 June of the next year)
    due1 = as_of.year - 1 if as_of >= dt.date(as_of.year, 6, 30) else as_of.year - 2
    due2 = due1 - 1

    # ---- population: established by T and not closed by T
    ent = entities
    open_at_t = (ent["status"] == "active") | ent["closed_on"].isna() | (ent["closed_on"] > T)
    pop = ent[(ent["established_on"] <= T) & open_at_t].sort_values("uscc").reset_index(drop=True)
    uscc = pop["uscc"]

    # ---- records known at T (of every entity: the related-party indicator reads entities out of scope too)
    known = events[(events["event_date"] <= T) & (events["reported_on"] <= T)]
    # in recency order (event date, then record id): an entity's last record of a kind is its latest
    ev = known[known["uscc"].isin(uscc)].sort_values(["event_date", "record_id"], kind="stable").reset_index(drop=True)
    typ, det, date, amt = ev["event_type"], ev["detail"], ev["event_date"], ev["amount"]

    def is_(t: str) -> pd.Series:
        return typ == t

    ar, chg, pen, insp, cmp = (is_(t) for t in ("annual_report", "registration_change", "admin_penalty", "inspection",
                                                 "complaint"))
    report_year = pd.to_numeric(det.where(det.str.fullmatch(r"[0-9]{4}", na=False)), errors="coerce")

    # counts of records meeting a condition, per entity
    flags = pd.DataFrame({
        "ar_due1": ar & (det == str(due1)),
        "ar_due12": ar & det.isin([str(due1), str(due2)]),
        "ar_late_3y": ar & (date > y3) & (date.dt.month > 6) & (date.dt.year > report_year),
        "ar_zero": ar & (det == str(due1)) & (amt == 0),
        "change_legal_rep_1y": chg & (det == "legal_rep") & (date > y1),
        "change_address_1y": chg & (det == "address") & (date > y1),
        "change_any_2y": chg & (date > y2),
        "license_revoked_3y": is_("admin_license") & (det == "revoked") & (date > y3),
        "abnormal_in_3y": is_("abnormal_list_in") & (date > y3),
        "penalty_1y": pen & (date > y1),
        "penalty_3y": pen & (date > y3),
        "penalty_severe_3y": pen & det.isin(["confiscation", "suspension", "revocation"]) & (date > y3),
        "inspections_3y": insp & (date > y3),
        "inspection_problem_3y": insp & det.isin(["problem", "corrected"]) & (date > y3),
        "insp_fail_3y": insp & det.isin(["problem", "refused", "unreachable"]) & (date > y3),
        "inspection_refused_3y": insp & (det == "refused") & (date > y3),
        "credit_repair_3y": is_("credit_repair") & (date > y3),
        "complaints_1y": cmp & (date > y1),
        "complaints_substantiated_1y": cmp & (amt == 1) & (date > y1),
        "complaints_90d": cmp & (date > d90),
        "cmp_before_90d": cmp & (date > y1) & (date <= d90),
        "honor_3y": is_("honor") & (date > y3),
        "famous": is_("honor") & (det == "famous_specialty"),
        "online": is_("online_store"),
        "party": is_("party_building"),
    })
    n = flags.groupby(ev["uscc"]).sum().reindex(uscc, fill_value=0).reset_index(drop=True)

    # latest date of a record kind (listings in and out) and latest licence end date
    dates = pd.DataFrame({
        **{f"{k}_in": date.where(is_(f"{k}_in")) for k in ("abnormal_list", "serious_dishonest", "judgment_debtor",
                                                            "tax_abnormal")},
        **{f"{k}_out": date.where(is_(f"{k}_out")) for k in ("abnormal_list", "serious_dishonest", "judgment_debtor",
                                                              "tax_abnormal")},
        "abnormal_unreachable_in": date.where(is_("abnormal_list_in") & (det == "unreachable_address")),
        "license_end": ev["end_date"].where(is_("admin_license") & (det == "granted")),
    })
    last = dates.groupby(ev["uscc"]).max().reindex(uscc).reset_index(drop=True)
    fines = amt.where(pen & (date > y3)).groupby(ev["uscc"]).sum().reindex(uscc, fill_value=0).reset_index(drop=True)

    # the value of an entity's latest record of a kind, null values skipped
    def latest(mask: pd.Series, col: str) -> pd.Series:
        rows = ev[mask & ev[col].notna()]
        return rows.groupby("uscc")[col].last().reindex(uscc).reset_index(drop=True)

    ins_new = latest(is_("social_insurance") & (date > y1), "amount")
    ins_old = latest(is_("social_insurance") & (date <= y1), "amount")
    tax_grade = latest(is_("tax_credit_grade"), "detail")
    type_cls = latest(is_("type_classification"), "detail")
    insp_last = latest(insp, "detail")
    platform = latest(is_("platform_rating"), "amount")

    def current(listing: str) -> pd.Series:  # listed in after the latest listing out
        return (last[f"{listing}_in"] > last[f"{listing}_out"].fillna(NO_DATE)).astype("int64")

    def flag(cond: pd.Series) -> pd.Series:
        return cond.astype("int64")

    individual = pop["entity_type"] == "individual"
    est = pop["established_on"]
    out = pop[ATTRIBUTES].copy()
    ind = {
        "ar_missing_latest": flag((est <= pd.Timestamp(due1, 12, 31)) & (n["ar_due1"] == 0)),
        "ar_missing_2y": flag((est <= pd.Timestamp(due2, 12, 31)) & (n["ar_due12"] == 0)),
        "ar_late_3y": n["ar_late_3y"],
        "ar_zero_latest": flag(n["ar_zero"] > 0),
        "change_legal_rep_1y": n["change_legal_rep_1y"],
        "change_address_1y": n["change_address_1y"],
        "change_any_2y": n["change_any_2y"],
        "insured_latest": ins_new,
        "insured_drop_1y": (1 - ins_new.fillna(0) / ins_old).clip(lower=0).where(ins_old > 0),
        "license_revoked_3y": n["license_revoked_3y"],
        "license_expired_unrenewed": flag(last["license_end"] < T),
        "tax_grade_risk": _nullable_int(tax_grade.map(TAX_GRADE_RISK)),
        "type_survival": _nullable_int(flag(type_cls == "survival").where(individual)),
        "type_classification": type_cls.where(individual),
        "abnormal_current": current("abnormal_list"),
        "abnormal_unreachable_current": flag(last["abnormal_unreachable_in"]
                                             > last["abnormal_list_out"].fillna(NO_DATE)),
        "abnormal_in_3y": n["abnormal_in_3y"],
        "serious_dishonest_current": current("serious_dishonest"),
        "judgment_debtor_current": current("judgment_debtor"),
        "tax_abnormal_current": current("tax_abnormal"),
        "penalty_1y": n["penalty_1y"],
        "penalty_3y": n["penalty_3y"],
        "penalty_severe_3y": n["penalty_severe_3y"],
        "penalty_fine_3y": fines.astype("float64"),
        "inspections_3y": n["inspections_3y"],
        "inspection_problem_3y": n["inspection_problem_3y"],
        "inspection_fail_repeated": flag(n["insp_fail_3y"] >= 2),
        "inspection_refused_3y": n["inspection_refused_3y"],
        "inspection_latest_unreachable": flag(insp_last == "unreachable"),
        "inspection_not_operating": flag(insp_last == "not_operating"),
        "credit_repair_3y": n["credit_repair_3y"],
        "complaints_1y": n["complaints_1y"],
        "complaints_substantiated_1y": n["complaints_substantiated_1y"],
        "complaints_90d": n["complaints_90d"],
        "complaints_growth": (n["complaints_90d"] + 1.0) / (n["cmp_before_90d"] / 3.0 + 1.0),
        "platform_rating_latest": platform,
        "honor_3y": n["honor_3y"],
        "famous_specialty": flag(n["famous"] > 0),
        "online": flag(n["online"] > 0),
        "party_building": flag(n["party"] > 0),
        # entity attributes
        "age_years": (T - est).dt.days / 365.25,
        "capital_10k": pop["registered_capital"].where(pop["entity_type"].isin(["enterprise", "cooperative"])),
        "is_individual": flag(individual),
    }

    # ---- related parties: other entities in scope at the same phone / legal representative
    for code, key in (("phone_cohabitants", "phone_id"), ("legal_rep_entities", "legal_rep_id")):
        ind[code] = _nullable_int(_lookup(pop[key], pop[key].value_counts()) - 1)  # null key: null
    ind["address_cohabitants"] = _building_linked(pop)
    # entities of a person (in scope or not, established by T) on the abnormal list or the serious-dishonesty
    # list at T (each list by itself: its latest listing after its latest removal) or revoked in 3 years
    x = ent[ent["legal_rep_id"].notna() & (ent["established_on"] <= T)]
    listed = pd.Series(False, index=x.index)
    for lst in ("abnormal_list", "serious_dishonest"):
        last_in = known[known["event_type"] == f"{lst}_in"].groupby("uscc")["event_date"].max()
        last_out = known[known["event_type"] == f"{lst}_out"].groupby("uscc")["event_date"].max()
        listed |= (_lookup(x["uscc"], last_in) > _lookup(x["uscc"], last_out).fillna(NO_DATE)).fillna(False)
    revoked = (x["status"] == "revoked") & (x["closed_on"] <= T) & (x["closed_on"] > y3)
    risky = x.loc[listed | revoked, ["uscc", "legal_rep_id"]].drop_duplicates()
    per_person = _lookup(pop["legal_rep_id"], risky["legal_rep_id"].value_counts()).fillna(0)
    links = per_person - pop["uscc"].isin(risky["uscc"])  # not counting the entity itself
    ind["legal_rep_risky_links"] = _nullable_int(links.where(pop["legal_rep_id"].notna()))

    # ---- professional domains: the latest grade with as_of <= T (on one date the greater text), as its level
    g = domain_grades[domain_grades["as_of"] <= T]
    grade = g["grade"].str.strip(SPACES).str.upper()
    domain = g["domain"].str.strip(SPACES).str.lower()
    for code, (name, levels, max_age_days) in DOMAINS.items():
        keep = (domain == name) & grade.notna()
        if max_age_days:
            keep &= g["as_of"] > T - pd.Timedelta(days=max_age_days)
        rows = pd.DataFrame({"uscc": g["uscc"], "as_of": g["as_of"], "grade": grade})[keep]
        newest = rows.sort_values(["as_of", "grade"]).groupby("uscc")["grade"].last()
        ind[code] = _nullable_int(_lookup(uscc, newest).map(levels))

    # ---- derived
    ind["young_entity"] = flag(ind["age_years"] < 1)
    ind["platform_rating_low"] = flag(platform < 60)

    out = pd.concat([out, pd.DataFrame(ind, index=out.index)], axis=1)
    return out[COLUMNS]


# --------------------------------------------------------------------------- the parity check
def reference(home: Path | str, as_of: dt.date) -> pd.DataFrame:
    """The generated query (``indicator_query`` over the default catalog) on DuckDB, ordered by USCC."""
    from riskgrade.indicators import load_catalog
    from riskgrade.indicators.compute import indicator_query
    from riskgrade.indicators.domains import load_fusion
    from riskgrade.warehouse import Warehouse

    catalog = load_catalog(None, fusion=load_fusion(None))
    with Warehouse(home) as wh:
        return wh.con.execute(f"SELECT * FROM ({indicator_query(catalog, as_of)}) q ORDER BY uscc").df()


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    if pd.api.types.is_string_dtype(s.dtype):
        return "text"
    return str(s.dtype)


def compare(expected: pd.DataFrame, got: pd.DataFrame, *, rtol: float = 1e-9, show: int = 3) -> list[str]:
    """The differences between two indicator tables (empty: the same); see the module docstring."""
    if list(expected.columns) != list(got.columns):
        missing = [c for c in expected.columns if c not in got.columns]
        extra = [c for c in got.columns if c not in expected.columns]
        return [f"columns differ: missing {missing}, extra {extra}" if missing or extra else "columns in another order"]
    problems = []
    for name, df in (("expected", expected), ("got", got)):
        if df["uscc"].duplicated().any():
            problems.append(f"{name}: duplicate USCCs {list(df.loc[df['uscc'].duplicated(), 'uscc'][:show])}")
    e, g = expected.set_index("uscc"), got.set_index("uscc")
    only_e, only_g = e.index.difference(g.index), g.index.difference(e.index)
    if len(only_e) or len(only_g):
        problems.append(f"entities differ: {len(only_e)} only in expected (e.g. {list(only_e[:show])}), "
                        f"{len(only_g)} only in got (e.g. {list(only_g[:show])})")
    common = e.index.intersection(g.index)
    e, g = e.loc[common], g.loc[common]
    for c in e.columns:
        a, b = e[c], g[c]
        ka, kb = _kind(a), _kind(b)
        if ka != kb:
            problems.append(f"{c}: type {kb} ({b.dtype}), expected {ka} ({a.dtype})")
            continue
        na, nb = a.isna().to_numpy(), b.isna().to_numpy()
        both = ~na & ~nb
        if ka == "float":
            x, y = a.to_numpy(dtype="float64", na_value=np.nan), b.to_numpy(dtype="float64", na_value=np.nan)
            close = np.zeros(len(x), dtype=bool)
            close[both] = np.abs(x[both] - y[both]) <= rtol * np.maximum(np.abs(x[both]), np.abs(y[both]))
        elif ka == "integer":
            close = np.zeros(len(a), dtype=bool)
            close[both] = a[both].astype("int64").to_numpy() == b[both].astype("int64").to_numpy()
        else:
            close = np.zeros(len(a), dtype=bool)
            close[both] = (a[both].to_numpy() == b[both].to_numpy())
        bad = (na != nb) | (both & ~close)
        if bad.any():
            where = common[bad][:show]
            shown = ", ".join(f"{u}: {a[u]!r} vs {b[u]!r}" for u in where)
            problems.append(f"{c}: {int(bad.sum())} entities differ ({shown})")
    return problems


def simulate_and_ingest(entities: int, root: Path, *, seed: int = 1) -> Path:
    """``riskgrade simulate`` a province of ``entities`` into ``root/delivery`` and ingest it; returns the data home."""
    delivery, home = root / "delivery", root / "home"
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(entities), "--seed", str(seed),
                    "--format", "parquet", "--out", str(delivery)], check=True, capture_output=True, env=env)
    subprocess.run([sys.executable, "-m", "riskgrade", "ingest", str(delivery)], check=True, capture_output=True,
                   env=env)
    return home


def parity(home: Path | str, as_of: dt.date) -> tuple[int, list[str]]:
    """Entities in scope and the differences between the generated query and ``compute`` at ``as_of``."""
    expected = reference(home, as_of)
    got = compute(*load(home), as_of)
    return len(expected), compare(expected, got)


AS_OF = (dt.date(2026, 9, 30), dt.date(2025, 5, 31))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="simulate, ingest, compare with the generated query")
    c.add_argument("--entities", type=int, default=5000)
    c.add_argument("--as-of", action="append", type=dt.date.fromisoformat,
                   help=f"as-of date (repeatable; default {', '.join(d.isoformat() for d in AS_OF)})")
    c.add_argument("--work", type=Path, help="folder for the delivery and the data home (default: a temporary one)")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = a.work or Path(tmp)
        home = simulate_and_ingest(a.entities, root)
        print(f"simulated and ingested {a.entities:,} entities in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        failed = False
        for as_of in a.as_of or AS_OF:
            t1 = time.perf_counter()
            rows, problems = parity(home, as_of)
            verdict = "same values" if not problems else f"DIFFERENT ({len(problems)} differences)"
            print(f"as of {as_of}: {rows:,} entities in scope, {len(COLUMNS)} columns: {verdict} "
                  f"({time.perf_counter() - t1:.1f} s)")
            for p in problems:
                print(f"  {p}")
            failed |= bool(problems)
    print(f"total {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
