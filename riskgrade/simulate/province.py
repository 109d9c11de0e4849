"""``generate``: write a simulated province as a delivery in the contract format, with its ground truth.

Output folder ``out``::

    entities.<ext>  events.<ext> | events/part-NNN.<ext>  relations.<ext>  inspectors.<ext>  domain_grades.<ext>
    _truth/entities.parquet   latent risk, shells and their clusters, office towers, closures (one row per entity)
    _truth/summary.json       seed, end, counts

Deterministic: the same arguments give byte-identical files (named random
streams from ``PCG64(SeedSequence([seed, name]))``, no clock, no set order).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..codes import regions
from ..errors import RiskgradeError
from . import dirty as dirty_mod
from . import events as events_mod
from . import tables
from .population import CLASSES, ENTITY_TYPES, STATUSES, Population, Window, build, rng_factory
from .strings import NO_DAY, DateStrings
from .writer import FORMATS, write_events, write_table

Progress = Callable[[str, float], None]


class SimulationError(RiskgradeError, ValueError):
    """Invalid arguments to :func:`generate` (a one-line message for the command line)."""


TABLES = ("entities", "events", "relations", "inspectors", "domain_grades")


def _clear(out: Path) -> None:
    """Remove files a previous run may have left that this run would not overwrite."""
    for name in TABLES:
        for ext in FORMATS:
            (out / f"{name}.{ext}").unlink(missing_ok=True)
    if (out / "events").is_dir():
        for ext in FORMATS:
            for p in (out / "events").glob(f"part-*.{ext}"):
                p.unlink()


def generate(
    out: Path,
    entities: int,
    seed: int,
    *,
    end: date = date(2026, 10, 31),
    years: int = 5,
    fmt: str = "csv",
    province: str = "37",
    dirty_out: Path | None = None,
    part_rows: int = 5_000_000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate ``entities`` market entities of ``province`` over ``years`` years ending ``end``.

    Writes the delivery to ``out`` (``fmt`` ``"csv"`` or ``"parquet"``), its ground truth to
    ``out/_truth/`` and, when ``dirty_out`` is given, a CSV copy with injected defects and
    ``_expected.json`` (see :mod:`riskgrade.simulate.dirty`).  Events go to
    ``events/part-NNN.<ext>`` when there are more than ``part_rows`` of them.

    Returns the summary also written to ``_truth/summary.json`` (``seed``, ``end``,
    ``counts`` per table, ``events_by_type``, ``files``, ``truth``) plus ``out``, ``paths``
    (absolute file paths per table), ``seconds`` (per stage) and, with ``dirty_out``,
    ``dirty`` (its expected counts).  ``progress(stage, fraction)`` is called as work advances.
    Raises :class:`SimulationError` (a ``RiskgradeError`` and ``ValueError``) on bad arguments.
    """
    if fmt not in FORMATS:
        raise SimulationError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if entities < 1:
        raise SimulationError("entities must be at least 1")
    if years < 1:
        raise SimulationError("years must be at least 1")
    if part_rows < 1:
        raise SimulationError("part_rows must be positive")
    if not regions.counties(province):
        raise SimulationError(f"no current county-level divisions for province prefix {province!r}")
    report: Progress = progress or (lambda stage, fraction: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(stage: str) -> None:
        timings[stage] = round(time.perf_counter() - t0 - sum(timings.values()), 3)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    window = Window(end, years)
    rng_for = rng_factory(seed)

    report("population", 0.0)
    pop = build(entities, province, window, rng_for, n_spare=dirty_mod.spare_usccs_needed(entities))
    lap("population")
    report("events", 0.1)
    store = events_mod.simulate(pop, rng_for)
    lap("events")
    report("tables", 0.3)
    dates = DateStrings(window.end - 21 * 366, window.end + 8 * 366)
    uscc = pop.uscc_matrix()
    delivery = {
        "entities": pop.entity_strings(dates, rng_for("strings.entities"), rng_for("strings.registration")),
        "relations": tables.relations(pop, uscc, rng_for("tables.relations")),
        "inspectors": tables.inspectors(pop, rng_for("tables.inspectors")),
        "domain_grades": tables.domain_grades(pop, uscc, dates, rng_for("tables.grades")),
    }
    paths: dict[str, list[str]] = {}
    for name, table in delivery.items():
        paths[name] = [str(write_table(table, out / name, fmt))]
    lap("tables")
    report("writing events", 0.35)
    ev_paths = write_events(store, out, fmt, part_rows, uscc, dates,
                            progress=lambda f: report("writing events", 0.35 + 0.6 * f))
    paths["events"] = [str(p) for p in ev_paths]
    lap("write_events")

    counts = {name: delivery[name].num_rows for name in delivery}
    counts["events"] = len(store)
    summary: dict[str, Any] = {
        "seed": seed,
        "end": end.isoformat(),
        "years": years,
        "window_start": window.start_date.isoformat(),
        "province": province,
        "format": fmt,
        "entities": entities,
        "counts": {name: counts[name] for name in TABLES},
        "events_by_type": store.counts(),
        "files": {name: [Path(p).relative_to(out).as_posix() for p in paths[name]] for name in TABLES},
        "truth": _truth_counts(pop),
    }
    _write_truth(out / "_truth", pop, summary)
    lap("truth")

    result = dict(summary)
    result["out"] = str(out)
    result["paths"] = paths
    if dirty_out is not None:
        report("dirty copy", 0.95)
        expected = dirty_mod.write_dirty(
            Path(dirty_out), seed=seed, entities=entities, pop=pop, store=store, uscc=uscc, dates=dates,
            tables=delivery, part_rows=part_rows, rng=rng_for("dirty"),
        )
        result["dirty"] = {"out": str(dirty_out), "expected": expected["tables"]}
        lap("dirty")
    result["seconds"] = timings
    report("done", 1.0)
    return result


def _truth_counts(pop: Population) -> dict[str, int]:
    return {
        "shells": int(pop.is_shell.sum()),
        "shell_clusters": int(np.unique(pop.cluster[pop.cluster >= 0]).size),
        "towers": int(np.unique(pop.tower[pop.tower >= 0]).size),
        "tower_tenants": int(((pop.tower >= 0) & ~pop.is_shell).sum()),
        "turned_risky": int((pop.change != NO_DAY).sum()),
        "deregistered": int((pop.status == 1).sum()),
        "revoked": int((pop.status == 2).sum()),
        "people": int(pop.n_people),
    }


def _dates32(days: np.ndarray) -> pa.Array:
    missing = days == NO_DAY
    return pa.array(np.where(missing, 0, days).astype(np.int32), type=pa.date32(), mask=missing)


def _write_truth(folder: Path, pop: Population, summary: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = pop.n
    table = pa.table(
        {
            "uscc": pa.array(pop.uscc_codes[:n], pa.string()),
            "entity_type": pa.array(np.asarray(ENTITY_TYPES)[pop.etype].astype(object), pa.string()),
            "region_code": pa.array(np.array([c.code for c in pop.counties])[pop.county].astype(object), pa.string()),
            "industry_code": pa.array(np.asarray(CLASSES)[pop.industry].astype(object), pa.string()),
            "established_on": _dates32(pop.est),
            "status": pa.array(np.asarray(STATUSES)[pop.status].astype(object), pa.string()),
            "base_risk": pa.array(pop.base_risk, pa.float64()),
            "risk_change_on": _dates32(pop.change),
            "risk_after": pa.array(pop.risk_after, pa.float64()),
            "is_shell": pa.array(pop.is_shell, pa.bool_()),
            "cluster_id": pa.array(pop.cluster.astype(np.int64), pa.int64(), mask=pop.cluster < 0),
            "tower_id": pa.array(pop.tower.astype(np.int64), pa.int64(), mask=pop.tower < 0),
            "legal_rep_id": pop.person_ids(pop.person),
            "phone_id": pop.phone_ids(),
            "deregistered_on": _dates32(pop.closed),
        }
    )
    pq.write_table(table, folder / "entities.parquet", compression="zstd")
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8")
