"""The layer order runs ingest, quality, indicators, scoring, snapshot: the indicators never import
scoring (the catalog's fusion configuration lives in riskgrade.indicators.domains), so there is no
import loop catalog -> scoring.fusion -> indicators.compute."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import riskgrade

PKG = Path(riskgrade.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved), at the top or inside functions."""
    mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts)
    package = mod.rsplit(".", 1)[0] if path.name != "__init__.py" else mod.removesuffix(".__init__")
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out



def test_loading_the_catalog_loads_no_scoring_module() -> None:
    code = ("import sys; from riskgrade.indicators import load_catalog; load_catalog(); "
            "print([m for m in sys.modules if m.startswith('riskgrade.scoring')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_fusion_names_stay_where_callers_find_them() -> None:
    from riskgrade.indicators import domains
    from riskgrade.scoring import fusion

    for name in ("FusionConfig", "DomainFusion", "load_fusion", "apply_to_catalog", "GRADE_ORDER", "LEVELS", "MODES"):
        assert getattr(domains, name) is not None, name  # one home: indicators.domains
        assert getattr(fusion, name, None) in (None, getattr(domains, name)), name  # never a second definition
