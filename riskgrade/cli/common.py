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


def private_umask() -> None:
    """Files and folders the program creates are its user's alone (0600/0700): set at every command's start
    (``riskgrade serve`` included, whose workers inherit it)."""
    os.umask(0o077)


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


def who() -> str:
    """Who runs a command, for the audit log: ``$RISKGRADE_USER``, else the login name."""
    import getpass

    try:
        return os.environ.get("RISKGRADE_USER") or getpass.getuser()
    except (KeyError, OSError):
        return ACTOR


def file_digest(target: Path) -> dict:
    """What the audit log records of a written output: its size in bytes and its SHA-256 (a folder: the
    SHA-256 of each file's relative path and SHA-256, in order, and the bytes of all of them); {} when it
    does not exist."""
    import hashlib

    def sha(p: Path) -> str:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    t = Path(target)
    if t.is_file():
        return {"bytes": t.stat().st_size, "sha256": sha(t)}
    if t.is_dir():
        files = sorted(p for p in t.rglob("*") if p.is_file())
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.relative_to(t).as_posix()}\0{sha(p)}\n".encode())
        return {"bytes": sum(p.stat().st_size for p in files), "files": len(files), "sha256": h.hexdigest()}
    return {}


def audit_action(home: settings_mod.Settings | Path | None, action: str, target: str,
                 detail: dict | None = None) -> None:
    """Append a command's action to the registry's audit log as ``cli:<who>`` (created on demand); if the entry
    cannot be written the command fails."""
    from ..registry import audit as audit_log

    s = home if isinstance(home, settings_mod.Settings) else settings(home)
    audit_log.append(registry(s), f"cli:{who()}", action, target, detail or {})


def audit_export(home: settings_mod.Settings | Path | None, action: str, target: Path | str, rows: int | None,
                 detail: dict | None = None) -> None:
    """Record an export or any output file in the registry's audit log (created on demand, like any command's
    registry): ``cli:<who>``, the action (``export_*``, ``report``, ``model_card``, ...), the file written, its
    row count (None: not a table), its bytes and SHA-256.  Called by every command that writes grades,
    records or a report to a file, after the file is written; if the entry cannot be written the command fails
    (the export is not silent)."""
    t = Path(target)
    where = str(t.resolve() if t.is_absolute() or t.exists() else t)
    audit_action(home, action, where, {**({"rows": int(rows)} if rows is not None else {}), **file_digest(t),
                                       **(detail or {})})


def read_checkpoint(path: Path) -> dict:
    """A checkpoint file written by ``audit checkpoint`` or ``alerts checkpoint``."""
    import json

    try:
        cp = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RiskgradeError(f"--checkpoint {path}: not a checkpoint file ({e})") from None
    if not isinstance(cp, dict):
        raise RiskgradeError(f"--checkpoint {path}: not a checkpoint file")
    return cp


def write_checkpoint(cp: dict, out_file: Path) -> None:
    import json

    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    Path(out_file).write_text(json.dumps(cp, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.chmod(out_file, 0o600)


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
