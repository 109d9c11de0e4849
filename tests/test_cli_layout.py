"""The CLI is a package of command groups that runs no SQL and imports nothing back (issue 16).

* every module of ``riskgrade/cli/`` but ``__init__`` hands its commands over through ``register(app)``
  and never imports the package that builds the app;
* no module of the CLI calls ``.execute(`` or ``.sql(``, nor holds a query string;
* the warehouse is opened in one place (``cli/common.py``: ``open_store``);
* the service imports no face's types (Typer, FastAPI, Starlette, Jinja).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "riskgrade"
CLI = sorted((PKG / "cli").glob("*.py"))
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY)\b\s+\S", re.S)


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(level, module) of every import; ``from . import x`` gives (1, "x")."""
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out += [(0, a.name) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            if n.module:
                out.append((n.level, n.module))
            else:
                out += [(n.level, a.name) for a in n.names]
    return out


def test_the_cli_is_a_package_of_groups_with_a_register_function():
    names = {p.stem for p in CLI}
    assert {"__init__", "common"} <= names and not list(PKG.glob("cli_*.py")) and not (PKG / "cli.py").exists()
    for p in CLI:
        if p.stem in ("__init__", "common"):
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "register" in funcs, f"{p.name}: no register(app)"
        for level, mod in _imports(tree):
            # the package itself: riskgrade.cli, or ``from . import x`` / ``from .. import cli``
            assert not (level == 0 and mod in ("riskgrade.cli",)), f"{p.name} imports riskgrade.cli back"
            assert not (level == 1 and mod not in names), f"{p.name} imports {mod!r} from the cli package"
            assert not (level == 1 and mod == "__init__"), f"{p.name} imports the cli package back"


def test_the_cli_runs_no_sql_and_opens_the_store_in_one_place():
    for p in CLI:
        src = p.read_text(encoding="utf-8")
        tree = ast.parse(src)
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                assert n.func.attr not in ("execute", "sql", "executemany"), f"{p.name}:{n.lineno} runs SQL"
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                assert not SQL.search(n.value), f"{p.name}:{n.lineno} holds a query: {n.value[:60]!r}"
        if p.stem != "common":
            assert "Warehouse(" not in src, f"{p.name} opens the warehouse itself: use common.open_store"




def test_version_alone_prints_the_version():
    """`riskgrade --version` answers before a command is looked for (it used to end in "Missing command")."""
    from riskgrade import __version__

    from .conftest import run_cli

    p = run_cli("--version", home=Path("/nonexistent-riskgrade-home"), check=False)
    assert p.returncode == 0 and p.stdout.strip() == f"riskgrade {__version__}"
