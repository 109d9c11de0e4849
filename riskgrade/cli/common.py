"""What every command group shares: the consoles, the ``--home`` option, settings, progress lines, date
parsing, the one way to open the store, the registry and its audit log, and the wide-table printer.

Group modules import from here, never from :mod:`riskgrade.cli` (which imports them).
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .. import settings as settings_mod
from ..errors import RiskgradeError

out = Console()  # results
err = Console(stderr=True, soft_wrap=True)  # progress and messages: one line each, never wrapped

HomeOpt = Annotated[
    Optional[Path],
    typer.Option("--home", help="data home (default: $RISKGRADE_HOME or ./riskgrade-data)", show_default=False),
]
# the root --home (riskgrade --home DIR COMMAND), which a command's own --home overrides
state: dict[str, Path | None] = {"home": None}

ACTOR = os.environ.get("USER", "cli")


def settings(home: Path | None) -> settings_mod.Settings:
    return settings_mod.load(home or state["home"])


def progress(msg: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}", highlight=False)


def as_date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RiskgradeError(f"{flag}: not a date (YYYY-MM-DD): {value}") from None


def open_store(where: settings_mod.Settings | Path | None, *, write: bool = False):
    """The warehouse of a data home (a command's ``--home``, or its settings), opened with the home's
    settings: lock timeout, memory limit, threads.  Use as a context manager."""
    from ..warehouse import Warehouse

    s = where if isinstance(where, settings_mod.Settings) else settings(where)
    return Warehouse(s.home, write=write, lock_timeout=s.lock_timeout, memory_limit=s.memory_limit, threads=s.threads)


def registry(s: settings_mod.Settings):
    """The registry's session factory (migrated on first use)."""
    from ..registry.db import open_registry

    return open_registry(s.home, s.database_url)


def audit(factory, action: str, target: str = "", detail: dict | None = None) -> None:
    """Append a command's action to the registry's hash-chained audit log, as ``cli:$USER``."""
    from ..registry import audit as audit_log

    audit_log.append(factory, f"cli:{ACTOR}", action, target, detail)


def sub_app(app: typer.Typer, name: str) -> typer.Typer:
    """The sub-command group ``name`` already added to ``app`` (e.g. ``export``)."""
    for g in app.registered_groups:
        if g.name == name:
            return g.typer_instance
    raise KeyError(name)


def wide(tab: Table) -> None:
    """Print a wide table whole, also when stdout is not a terminal (80 columns by default)."""
    Console(width=max(out.width, 130)).print(tab)


def show_classification(res, title: str) -> None:
    """The model and why, the grade table and the content hash of a sealed month (classify, spark-submit)."""
    err.print(f"model: [bold]{res.model}[/bold] — {res.model_reason}", highlight=False)
    tab = Table(title=title)
    tab.add_column("grade")
    tab.add_column("entities", justify="right")
    tab.add_column("share", justify="right")
    for g, n in res.grade_counts.items():
        tab.add_row(g, f"{n:,}", f"{n / max(res.entities, 1):.1%}")
    tab.add_row("all", f"{res.entities:,}", "100%")
    out.print(tab)
    err.print(f"sealed: content hash {res.content_hash}")
