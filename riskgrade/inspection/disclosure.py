"""The public disclosure of a draw (一公开) and its independent verification.

A package is a folder with three files and nothing internal in them (no grade, no score, no
probability of an individual entity):

* ``manifest.json``: algorithm, seed, as-of date, the population's hash, each stratum's size and
  number drawn (strata are named by county and an opaque code; ``F`` = forced in by a 100% trigger);
* ``population.csv``: ``uscc,stratum`` of every entity that could be drawn, in USCC order;
* ``selected.csv``: ``uscc,name,task,check_mode`` of the drawn entities.

Anyone recomputes the draw from these files alone: in each stratum, sort the entities by
``sha256("<seed>|<uscc>")`` (hex) and take the first ``drawn`` of them (docs/inspection.md has a
ten-line script that needs nothing but Python).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import duckdb

from ..errors import RiskgradeError


def write_package(con: duckdb.DuckDBPyConnection, plan_id: int, folder: Path) -> Path:
    rows = con.execute("SELECT manifest FROM plans WHERE plan_id = ?", [plan_id]).fetchall()
    if not rows:
        raise RiskgradeError(f"no plan {plan_id}")
    m = json.loads(rows[0][0])
    # the population is rebuilt from the plan's own record: forced ones and the random strata
    pop = _population(con, plan_id, m)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "population.csv", "w", encoding="utf-8", newline="") as f:
        f.write("uscc,stratum\n")
        for uscc, stratum in pop:
            f.write(f"{uscc},{stratum}\n")
    public = {k: m[k] for k in ("algorithm", "seed", "as_of", "budget", "population_hash", "strata")}
    public["task"] = {k: m["task"][k] for k in ("name", "domain", "region_prefix", "industry_prefix", "check_items", "period")}
    public["forced"] = {"entities": m["forced"]["entities"], "drawn": m["forced"]["drawn"]}
    public["plan_id"] = plan_id
    (folder / "manifest.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sel = con.execute("SELECT uscc, name, check_mode FROM plan_entities WHERE plan_id = ? ORDER BY uscc",
                      [plan_id]).fetchall()
    with open(folder / "selected.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["uscc", "name", "task", "check_mode"])
        for uscc, name, mode in sel:
            w.writerow([uscc, name, m["task"]["name"], mode])
    return folder


def _population(con: duckdb.DuckDBPyConnection, plan_id: int, m: dict) -> list[tuple[str, str]]:
    pop = con.execute("SELECT uscc, stratum FROM plan_population WHERE plan_id = ? ORDER BY uscc", [plan_id]).fetchall()
    h = hashlib.sha256("".join(f"{u},{s}\n" for u, s in pop).encode()).hexdigest()
    if h != m["population_hash"]:
        raise RiskgradeError(f"plan {plan_id}: the kept population does not match its hash (altered?)")
    return pop  # type: ignore[return-value]


def verify_package(folder: Path) -> dict:
    """Recompute the draw of a publication package; returns what was checked (raises on a mismatch)."""
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        pop_text = (folder / "population.csv").read_text(encoding="utf-8")
        with open(folder / "selected.csv", encoding="utf-8", newline="") as f:
            selected = {r["uscc"] for r in csv.DictReader(f)}
    except (OSError, ValueError, KeyError) as e:
        raise RiskgradeError(f"{folder}: not a complete publication package ({e})") from None
    lines = pop_text.splitlines()
    if not lines or lines[0] != "uscc,stratum":
        raise RiskgradeError(f"{folder}/population.csv: expected the header uscc,stratum")
    body = "".join(line + "\n" for line in lines[1:])
    h = hashlib.sha256(body.encode()).hexdigest()
    if h != m["population_hash"]:
        raise RiskgradeError(f"population hash {h} differs from the published {m['population_hash']}")
    strata: dict[str, list[str]] = defaultdict(list)
    for line in lines[1:]:
        uscc, stratum = line.split(",")
        strata[stratum].append(uscc)
    drawn = set()
    for s in m["strata"]:
        members = strata.get(s["stratum"], [])
        if len(members) != s["size"]:
            raise RiskgradeError(f"stratum {s['stratum']}: {len(members)} entities listed, {s['size']} published")
        key = {u: hashlib.sha256(f"{m['seed']}|{u}".encode()).hexdigest() for u in members}
        drawn.update(sorted(members, key=key.__getitem__)[: s["drawn"]])
    if drawn != selected:
        missing, extra = sorted(drawn - selected), sorted(selected - drawn)
        raise RiskgradeError(f"the published selection differs from the recomputed draw: {len(missing)} missing "
                             f"(e.g. {missing[:1]}), {len(extra)} not drawn (e.g. {extra[:1]})")
    return {"entities": len(lines) - 1, "strata": len(m["strata"]), "drawn": len(drawn), "seed": m["seed"],
            "population_hash": h}
