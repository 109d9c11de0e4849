"""The warehouse's data-quality measures for the console, computed again only when the store has changed."""

from __future__ import annotations

import threading

from .. import settings as settings_mod
from ..errors import RiskgradeError
from .errors import Refused
from .state import AppState, Principal

_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def measures(st: AppState, me: Principal) -> dict:
    """The quality measures (``stats.read``); 503 while the warehouse is busy."""
    from .. import quality
    from ..warehouse import STORE_FILE, Warehouse

    me.require("stats.read")
    store = st.home / STORE_FILE
    stamp = store.stat().st_mtime if store.exists() else 0.0
    with _lock:
        hit = _cache.get(str(st.home))
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        with Warehouse(st.home, lock_timeout=settings_mod.load(st.home).lock_timeout) as wh:
            m = quality.measure(wh.con)
    except RiskgradeError as e:
        raise Refused(503, "busy", str(e), "busy") from None
    with _lock:
        _cache[str(st.home)] = (stamp, m)
    return m
