"""``riskgrade alerts rules``: the warning-rule catalog with each rule's measured precision and lift.

Registered into the ``alerts`` group made by :mod:`.warning` (after it, see ``GROUPS``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import HomeOpt, err, open_store, out, wide


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _lift(m: dict | None) -> str:
    if not m or m.get("lift") is None:
        return ""
    lo, hi = m.get("lift_low"), m.get("lift_high")
    return f"{m['lift']:.2f}" + (f" ({lo:.2f}-{hi:.2f})" if lo is not None and hi is not None else "")


def alerts_rules(
    muted: Annotated[bool, typer.Option("--muted", help="only the rules muted now (for review)")] = False,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="warning-rule catalog YAML (default: built-in)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    home: HomeOpt = None,
) -> None:
    """The rule catalog: code, name, severity, measured precision and lift at 6 and 12 months, muted.

    Precision: the share of alerted entities with an adverse outcome (defaults/outcomes.yaml) within 6 or
    12 months after the alert; lift: that share against the entities active in the same months (1 = no
    better than chance).  Only alerts whose follow-up window has ended are measured."""
    from ..warning.precision import catalog_rows
    from ..warning.rules import load_rules

    catalog = load_rules(rules)
    with open_store(home) as wh:
        rows, end = catalog_rows(wh.con, catalog)
    if muted:
        rows = [r for r in rows if r["muted"]]
    if as_json:
        out.print_json(json.dumps({"measured_to": end.isoformat() if end else None, "rules": rows}, default=str))
        return
    s = catalog.suppression
    tab = Table(title=f"warning rules 预警规则 (measured to {end or '-'}; muted below lift {s.min_lift}"
                      f" with at least {s.min_measured} measured alerts)")
    for c in ("code", "名称", "severity", "precision 6m", "lift 6m", "precision 12m", "lift 12m", "measured", "muted"):
        tab.add_column(c, justify="right" if c in ("measured",) else "left")
    for r in rows:
        m6, m12 = r["m6"], r["m12"]
        tab.add_row(r["code"], r["name_zh"], r["severity"], _pct(m6 and m6["precision"]), _lift(m6),
                    _pct(m12 and m12["precision"]), _lift(m12), f"{r['measured']:,}",
                    ("yes" if r["muted"] else "no") + ("" if r["mute"] == "auto" else f" ({r['mute']})")
                    + ("" if r["enabled"] else " (disabled)"))
    wide(tab)
    if muted and not rows:
        err.print("no rule is muted")


def register(app: typer.Typer) -> None:
    group = next(g.typer_instance for g in app.registered_groups if g.name == "alerts")
    group.command("rules")(alerts_rules)
