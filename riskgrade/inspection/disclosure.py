"""The public disclosure of a draw (一公开), its sealed verification package, and their verification.

Grades are internal (国市监信发〔2022〕6号: 不作为对企业的信用评价), so a draw is disclosed in two parts
(threat model: docs/security-disclosure.md):

* the **public package** (``plan --publish DIR``), with nothing that predicts a grade:

  - ``commitment.json``: the seed commitment published before the draw (:mod:`.commitment`);
  - ``manifest.json``: plan id, algorithm, as-of date, the task, the revealed seed, the commitment and
    salt commitment, the number drawn, and the hash of the sealed package (``sealed_hash``);
  - ``selected.csv``: ``uscc,name,county,task`` of the drawn entities, in USCC order;

  no stratum, no probability, no check mode, no draw key (with the seed and the draw keys a reader
  would see how far into its stratum each entity was drawn: its stratum's rate, that is its grade);

* the **sealed package** (``<home>/restricted/plan-<id>/``, folder 0700, files 0600: for the auditor,
  纪检/法制审核): ``plan.json`` (the stored manifest with the strata, rates and the draw salt),
  ``population.csv`` (``uscc,stratum`` of every entity that could be drawn; strata are
  ``<county>-<grade>``; its sha256 is the population hash) and ``selected.csv`` (the plan's rows with
  grades, inclusion probabilities, draw keys and check modes).  Its hash is recorded in the plan and
  published, so it cannot be changed after publication.

:func:`verify_package` checks a public package against the commitment (the revealed seed hashes to
it), against the stored plan (same seed, same commitment, same selection, same sealed hash) and, given
the sealed package, re-draws everything.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import defaultdict
from pathlib import Path

import duckdb

from ..export import neutralise
from ..errors import RiskgradeError
from .commitment import by_hash, salt_commitment, seed_commitment
from .plan import ALGORITHM_COMMITTED, draw_key

PUBLIC_FILES = ("commitment.json", "manifest.json", "selected.csv")
SEALED_FILES = ("plan.json", "population.csv", "selected.csv")
SELECTED_COLUMNS = ("uscc", "name", "county", "task")
SEALED_COLUMNS = ("uscc", "name", "region_code", "grade", "stratum", "selection", "inclusion_probability",
                  "draw_key", "check_mode", "inspectors", "risk_probability")


def sealed_folder(home: Path, plan_id: int) -> Path:
    """Where the CLI keeps a plan's sealed package: inside the data home, auditors only."""
    return Path(home) / "restricted" / f"plan-{int(plan_id)}"


def _plan(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple[dict, str, object]:
    """A stored plan's manifest, seed and creation time."""
    rows = con.execute("SELECT manifest, seed, created_at FROM plans WHERE plan_id = ?", [plan_id]).fetchall()
    if not rows:
        raise RiskgradeError(f"no plan {plan_id}: see `riskgrade plans list`")
    return json.loads(rows[0][0]), rows[0][1], rows[0][2]


def _csv_text(header: tuple[str, ...], rows) -> str:
    """A package file: text cells that a spreadsheet would take for a formula are neutralised (riskgrade.export)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else neutralise(v)) for v in r])
    return buf.getvalue()


def _digest(files: dict[str, str]) -> str:
    """The hash of a package: sha256 of the lines ``<file> <sha256 of its bytes>`` in file-name order."""
    lines = "".join(f"{n} {hashlib.sha256(files[n].encode()).hexdigest()}\n" for n in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def sealed_files(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple[dict[str, str], str]:
    """The sealed package's files (name -> text) and its hash; byte-identical on every call."""
    m, _, _ = _plan(con, plan_id)
    c = by_hash(con, m.get("commitment") or "")
    if c is None:
        raise RiskgradeError(f"plan {plan_id} was drawn without a seed commitment: it is internal and cannot be "
                             "published (commit a seed with `riskgrade seed commit` before drawing)")
    m = {k: v for k, v in m.items() if k != "sealed_hash"}
    sealed = {"plan_id": plan_id, "manifest": m, "salt": c.salt, "commitment": c.public()}
    pop = con.execute("SELECT uscc, stratum FROM plan_population WHERE plan_id = ? ORDER BY uscc", [plan_id]).fetchall()
    pop_text = "uscc,stratum\n" + "".join(f"{u},{s}\n" for u, s in pop)
    if hashlib.sha256(pop_text.split("\n", 1)[1].encode()).hexdigest() != m["population_hash"]:
        raise RiskgradeError(f"plan {plan_id}: the kept population does not match its hash (altered?)")
    sel = con.execute(f"SELECT {', '.join(SEALED_COLUMNS)} FROM plan_entities WHERE plan_id = ? ORDER BY uscc",
                      [plan_id]).fetchall()
    files = {"plan.json": json.dumps(sealed, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
             "population.csv": pop_text, "selected.csv": _csv_text(SEALED_COLUMNS, sel)}
    return files, _digest(files)


def _public(con: duckdb.DuckDBPyConnection, plan_id: int, m: dict, seed: str, sealed_hash: str
            ) -> tuple[dict, dict, str]:
    """The public package of a plan in memory: (commitment.json, manifest.json, selected.csv text)."""
    c = by_hash(con, m["commitment"])
    if c is None:
        raise RiskgradeError(f"plan {plan_id}: its seed commitment is not in the store")
    sel = con.execute("SELECT uscc, name, region_code FROM plan_entities WHERE plan_id = ? ORDER BY uscc",
                      [plan_id]).fetchall()
    selected = _csv_text(SELECTED_COLUMNS, [(u, n, r, m["task"]["name"]) for u, n, r in sel])
    public = {
        "plan_id": plan_id, "algorithm": m["algorithm"], "as_of": m["as_of"],
        "task": {k: m["task"][k] for k in ("name", "domain", "region_prefix", "industry_prefix", "check_items", "period")},
        "task_key": c.public()["task"], "seed": seed, "commitment": c.commitment,
        "salt_commitment": c.salt_commitment, "drawn": len(sel),
        "selected_hash": hashlib.sha256(selected.encode()).hexdigest(), "sealed_hash": sealed_hash,
    }
    return c.public(), public, selected


def write_package(con: duckdb.DuckDBPyConnection, plan_id: int, folder: Path, sealed: Path | None = None) -> Path:
    """Write the public package to ``folder`` and, given ``sealed``, the sealed package there (0700/0600).
    Records the sealed package's hash in the plan (``con`` must be writable the first time)."""
    m, seed, _ = _plan(con, plan_id)
    files, sealed_hash = sealed_files(con, plan_id)
    if m.get("sealed_hash") not in (None, sealed_hash):
        raise RiskgradeError(f"plan {plan_id}: its sealed package no longer matches the hash recorded when it was "
                             "first published (the plan's tables were altered)")
    if m.get("sealed_hash") is None:
        m["sealed_hash"] = sealed_hash
        con.execute("UPDATE plans SET manifest = ? WHERE plan_id = ?", [json.dumps(m, ensure_ascii=False), plan_id])
    commitment, public, selected = _public(con, plan_id, m, seed, sealed_hash)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "commitment.json").write_text(json.dumps(commitment, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "selected.csv").write_text(selected, encoding="utf-8")
    if sealed is not None:
        for d in (sealed.parent, sealed):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)
        for name, text in files.items():
            p = sealed / name
            p.write_text(text, encoding="utf-8")
            os.chmod(p, 0o600)
    return folder


def _read_public(folder: Path) -> tuple[dict, dict, list[str], str]:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        c = json.loads((folder / "commitment.json").read_text(encoding="utf-8"))
        text = (folder / "selected.csv").read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        selected = [r["uscc"] for r in rows]
        for k in ("plan_id", "seed", "as_of", "task_key", "commitment", "salt_commitment", "sealed_hash"):
            m[k]  # noqa: B018
    except (OSError, ValueError, KeyError) as e:
        raise RiskgradeError(f"{folder}: not a complete publication package ({e})") from None
    return m, c, selected, text


def verify_package(folder: Path, con: duckdb.DuckDBPyConnection | None = None, sealed: Path | None = None) -> dict:
    """Check a public package: against its commitment; with ``con``, against the stored plan; with
    ``sealed``, re-draw from the sealed package.  Returns what was checked; raises on any mismatch."""
    m, c, selected, text = _read_public(folder)
    return _verify(m, c, selected, text, con, sealed)


def _verify(m: dict, c: dict, selected: list[str], text: str, con: duckdb.DuckDBPyConnection | None,
            sealed: Path | None) -> dict:
    import datetime as dt

    checked = ["commitment"]
    if m["commitment"] != c.get("commitment") or m["salt_commitment"] != c.get("salt_commitment"):
        raise RiskgradeError("the manifest's commitment differs from the package's commitment.json")
    task_id = None if m["task_key"] == "general" else int(m["task_key"])
    as_of = dt.date.fromisoformat(m["as_of"])
    if seed_commitment(str(m["seed"]), as_of, task_id) != m["commitment"]:
        raise RiskgradeError(f"the revealed seed {m['seed']!r} does not hash to the commitment {m['commitment']}")
    if hashlib.sha256(text.encode()).hexdigest() != m.get("selected_hash") or len(selected) != m.get("drawn"):
        raise RiskgradeError("selected.csv differs from the manifest (its hash or its number of entities)")
    if con is not None:
        stored, seed, created = _plan(con, int(m["plan_id"]))
        sc = by_hash(con, m["commitment"])
        if sc is None or stored.get("commitment") != m["commitment"]:
            raise RiskgradeError(f"the package's commitment is not the one stored with plan {m['plan_id']}")
        if str(seed) != str(m["seed"]):
            raise RiskgradeError(f"the package's seed differs from the seed plan {m['plan_id']} was drawn with")
        if sc.salt_commitment != m["salt_commitment"] or sc.created_at > created:
            raise RiskgradeError("the stored commitment does not match, or was made after the draw")
        drawn = [u for (u,) in con.execute("SELECT uscc FROM plan_entities WHERE plan_id = ? ORDER BY uscc",
                                           [int(m["plan_id"])]).fetchall()]
        _same_selection(drawn, selected, f"plan {m['plan_id']}'s stored selection")
        if stored.get("sealed_hash") != m["sealed_hash"]:
            raise RiskgradeError("the package's sealed hash is not the one recorded with the plan")
        checked.append("stored plan")
    if sealed is not None:
        _verify_sealed(sealed, m, selected)
        checked.append("sealed package (re-drawn)")
    return {"plan_id": m["plan_id"], "drawn": len(selected), "seed": m["seed"], "commitment": m["commitment"],
            "checked": checked}


def _same_selection(expected: list[str], got: list[str], what: str) -> None:
    if sorted(expected) != sorted(got):
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        raise RiskgradeError(f"the published selection differs from {what}: {len(missing)} missing "
                             f"(e.g. {missing[:1]}), {len(extra)} not drawn (e.g. {extra[:1]})")


def _verify_sealed(folder: Path, m: dict, selected: list[str]) -> None:
    try:
        files = {n: (folder / n).read_text(encoding="utf-8") for n in SEALED_FILES}
        sp = json.loads(files["plan.json"])
        plan, salt = sp["manifest"], sp["salt"]
    except (OSError, ValueError, KeyError) as e:
        raise RiskgradeError(f"{folder}: not a complete sealed package ({e})") from None
    if _digest(files) != m["sealed_hash"]:
        raise RiskgradeError("the sealed package differs from the sealed hash published with the draw")
    if salt_commitment(salt) != m["salt_commitment"] or plan.get("commitment") != m["commitment"]:
        raise RiskgradeError("the sealed draw salt does not match the published salt commitment")
    if str(plan["seed"]) != str(m["seed"]) or plan["algorithm"] != ALGORITHM_COMMITTED:
        raise RiskgradeError("the sealed plan's seed or algorithm differs from the published one")
    lines = files["population.csv"].splitlines()
    body = "".join(x + "\n" for x in lines[1:])
    if hashlib.sha256(body.encode()).hexdigest() != plan["population_hash"]:
        raise RiskgradeError("the sealed population differs from its hash")
    strata: dict[str, list[str]] = defaultdict(list)
    for x in lines[1:]:
        u, s = x.split(",")
        strata[s].append(u)
    drawn: set[str] = set()
    quota: dict[str, tuple[int, int]] = {}
    for s in plan["strata"]:
        members = strata.get(s["stratum"], [])
        if len(members) != s["size"]:
            raise RiskgradeError(f"stratum {s['stratum']}: {len(members)} entities listed, {s['size']} recorded")
        drawn.update(sorted(members, key=lambda u: draw_key(str(plan["seed"]), u, salt))[: s["drawn"]])
        quota[s["stratum"]] = (s["drawn"], s["size"])
    _same_selection(sorted(drawn), selected, "the re-drawn selection")
    for r in csv.DictReader(io.StringIO(files["selected.csv"])):
        if r["draw_key"] != draw_key(str(plan["seed"]), r["uscc"], salt):
            raise RiskgradeError(f"{r['uscc']}: its sealed draw key is not sha256(seed|salt|uscc)")
        if r["stratum"] != "F":
            q, n = quota[r["stratum"]]
            if abs(float(r["inclusion_probability"]) - q / n) > 1e-12:
                raise RiskgradeError(f"{r['uscc']}: inclusion probability {r['inclusion_probability']} is not {q}/{n}")


# --------------------------------------------------------------------------- the auditor's reads (inside the system)
def read_sealed(folder: Path) -> dict:
    """A sealed package as the auditor reads it: the draw's seed, salt and commitments, each stratum with its
    size, the number drawn and the inclusion probability (drawn / size), and every drawn entity; plus each
    file's sha256 and the package's hash (as published with the draw).  Raises when there is none."""
    try:
        files = {n: (folder / n).read_text(encoding="utf-8") for n in SEALED_FILES}
        sp = json.loads(files["plan.json"])
        plan = sp["manifest"]
    except FileNotFoundError:
        raise RiskgradeError(f"no sealed package in {folder.parent.name}/{folder.name}: the plan was not published "
                             "with `riskgrade plan --publish`") from None
    except (OSError, ValueError, KeyError) as e:
        raise RiskgradeError(f"{folder.name}: not a complete sealed package ({e})") from None
    strata = [{"stratum": x["stratum"], "size": int(x["size"]), "drawn": int(x["drawn"] or 0),
               "inclusion_probability": (int(x["drawn"] or 0) / int(x["size"])) if x["size"] else None}
              for x in plan.get("strata", [])]
    rows = []
    for r in csv.DictReader(io.StringIO(files["selected.csv"])):
        p = r.get("inclusion_probability") or ""
        rows.append({"uscc": r["uscc"], "name": r.get("name") or None, "region_code": r.get("region_code") or None,
                     "grade": r.get("grade") or None, "stratum": r["stratum"], "selection": r["selection"],
                     "inclusion_probability": float(p) if p else None, "draw_key": r.get("draw_key") or None,
                     "check_mode": r.get("check_mode") or None})
    return {"plan_id": int(sp["plan_id"]), "as_of": str(plan.get("as_of", "")),
            "task": str((plan.get("task") or {}).get("name", "")),
            "region_prefix": str((plan.get("task") or {}).get("region_prefix") or ""),
            "algorithm": str(plan.get("algorithm", "")), "seed": str(plan.get("seed", "")), "salt": str(sp["salt"]),
            "commitment": str(plan.get("commitment") or ""), "salt_commitment": str(plan.get("salt_commitment") or ""),
            "sealed_hash": _digest(files), "population_hash": str(plan.get("population_hash", "")),
            "population": max(0, len(files["population.csv"].splitlines()) - 1), "drawn": len(rows),
            "files": {n: hashlib.sha256(files[n].encode()).hexdigest() for n in SEALED_FILES},
            "strata": strata, "selection": rows}


def sealed_zip(folder: Path) -> bytes:
    """The sealed package's files as one zip (``plan-<id>/<file>``), byte-identical on every call."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in SEALED_FILES:
            info = zipfile.ZipInfo(f"{folder.name}/{n}", date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = 0o600 << 16
            z.writestr(info, (folder / n).read_bytes(), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def verify_stored(con: duckdb.DuckDBPyConnection, plan_id: int, sealed: Path) -> dict:
    """``plans verify`` inside the system: the public package a plan's publication wrote, rebuilt from the store,
    is checked against its commitment and the stored plan, and the sealed package in ``sealed`` is re-drawn
    (sealed hash, salt, population hash, every stratum's draw, draw keys, inclusion probabilities).  Returns what
    was checked; raises on the first mismatch."""
    m, seed, _ = _plan(con, plan_id)
    if not m.get("commitment") or not m.get("sealed_hash"):
        raise RiskgradeError(f"plan {plan_id} was not published (`riskgrade plan --publish`): no seed commitment or "
                             "sealed hash is recorded with it, so there is no draw to verify")
    if not (sealed / "plan.json").exists():
        raise RiskgradeError(f"plan {plan_id}: the sealed package is missing from the restricted folder")
    commitment, public, selected = _public(con, plan_id, m, seed, m["sealed_hash"])
    usccs = [r["uscc"] for r in csv.DictReader(io.StringIO(selected))]
    return _verify(public, commitment, usccs, selected, con, sealed)
