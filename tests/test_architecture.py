"""The layer table of docs/architecture.md, enforced on the source (issue 16).

foundation → stages (in their upstream order) → service → faces. Read statically with ``ast``: every
import anywhere in a module counts (a function-level import is still a dependency), so a loop cannot
hide behind a lazy import.
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "riskgrade"

FOUNDATION = {"riskgrade", "errors", "settings", "config", "contract", "codes", "normalise", "sql", "dates", "stats",
              "chain", "signing", "render", "warehouse", "export", "defaults"}
# upstream first: a stage may import itself and the stages before it
STAGES = ["ingest", "quality", "indicators", "scoring", "snapshot", "engines", "inspection", "warning", "analysis",
          "registry", "simulate"]
SERVICE = {"service"}
FACES = {"cli", "api", "web", "server", "__main__"}
# what the service must not know: the faces' frameworks
FACE_FRAMEWORKS = ("fastapi", "starlette", "jinja2", "typer", "click", "rich")
MAX_LINES = 700


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts}


@cache
def trees() -> dict[str, ast.Module]:
    return {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in modules().items()}


def area(module: str) -> str:
    """The top-level area of a module: 'riskgrade.scoring.train' → 'scoring'; a cli_*.py module → 'cli'."""
    parts = module.split(".")
    if len(parts) == 1:
        return "riskgrade"
    head = parts[1]
    return "cli" if head.startswith("cli_") else head


def layer(module: str) -> str:
    a = area(module)
    if a in FOUNDATION:
        return "foundation"
    if a in STAGES:
        return "stage"
    if a in SERVICE:
        return "service"
    if a in FACES:
        return "face"
    raise AssertionError(f"{module}: its area {a!r} is in no layer of docs/architecture.md; add it to the table")


def _package(module: str) -> str:
    return module if modules()[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def _from_target(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` in ``module`` reads from."""
    if not node.level:
        return node.module or ""
    base = _package(module).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported riskgrade module, imported name or None, line) for every import in the module."""
    out = []
    mods = modules()
    for node in ast.walk(trees()[module]):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "riskgrade"]
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(module, node)
            if target.split(".")[0] != "riskgrade":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in mods else (target, a.name, node.lineno))
    return out


def third_party(module: str) -> set[str]:
    out = set()
    for node in ast.walk(trees()[module]):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for m in modules():
        for target, _, _ in imports(m):
            if target in modules() and target != m:
                g[m].add(target)
    return g


def test_every_module_has_a_layer():
    for m in modules():
        layer(m)


def test_no_import_loops():
    g = graph()
    index, low, stack, on, loops = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                loops.append(sorted(comp))

    for v in sorted(modules()):
        if v not in index:
            visit(v)
    assert not loops, f"import loops: {loops}"


def _allowed(src: str, dst: str) -> bool:
    ls, ld = layer(src), layer(dst)
    a, b = area(src), area(dst)
    if ls == "foundation":
        return ld == "foundation"
    if ls == "stage":
        return ld == "foundation" or (ld == "stage" and STAGES.index(b) <= STAGES.index(a))
    if ls == "service":
        return ld in ("foundation", "stage", "service")
    # faces: api and web never meet except in server; the command line starts the server through server
    if {a, b} == {"api", "web"}:
        return False
    if a == "cli" and b in ("api", "web"):
        return False
    return True


def test_layers_import_only_downward():
    bad = []
    for m in modules():
        for target, _, line in imports(m):
            if target in modules() and not _allowed(m, target):
                bad.append(f"{m}:{line} → {target} ({layer(m)} {area(m)} → {layer(target)} {area(target)})")
    assert not bad, "\n".join(bad)


def test_service_knows_no_face_framework():
    bad = [f"{m} imports {fw}" for m in modules() if layer(m) == "service"
           for fw in sorted(third_party(m) & set(FACE_FRAMEWORKS))]
    assert not bad, bad


SQL_TEXT = re.compile(r"^\s*(SELECT\s.*\bFROM\b|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\("
                      r"|CREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+)?(TABLE|VIEW|INDEX|SEQUENCE)\s|COPY\s|ALTER\s+TABLE\s"
                      r"|DROP\s+(TABLE|VIEW)\s)", re.S)  # upper-case keywords: how riskgrade writes SQL
SQL_CALLS = {"execute", "executemany", "sql", "query", "fetchall", "fetchone", "scalars", "scalar"}
SQLALCHEMY_BUILDERS = {"select", "text", "insert", "update", "delete", "func"}


def test_faces_run_no_sql():
    bad = []
    for m in modules():
        if layer(m) != "face":
            continue
        for node in ast.walk(trees()[m]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                bad.append(f"{m}:{node.lineno} calls .{node.func.attr}()")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
                bad.append(f"{m}:{node.lineno} holds SQL text {node.value.strip()[:40]!r}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {a.name for a in node.names} & SQLALCHEMY_BUILDERS
                if names:
                    bad.append(f"{m}:{node.lineno} imports sqlalchemy {sorted(names)}")
    assert not bad, "\n".join(bad)


def test_no_module_uses_another_modules_private_names():
    bad = []
    for m in modules():
        bound: dict[str, str] = {}  # local name → the riskgrade module it is bound to
        for target, name, line in imports(m):
            if name is None:
                bound[target.rsplit(".", 1)[-1]] = target
            elif name.startswith("_") and not name.startswith("__") and target != m:
                bad.append(f"{m}:{line} imports {target}.{name}")
        for node in ast.walk(trees()[m]):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__") and bound[node.value.id] != m):
                bad.append(f"{m}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_no_module_over_700_lines():
    big = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, big


WRITE = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|ALTER\s+TABLE|DROP\s+TABLE(?:\s+IF\s+EXISTS)?"
                   r"|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+\"?([a-z][a-z0-9_]*)\b", re.I)
CREATE = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?\s+\"?([a-z][a-z0-9_]*)\b", re.I)


def _strings(module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(trees()[module]):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            out.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)))
    return out


def test_each_stage_is_the_only_writer_of_its_tables():
    """A table belongs to the stage whose code creates it; only that stage writes it (others read it)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for m in modules():
        if layer(m) == "stage":
            for _, s in _strings(m):
                for t in CREATE.findall(s):
                    owners[t.lower()].add(area(m))
    shared = {t: sorted(o) for t, o in owners.items() if len(o) > 1 and not t.startswith("_")}
    assert not shared, f"tables created by more than one stage: {shared}"
    bad = []
    for m in modules():
        if layer(m) not in ("stage", "service", "face"):
            continue
        for line, s in _strings(m):
            for t in WRITE.findall(s):
                t = t.lower()
                if t in owners and area(m) not in owners[t]:
                    bad.append(f"{m}:{line} writes {t} (owned by {sorted(owners[t])})")
    assert not bad, "\n".join(bad)


def _used_names(tree: ast.Module) -> set[str]:
    """Every name the module's code reads, including names inside quoted annotations."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    notes = [n.annotation for n in ast.walk(tree) if isinstance(n, (ast.arg, ast.AnnAssign)) and n.annotation]
    notes += [n.returns for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns]
    for note in notes:
        for c in ast.walk(note):
            if isinstance(c, ast.Constant) and isinstance(c.value, str):
                try:
                    used |= {n.id for n in ast.walk(ast.parse(c.value, mode="eval")) if isinstance(n, ast.Name)}
                except SyntaxError:
                    pass
    return used


def handed_on(module: str, tree: ast.Module) -> list[str]:
    """The riskgrade names ``module`` imports and never uses: names it only hands on under a second home
    (listed in ``__all__`` or not), or leftovers.  A package's ``__init__.py`` gathering its public names is
    not asked (the caller skips it)."""
    used, out = _used_names(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _from_target(module, node).split(".")[0] == "riskgrade":
            out += [f"{module}:{node.lineno} imports {a.name} from {_from_target(module, node)} and never uses it"
                    for a in node.names if (a.asname or a.name) not in used]
        elif isinstance(node, ast.Import):
            out += [f"{module}:{node.lineno} imports {a.name} and never uses it" for a in node.names
                    if a.name.split(".")[0] == "riskgrade" and (a.asname or a.name.split(".")[0]) not in used]
    return out


def test_no_module_hands_on_another_modules_names():
    """One home per name: a caller imports a name from the module that defines it, never from a module that
    imported it only to pass it on (``from ..render import find_chromium  # re-exported``)."""
    bad = [b for m, p in modules().items() if p.name != "__init__.py" for b in handed_on(m, trees()[m])]
    assert not bad, "\n".join(bad)


def test_the_hand_on_check_sees_a_re_export_and_nothing_else():
    src = """
from __future__ import annotations
from typing import TYPE_CHECKING
from ..render import find_chromium, environment
from ..sql import literal as lit
from .. import dates
from .tables import Plan
import riskgrade.stats
if TYPE_CHECKING:
    from ..warehouse import Warehouse
__all__ = ["find_chromium", "run"]
def run(wh: "Warehouse", plan: list["Plan"]) -> str:
    return environment().render(lit(dates.month_end(plan[0])), riskgrade.stats.psi)
"""
    found = handed_on("riskgrade.inspection.plan", ast.parse(src))  # read as if it were inspection/plan.py
    assert found == ["riskgrade.inspection.plan:4 imports find_chromium from riskgrade.render and never uses it"]
