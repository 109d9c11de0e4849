"""Commands of the inspection stage (双随机、一公开): tasks, plans, results, effectiveness, exchange.

Handed to the ``riskgrade`` app by :func:`register`; each is a thin call into :mod:`riskgrade.inspection`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from ..sql import table_exists
from .common import (HomeOpt, as_date, audit, audit_export, err, open_store, out, progress, registry, settings,
                     sub_app, who, wide)


# --------------------------------------------------------------------------- tasks
def task_create(
    name: Annotated[str, typer.Option("--name", help="task name, e.g. 2026年第四季度食品经营者双随机抽查")],
    domain: Annotated[str, typer.Option("--domain", help="general, food, drug, special_equipment, ...")] = "general",
    region: Annotated[str, typer.Option("--region", help="GB/T 2260 prefix: 37 province, 3701 city, 370102 county")] = "",
    industry: Annotated[str, typer.Option("--industry", help="GB/T 4754 section letter or class prefix (F, 52, H6210)")] = "",
    entity_type: Annotated[Optional[list[str]], typer.Option("--entity-type", help="enterprise / individual / cooperative (repeatable)")] = None,
    items: Annotated[str, typer.Option("--items", help="check items (抽查事项), free text")] = "",
    item: Annotated[Optional[list[str]], typer.Option("--item", help="an item code of the 抽查事项清单 (repeatable; see `riskgrade items list`)")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="period start (YYYY-MM-DD)")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="period end (YYYY-MM-DD)")] = None,
    home: HomeOpt = None,
) -> None:
    """Create an inspection task; plans drawn for it stay within its scope."""
    from ..inspection.tasks import Task, create_task

    s = settings(home)
    if item:
        from ..inspection.items import check_codes, load_items

        if items:
            raise RiskgradeError("give --item codes or --items free text, not both")
        items = check_codes(load_items(home=s.home), domain, [x.strip().upper() for x in item])
    t = Task(None, name, domain, region, industry, tuple(entity_type or ()), items,
             as_date(start, "--start") if start else None, as_date(end, "--end") if end else None)
    t.validate()
    with open_store(s, write=True) as wh:
        with wh.transaction():
            t = create_task(wh.con, t)
    err.print(f"task {t.task_id} created: {t.name}")
    out.print(t.task_id)


def task_list(home: HomeOpt = None) -> None:
    """All inspection tasks."""
    from ..inspection.tasks import list_tasks

    s = settings(home)
    with open_store(s) as wh:
        tasks = list_tasks(wh.con) if table_exists(wh.con, "tasks") else []
    tab = Table(title="inspection tasks 抽查任务")
    for c in ("id", "name", "domain", "region", "industry", "entity types", "period"):
        tab.add_column(c)
    for t in tasks:
        d = t.describe()
        tab.add_row(str(t.task_id), t.name, t.domain, d["region_prefix"], d["industry_prefix"], d["entity_types"], d["period"])
    wide(tab)


def task_show(task_id: Annotated[int, typer.Argument(help="task id")], home: HomeOpt = None) -> None:
    """One task, with the plans drawn for it."""
    from ..inspection.queries import task_plans
    from ..inspection.tasks import get_task

    s = settings(home)
    with open_store(s) as wh:
        if not table_exists(wh.con, "tasks"):
            raise RiskgradeError(f"no inspection task {task_id}: see `riskgrade task list`")
        t = get_task(wh.con, task_id)
        plans = task_plans(wh.con, task_id)
    for k, v in t.describe().items():
        out.print(f"{k}: {v}", highlight=False)
    for p in plans:
        out.print(f"plan {p[0]}: as of {p[1]}, seed {p[2]}, {p[3]:,} entities", highlight=False)


def task_target(
    task_id: Annotated[int, typer.Argument(help="task id")],
    uscc: Annotated[list[str], typer.Option("--uscc", help="an entity the task must inspect (repeatable)")],
    reason: Annotated[str, typer.Option("--reason", help="why (定向抽查 reason)")] = "",
    home: HomeOpt = None,
) -> None:
    """Add entities a task must inspect (定向抽查): every plan of the task includes them."""
    from ..ingest.queries import held_usccs
    from ..inspection.tables import add_targets, ensure_schema
    from ..inspection.tasks import get_task

    s = settings(home)
    codes = sorted({u.strip().upper() for u in uscc})
    with open_store(s, write=True) as wh:
        ensure_schema(wh.con)
        get_task(wh.con, task_id)
        known = held_usccs(wh.con, codes)
        unknown = [u for u in codes if u not in known]
        if unknown:
            raise RiskgradeError(f"not a held entity: {', '.join(unknown[:3])}")
        with wh.transaction():
            add_targets(wh.con, task_id, codes, reason)
    err.print(f"task {task_id}: {len(codes)} targeted entities added")


def items_list(
    domain: Annotated[Optional[str], typer.Option("--domain", help="only this domain's items")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="a list to check instead of the home's or the shipped one")] = None,
    home: HomeOpt = None,
) -> None:
    """The province's inspection items (抽查事项清单), by domain: code, name, legal basis, method, department."""
    from ..inspection.items import METHODS, load_items

    s = settings(home)
    lst = load_items(file, home=s.home)
    tab = Table(title=f"inspection items 抽查事项清单 ({lst.version})")
    for c in ("domain", "code", "item", "basis 依据", "method", "department"):
        tab.add_column(c)
    for d, its in lst.domains.items():
        if domain and d != domain:
            continue
        for it in its:
            tab.add_row(d, it.code, it.name_zh, it.basis, METHODS[it.method][0], it.department)
    wide(tab)


# --------------------------------------------------------------------------- plans
def plan(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification (month end) the plan draws from")],
    seed: Annotated[str, typer.Option("--seed", help="the published random seed (same seed, same plan)")],
    out_file: Annotated[Path, typer.Option("--out", help="the plan: .csv, .parquet or .json")],
    budget: Annotated[Optional[int], typer.Option("--budget", help="at most this many inspections (ratios fitted to it)")] = None,
    task: Annotated[Optional[int], typer.Option("--task", help="task id (default: province-wide general task)")] = None,
    optimise: Annotated[bool, typer.Option("--optimise", help="allocate the budget to maximise expected findings")] = False,
    sampling: Annotated[Optional[Path], typer.Option("--sampling", help="sampling YAML (ratios, floors, ...)")] = None,
    cross_county: Annotated[Optional[bool], typer.Option("--cross-county/--same-county", help="inspectors from the whole city")] = None,
    conflicts: Annotated[Optional[Path], typer.Option("--conflicts", help="CSV inspector_id,uscc of conflicts to avoid")] = None,
    publish: Annotated[Optional[Path], typer.Option("--publish", help="also write the publication package to this folder")] = None,
    home: HomeOpt = None,
) -> None:
    """Draw a risk-weighted double-random inspection plan (双随机抽查) with inspectors."""
    from ..export import write_query
    from ..inspection.plan import make_plan, plan_query
    from ..inspection.disclosure import sealed_folder, write_package

    s = settings(home)
    d = as_date(as_of, "--as-of")
    if publish:
        from ..inspection.config import load_sampling

        if load_sampling(sampling).approval.cli:
            raise RiskgradeError("--publish: plans drawn here wait for approval (approval.cli in the sampling "
                                 "configuration); a plan is disclosed (一公开) only once it is approved")
    _ensure_classified(s, d)
    res = make_plan(s.home, d, seed=seed, budget=budget, task_id=task, optimise=optimise, sampling_path=sampling,
                    cross_county=cross_county, conflicts_path=conflicts, memory_limit=s.memory_limit,
                    threads=s.threads, lock_timeout=s.lock_timeout, progress=progress)
    with open_store(s, write=bool(publish)) as wh:
        write_query(wh.con, plan_query(res.plan_id), out_file)
        if publish:
            with wh.transaction():
                write_package(wh.con, res.plan_id, publish, sealed_folder(s.home, res.plan_id))
    audit_export(s, "export_plan", out_file, res.rows, {"plan": res.plan_id, "publish": str(publish or "")})
    _to_registry(s, res, sampling)
    _print_plan(res)
    err.print(f"plan {res.plan_id} ({res.rows:,} entities) written to {out_file}; content hash {res.content_hash}")
    if publish:
        err.print(f"public package (一公开: selected entities, revealed seed, commitment) written to {publish}; "
                  f"the sealed package for auditors (纪检/法制审核; strata, grades, probabilities) to "
                  f"{sealed_folder(s.home, res.plan_id)} (restricted; verify with `riskgrade plans verify {publish}`)")


def _to_registry(s, res, sampling: Path | None) -> None:
    """A plan drawn after its month was published is copied to the registry at once, so the console lists it
    (``riskgrade publish`` copies the plans drawn before); with ``approval.cli`` in the sampling configuration it
    then waits for approval there.  Without a registry, or before the month is published: nothing to do."""
    from ..inspection.config import load_sampling
    from ..registry import approvals, queries
    from ..registry.db import REGISTRY_FILE
    from ..registry.publish import publish_plan

    if not s.database_url and not (s.home / REGISTRY_FILE).exists():
        return
    factory = registry(s)
    if queries.latest_snapshot(factory, res.as_of) is None:
        return
    publish_plan(s.home, factory, res.plan_id, lock_timeout=s.lock_timeout)
    detail = {"as_of": res.as_of.isoformat(), "drawn": res.rows, "content_hash": res.content_hash}
    if load_sampling(sampling).approval.cli:
        approvals.request(factory, res.plan_id, f"cli:{who()}")
        detail["approval"] = approvals.DRAFT
    audit(factory, "plan_publish", str(res.plan_id), detail)
    err.print(f"plan {res.plan_id} copied to the registry: the console lists it"
              + (" (waiting for approval)" if "approval" in detail else ""))


def _ensure_classified(s, d) -> None:
    """A plan needs the month's grades: classify first when the month has no snapshot yet."""
    from ..snapshot import classify
    from ..snapshot import has_snapshot

    with open_store(s) as wh:
        have = has_snapshot(wh.con, d)
    if not have:
        err.print(f"[yellow]no classification as of {d} yet: classifying first[/yellow]")
        r = classify(s.home, d, memory_limit=s.memory_limit, threads=s.threads, lock_timeout=s.lock_timeout,
                     progress=progress)
        err.print(f"model: {r.model} — {r.model_reason}", highlight=False)


def _f(v: float | None, fmt: str = "{:,.1f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _print_plan(res) -> None:
    tab = Table(title=f"inspection plan {res.plan_id} as of {res.as_of} — seed {res.seed} — {res.task.name}")
    for c in ("grade", "in scope", "forced", "recent", "trigger", "eligible", "ratio", "rate", "drawn",
              "p(find)", "expected", "uniform"):
        tab.add_column(c, justify="right")
    for ln in res.grades:
        tab.add_row(ln.grade, f"{ln.in_scope:,}", f"{ln.forced:,}", f"{ln.recent:,}", f"{ln.trigger_only:,}",
                    f"{ln.eligible:,}", f"{ln.ratio:.1%}", f"{ln.rate:.2%}", f"{ln.drawn:,}",
                    _f(ln.finding_rate, "{:.1%}"), _f(ln.expected), _f(ln.uniform_expected))
    wide(tab)
    out.print("recent: inspected or planned within the frequency limit; trigger: 四新 A/B, inspected only on a trigger; "
              "expected: problems expected from this plan; uniform: from a uniform random draw of the same size",
              style="dim", highlight=False)
    if res.expected is not None:
        out.print(f"expected problems found: {res.expected:,.1f} against {res.uniform_expected:,.1f} for a uniform draw "
                  f"of the same size (lift {res.lift:.2f}x; probabilities from the {res.probability_source})",
                  highlight=False)
    if res.workload:
        used, hi, lo, spread = res.workload
        out.print(f"inspectors: {used:,} used; workload max {hi}, min {lo} per inspector (largest spread within one "
                  f"county pool: {spread}); {res.unassigned:,} entities without a full team"
                  + (" — try --cross-county" if res.unassigned else ""), highlight=False)
    for n in res.notes:
        err.print(f"[yellow]note:[/yellow] {n}", highlight=False)


def plans_list(home: HomeOpt = None) -> None:
    """Drawn plans, newest last."""
    from ..inspection.queries import plan_list

    with open_store(home) as wh:
        rows = plan_list(wh.con)
    tab = Table(title="inspection plans 抽查计划")
    for c in ("plan", "as of", "task", "seed", "budget", "drawn", "with results", "created"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(*["" if v is None else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)) for v in r])
    wide(tab)


def plans_show(
    plan_id: Annotated[int, typer.Argument(help="plan id")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the plan's entities (.csv/.parquet/.json)")] = None,
    home: HomeOpt = None,
) -> None:
    """A plan's record: seed, algorithm, population hash, allocation; optionally its entities."""
    import json

    from ..export import write_query
    from ..inspection.plan import plan_query
    from ..inspection.queries import plan_manifest

    with open_store(home) as wh:
        manifest = plan_manifest(wh.con, plan_id)
        if manifest is None:
            raise RiskgradeError(f"no plan {plan_id}: see `riskgrade plans list`")
        if out_file:
            n = write_query(wh.con, plan_query(plan_id), out_file)
            err.print(f"{n:,} planned entities written to {out_file}")
    if out_file:
        audit_export(home, "export_plan", out_file, n, {"plan": plan_id})
    m = json.loads(manifest)
    m.pop("strata", None)
    out.print_json(json.dumps(m, ensure_ascii=False))


def plans_verify(folder: Annotated[Path, typer.Argument(help="a publication package (plan --publish DIR)")]) -> None:
    """Recompute a published draw from its seed and population; fails if the selection differs."""
    from ..inspection.disclosure import verify_package

    import json

    from ..inspection.disclosure import sealed_folder

    s = settings(None)
    try:
        plan_id = int(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["plan_id"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RiskgradeError(f"{folder}: not a complete publication package ({e})") from None
    sealed = sealed_folder(s.home, plan_id)
    with open_store(s) as wh:
        r = verify_package(folder, wh.con, sealed if (sealed / "plan.json").exists() else None)
    out.print(f"[green]verified[/green]: plan {r['plan_id']}, {r['drawn']:,} entities drawn with seed {r['seed']}, "
              f"which hashes to the commitment {r['commitment']}; checked: {', '.join(r['checked'])}", highlight=False)


# --------------------------------------------------------------------------- results
def results_import(
    path: Annotated[Path, typer.Argument(help="inspection results: events in the contract format (file or folder)")],
    plan_id: Annotated[int, typer.Option("--plan", help="the plan the results answer")],
    rejected_file: Annotated[Optional[Path], typer.Option(
        "--rejected", help="write every rejected line to this CSV (file, line, column, reason code and text, "
                           "the original line)")] = None,
    home: HomeOpt = None,
) -> None:
    """Load inspection results (as events, through the normal ingest) and link them to their plan."""
    import hashlib

    from ..service.errors import Refused
    from ..service.results import intake, write_rejected
    from .common import audit_action, who

    s = settings(home)
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in (".csv", ".xlsx", ".parquet")
                       and not f.name.startswith((".", "_")))
        if not files:
            raise RiskgradeError(f"no results file (.csv, .xlsx, .parquet) in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise RiskgradeError(f"no such file or folder: {path}")
    uploader = f"cli:{who()}"
    rejected: list[tuple[str, dict]] = []
    failed: RiskgradeError | None = None
    for f in files:
        data = f.read_bytes()
        base = {"path": str(f.resolve()), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "via": "cli"}
        try:
            r = intake(s.home, plan_id, data, region="", uploader=uploader)
        except Refused as e:
            lines = e.fields.get("rejected", [])
            rejected += [(f.name, x) for x in lines]
            for x in lines[:200]:
                err.print(f"{f.name}: line {x['line']}, {x['column'] or 'row'}: {x['reason']}", highlight=False,
                          markup=False)
            audit_action(s, "results_refused", str(plan_id), {**base, "reason": e.message[:500],
                                                              "rejected": len(lines)})
            failed = RiskgradeError(f"{f.name}: {e.message}")
            break
        rejected += [(f.name, x) for x in r["rejections"]]
        audit_action(s, "upload_results", str(plan_id), {
            **base, "file": r["file"], "read": r["read"], "accepted": r["accepted"], "rejected": r["rejected"],
            "skipped": r["skipped"], "linked": r["linked"], "updated": r["updated"], "upload_id": r["upload_id"]})
        for x in r["rejections"]:
            err.print(f"{f.name}: line {x['line']}, {x['column'] or 'row'}: {x['reason']}"
                      + (f" ({x['value']})" if x["value"] else ""), highlight=False, markup=False)
        err.print(f"results: {r['read']:,} read, {r['accepted']:,} accepted ({r['updated']:,} updated, "
                  f"{r['unchanged']:,} unchanged), {r['rejected']:,} rejected; upload {r['upload_id']}, kept in "
                  f"uploads/{r['file']}", highlight=False, markup=False, soft_wrap=True)
        if r["skipped"]:
            err.print(f"{f.name}: {r['skipped']:,} rows without a result skipped (未填写结果，已跳过 {r['skipped']:,} 行)",
                      highlight=False, markup=False, soft_wrap=True)
        out.print(f"plan {plan_id}: {r['linked']:,} results newly linked; {r['with_result']:,} of {r['planned']:,} "
                  f"planned entities have a result", highlight=False, soft_wrap=True)
    if rejected_file is not None:
        n = write_rejected(rejected_file, rejected)
        audit_export(s, "export_rejected_results", rejected_file, n, {"plan": plan_id})
        err.print(f"{n:,} rejected lines written to {rejected_file}", highlight=False, markup=False)
    if failed is not None:
        raise failed


def results_link(
    plan_id: Annotated[int, typer.Option("--plan", help="the plan")],
    home: HomeOpt = None,
) -> None:
    """Link inspection records already held (delivered by a normal ingest) to a plan."""
    from ..inspection.results import link_results

    s = settings(home)
    with open_store(s, write=True) as wh:
        if not table_exists(wh.con, "plans"):
            raise RiskgradeError(f"no plan {plan_id}: draw one with `riskgrade plan` first")
        with wh.transaction():
            r = link_results(wh.con, plan_id)
    out.print(f"plan {plan_id}: {r.linked:,} results newly linked; {r.with_result:,} of {r.planned:,} planned entities "
              f"have a result", highlight=False)


def export_results(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    plan_id: Annotated[Optional[int], typer.Option("--plan", help="results of this plan")] = None,
    task_id: Annotated[Optional[int], typer.Option("--task", help="results of all plans of this task")] = None,
    home: HomeOpt = None,
) -> None:
    """Inspection results for publication (一公开): name, USCC, task, date, result. No grade, no score."""
    from ..export import write_query
    from ..inspection.results import public_results_query

    if (plan_id is None) == (task_id is None):
        raise RiskgradeError("give exactly one of --plan or --task")
    s = settings(home)
    with open_store(s) as wh:
        if not table_exists(wh.con, "plan_results"):
            raise RiskgradeError("no inspection results yet: `riskgrade results import FILE --plan ID`")
        n = write_query(wh.con, public_results_query(plan_id, task_id), out_file)
    audit_export(s, "export_results", out_file, n, {"plan": plan_id, "task": task_id})
    err.print(f"{n:,} public inspection results written to {out_file}")


def export_directory(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification's as-of date")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv or .json (also .parquet)")],
    home: HomeOpt = None,
) -> None:
    """The inspection-object directory (检查对象名录库) for a double-random platform: grade and labels."""
    from ..export import write_query
    from ..inspection.exchange import directory_query
    from ..snapshot import current_snapshot

    s = settings(home)
    d = as_date(as_of, "--as-of")
    with open_store(s) as wh:
        n = write_query(wh.con, directory_query(current_snapshot(wh.con, d)), out_file)
    audit_export(s, "export_directory", out_file, n, {"as_of": d.isoformat()})
    err.print(f"{n:,} entities written to {out_file} (internal: carries risk grades)")


# --------------------------------------------------------------------------- effectiveness
def effectiveness(
    plan_id: Annotated[Optional[int], typer.Option("--plan", help="one plan")] = None,
    task_id: Annotated[Optional[int], typer.Option("--task", help="all plans of a task")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the report: .html or .json")] = None,
    lang: Annotated[str, typer.Option("--lang", help="report language: zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """Effectiveness (监管效能): finding rate by grade, against a uniform draw, lift, A-class disturbed."""
    from ..inspection import effectiveness as eff

    s = settings(home)
    with open_store(s) as wh:
        m = eff.measure(wh.con, eff.plans_of(wh.con, plan_id, task_id))
    if out_file:
        eff.write_report(m, out_file, lang)
        err.print(f"effectiveness report written to {out_file}")
    tab = Table(title=f"inspection effectiveness, plans {', '.join(map(str, m['plans']))}")
    for c in ("grade", "planned", "inspected", "expected", "problems", "rate", "95% interval"):
        tab.add_column(c, justify="right")
    for g in m["grades"]:
        tab.add_row(g["grade"], f"{g['planned']:,}", f"{g['inspected']:,}", _f(g.get("expected")), f"{g['found']:,}",
                    _f(g["rate"], "{:.1%}"),
                    f"{g['ci_low']:.1%}-{g['ci_high']:.1%}" if g["ci_low"] is not None else "n/a")
    out.print(tab)
    if m.get("expected_found") is not None:
        out.print(f"the model expected {m['expected_found']:,.1f} problems in the inspections made; found {m['found']:,}",
                  highlight=False)
    out.print(f"found {m['found']:,} problems in {m['inspected']:,} inspections ({_f(m['rate'], '{:.1%}')}); the eligible "
              f"population's estimated rate is {_f(m['prevalence_estimate'], '{:.1%}')}, so a uniform draw would have "
              f"found {_f(m['uniform_expected_found'])}: lift {_f(m['lift'], '{:.2f}x')}; A-class entities inspected on "
              f"site: {_f(m['a_disturbed_share'], '{:.2%}')}", highlight=False)


# --------------------------------------------------------------------------- simulated results
def simulate_results_cmd(
    plan_id: Annotated[int, typer.Option("--plan", help="the plan to simulate results for")],
    delivery: Annotated[Path, typer.Option("--delivery", help="the simulated delivery (its _truth/ is used)")],
    out_file: Annotated[Path, typer.Option("--out", help="results file (.csv or .parquet), events format")],
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 1,
    home: HomeOpt = None,
) -> None:
    """Simulate the inspection results of a plan from a simulated province's ground truth (demos, benchmarks)."""
    from ..inspection.queries import plan_as_of, plan_check_modes
    from ..simulate.results import simulate_results, write_results

    with open_store(home) as wh:
        as_of = plan_as_of(wh.con, plan_id)
        if as_of is None:
            raise RiskgradeError(f"no plan {plan_id}: see `riskgrade plans list`")
        plan = plan_check_modes(wh.con, plan_id)
    t = simulate_results(delivery / "_truth", plan, as_of, seed=seed, plan_id=plan_id)
    write_results(t, out_file)
    err.print(f"{t.num_rows:,} simulated inspection results written to {out_file}")


# --------------------------------------------------------------------------- seed commitments
def seed_commit(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification (month end) the plans will draw from")],
    seed: Annotated[str, typer.Option("--seed", help="the seed the plans will be drawn with (revealed when published)")],
    task: Annotated[Optional[int], typer.Option("--task", help="task id (default: province-wide general task)")] = None,
    source: Annotated[str, typer.Option("--source", help="where the seed comes from, published with the commitment")] = "",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the public commitment (JSON) here")] = None,
    home: HomeOpt = None,
) -> None:
    """Commit a plan's seed before the draw: publish the printed commitment in advance (一公开)."""
    import json

    from ..inspection.commitment import commit
    from ..inspection.tables import ensure_schema
    from ..inspection.tasks import get_task

    s = settings(home)
    d = as_date(as_of, "--as-of")
    with open_store(s, write=True) as wh:
        ensure_schema(wh.con)
        if task is not None:
            get_task(wh.con, task)
        with wh.transaction():
            c = commit(wh.con, seed, d, task, source)
    text = json.dumps(c.public(), ensure_ascii=False, indent=2) + "\n"
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"public commitment written to {out_file}: publish it before the draw")
    out.print(c.commitment, highlight=False)


def register(app: typer.Typer) -> None:
    task_app = typer.Typer(help="Inspection tasks (抽查任务): scope, domain, check items, period.", no_args_is_help=True)
    app.add_typer(task_app, name="task")
    plans_app = typer.Typer(help="Drawn inspection plans: list, show, verify a published draw.", no_args_is_help=True)
    app.add_typer(plans_app, name="plans")
    results_app = typer.Typer(help="Inspection results coming back (抽查结果).", no_args_is_help=True)
    app.add_typer(results_app, name="results")
    export_app = sub_app(app, "export")
    seed_app = typer.Typer(help="Seed commitments: fix and publish a draw's seed before the draw (一公开).",
                           no_args_is_help=True)
    app.add_typer(seed_app, name="seed")
    seed_app.command("commit")(seed_commit)
    task_app.command("create")(task_create)
    task_app.command("list")(task_list)
    task_app.command("show")(task_show)
    task_app.command("target")(task_target)
    items_app = typer.Typer(help="The province's inspection items (抽查事项清单).", no_args_is_help=True)
    app.add_typer(items_app, name="items")
    items_app.command("list")(items_list)
    app.command()(plan)
    plans_app.command("list")(plans_list)
    plans_app.command("show")(plans_show)
    plans_app.command("verify")(plans_verify)
    results_app.command("import")(results_import)
    results_app.command("link")(results_link)
    export_app.command("results")(export_results)
    export_app.command("directory")(export_directory)
    app.command()(effectiveness)
    app.command("simulate-results")(simulate_results_cmd)
