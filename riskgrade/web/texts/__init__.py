"""Console strings of one feature each (``work.py``, ``plans.py``, ...), merged into
:data:`riskgrade.web.i18n.STRINGS` at import.

Each module here defines ``STRINGS = {"zh": {...}, "en": {...}}`` with the same keys in both
languages; a key may be defined once across :mod:`riskgrade.web.i18n` and this package (tested), so a
feature's words stay beside each other and features never edit one another's block.
"""

from __future__ import annotations

import importlib
import pkgutil


def feature_strings() -> list[tuple[str, dict[str, dict[str, str]]]]:
    """``(module name, STRINGS)`` of every module of this package, in name order."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        out.append((info.name, mod.STRINGS))
    return out
