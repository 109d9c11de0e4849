"""Commands of the governed model lifecycle (模型管理): ``riskgrade model train|approve|list|card``.

Handed to the ``riskgrade`` app by :func:`register`; each a thin call into
:mod:`riskgrade.scoring.lifecycle` and :mod:`riskgrade.scoring.train`.  Approval is recorded in the
data home's model log and in the registry's hash-chained audit log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from .common import ACTOR, HomeOpt, as_date, audit, audit_export, err, open_store, out, progress, registry, settings


def _audit(s, action: str, target: str, detail: dict) -> None:
    audit(registry(s), action, target, detail)


def _names(lang: str) -> dict[str, str]:
    from ..indicators import load_catalog

    names = {i.code: (i.name_zh if lang == "zh" else i.name_en) for i in load_catalog().indicators}
    names["entity_type"] = "主体类型" if lang == "zh" else "entity type"
    return names


def _card(s, model_id: str, out_file: Path, lang: str) -> None:
    from ..scoring import lifecycle
    from ..scoring.card import render_model_card

    rec = lifecycle.record(s.home / "models", model_id)
    with open_store(s) as wh:
        rows = [r for r in lifecycle.list_models(wh.con) if r["model_id"] == model_id]
    if rows:
        rec = {**rec, "status": rows[0]["status"], "approved_by": rows[0]["approved_by"],
               "approved_at": str(rows[0]["approved_at"] or "")}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(render_model_card(rec, lang, _names(lang)), encoding="utf-8")


def model_train(
    as_of: Annotated[str, typer.Option("--as-of", help="month end to train as of (YYYY-MM-DD)")],
    card: Annotated[Optional[Path], typer.Option("--card", help="write the model card (.html)")] = None,
    outcomes: Annotated[Optional[Path], typer.Option("--outcomes", help="outcome definition YAML (default: built-in)")] = None,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML (default: built-in)")] = None,
    scorecard: Annotated[Optional[Path], typer.Option("--scorecard", help="expert scorecard YAML")] = None,
    grading: Annotated[Optional[Path], typer.Option("--grading", help="grading YAML (target shares)")] = None,
    fusion: Annotated[Optional[Path], typer.Option("--fusion", help="professional-domain fusion YAML")] = None,
    lang: Annotated[str, typer.Option("--lang", help="the card's language: zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """Train a candidate model as of a date and compare it out of time with the expert scorecard and the
    approved model; it grades nobody until approved."""
    from ..indicators import load_catalog
    from ..indicators.domains import load_fusion
    from ..scoring import ExpertScorecard, fusion as fu, lifecycle, load_grading, load_scorecard
    from ..scoring.outcomes import load_outcomes
    from ..scoring.train import train_candidate

    s = settings(home)
    wh = open_store(s, write=True)
    d = as_date(as_of, "--as-of")
    oc = load_outcomes(outcomes)
    fz = load_fusion(fusion)
    cat = load_catalog(catalog, fusion=fz)
    expert = ExpertScorecard(fu.general_scorecard(load_scorecard(scorecard), cat)).fit(
        [i.code for i in cat.enabled], directions={i.code: i.risk_direction for i in cat.enabled})
    with wh:
        current = lifecycle.approved_id(wh.con)
        approved = lifecycle.load(s.home / "models", current) if current else None
        rep, model = train_candidate(wh.con, cat, expert, d, s.home / "models",
                                     target_shares=load_grading(grading).target_shares, outcomes=oc, approved=approved,
                                     approved_id=current, margin=oc.governance.margin,
                                     bootstrap=oc.governance.bootstrap, progress=progress)
        if model is None:
            raise RiskgradeError(f"no candidate: {rep.reason}")
        lifecycle.register(wh.con, s.home / "models", rep.model_id or "", f"cli:{ACTOR}")
    _audit(s, "model_train", rep.model_id or "", {"as_of": d.isoformat(), "auc": rep.auc_trained,
                                                  "auc_expert": rep.auc_expert})
    err.print(f"candidate {rep.model_id}: {rep.reason}", highlight=False)
    va = rep.details.get("versus_approved")
    if va:
        verdict = "better than" if va["better"] else "not better than"
        err.print(f"against the approved {va['model_id']}: AUC difference {va['value']:+.3f} (95% interval "
                  f"{va['low']:+.3f} to {va['high']:+.3f}): {verdict} the approved model beyond the margin "
                  f"{oc.governance.margin:.3f}; it would change {va['churn']:.1%} of grades", highlight=False)
    elif rep.better_than_expert:
        err.print("no model is approved yet; this candidate is better than the expert scorecard beyond the margin")
    left = rep.details.get("left_out") or {}
    if left:
        err.print(f"left out ({len(left)}): " + "; ".join(f"{k}: {v}" for k, v in sorted(left.items())), highlight=False)
    if card:
        _card(s, rep.model_id or "", card, lang)
        audit_export(s, "model_card", card, None, {"model": rep.model_id or "", "lang": lang})
        err.print(f"model card written to {card}")
    out.print(rep.model_id)


def model_approve(
    model_id: Annotated[str, typer.Argument(help="the model to approve (riskgrade model list)")],
    force: Annotated[bool, typer.Option("--force", help="approve although it is not better beyond the margin")] = False,
    note: Annotated[str, typer.Option("--note", help="why (required with --force)")] = "",
    home: HomeOpt = None,
) -> None:
    """Make a candidate the approved model that classify uses (administrators; audited)."""
    from ..scoring import lifecycle

    s = settings(home)
    wh = open_store(s, write=True)
    with wh:
        msg = lifecycle.approve(wh.con, s.home / "models", model_id, f"cli:{ACTOR}", force=force, note=note)
    _audit(s, "model_approve", model_id, {"force": force, "note": note, "result": msg})
    err.print(msg, highlight=False)


def model_list(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    home: HomeOpt = None,
) -> None:
    """The models of this data home: candidates, the approved one, retired ones."""
    from ..scoring import lifecycle

    s = settings(home)
    wh = open_store(s)
    with wh:
        rows = lifecycle.list_models(wh.con)
    if as_json:
        out.print_json(json.dumps(rows, default=str, ensure_ascii=False))
        return
    tab = Table(title="models")
    for c in ("model", "status", "trained as of", "AUC", "expert AUC", "gain low", "approved by", "approved at"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(r["model_id"], r["status"], str(r["as_of"] or ""), f"{r['auc']:.3f}" if r["auc"] is not None else "",
                    f"{r['auc_expert']:.3f}" if r["auc_expert"] is not None else "",
                    f"{r['gain_low']:+.3f}" if r["gain_low"] is not None else "", r["approved_by"] or "",
                    str(r["approved_at"] or ""))
    out.print(tab)
    if not rows:
        err.print("no models yet: `riskgrade model train --as-of DATE` trains a candidate")


def model_card(
    model_id: Annotated[str, typer.Argument(help="the model (riskgrade model list)")],
    out_file: Annotated[Path, typer.Option("--out", help="the model card (.html)")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """The model card (模型卡) of a model: data, outcome, weighting, comparison, directions, calibration."""
    s = settings(home)
    _card(s, model_id, out_file, lang)
    audit_export(s, "model_card", out_file, None, {"model": model_id, "lang": lang})
    err.print(f"model card of {model_id} written to {out_file}")


def register(app: typer.Typer) -> None:
    model_app = typer.Typer(help="Trained models: train a candidate, approve it, list them, write a model card (模型管理).",
                            no_args_is_help=True)
    app.add_typer(model_app, name="model")
    model_app.command("train")(model_train)
    model_app.command("approve")(model_approve)
    model_app.command("list")(model_list)
    model_app.command("card")(model_card)
