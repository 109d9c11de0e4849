"""The ``riskgrade`` command: one Typer app; each sub-command is a thin call into a stage or the service.

One module per command group; each hands its commands to the app through ``register(app)`` and never
imports this package back.  Shared options, the consoles and ``open_store`` live in :mod:`.common`.
The order of the registrations is the order of the commands in ``riskgrade --help``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import __version__
from ..errors import RiskgradeError
from . import (analysis, classification, exchange, indicators, ingest, inspection, model, quality, reviews, service,
               simulate, spark, warning, warnrules)
from .common import HomeOpt, err, out, private_umask, state

GROUPS = (ingest, classification, quality, simulate, indicators, inspection, service, warning, warnrules, analysis,
          exchange, spark, model, reviews)

app = typer.Typer(
    name="riskgrade",
    help="Credit risk classification management (信用风险分类管理) for market regulators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    """``--version`` is eager: it answers before a command is looked for (``riskgrade --version`` alone)."""
    if value:
        out.print(f"riskgrade {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: HomeOpt = None,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit", callback=_version,
                                          is_eager=True)] = False,
) -> None:
    state["home"] = home
    private_umask()


for _group in GROUPS:
    _group.register(app)


def main() -> None:
    try:
        app()
    except RiskgradeError as e:
        _fail(str(e))
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        sys.exit(130)
    except Exception as e:  # an unexpected failure still ends in one line (RISKGRADE_DEBUG=1: the traceback)
        import os

        if os.environ.get("RISKGRADE_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        _fail(f"internal error ({type(e).__name__}): {msg[:300]} (set RISKGRADE_DEBUG=1 for the traceback)")
        sys.exit(2)


def _fail(message: str) -> None:
    """The one-line error of the contract: never wrapped to the terminal's width, never several lines."""
    line = " ".join(message.split())
    err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
