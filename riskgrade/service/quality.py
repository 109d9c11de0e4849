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
    """The quality measures (``stats.read``); 503 while the warehouse is busy.  A user below the province
    level sees neither server paths nor the names they carry (a results upload is kept as
    ``plan<id>-<time>-<user>-...``): every ``path`` is replaced by ``delivery <id>``."""
    m = _measures(st, me)
    return m if len(me.region) <= 2 else redacted(m)


def redacted(m: dict) -> dict:
    """The measures without server paths (and so without uploaders' user names): each ``path`` becomes
    ``delivery <id>``."""
    import copy

    out = copy.deepcopy(m)

    def walk(x):
        if isinstance(x, dict):
            if "path" in x:
                x["path"] = f"delivery {x.get('delivery_id', '')}".strip()
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(out)
    return out


def _measures(st: AppState, me: Principal) -> dict:
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
            m = quality.measure(wh.con, routing=settings_mod.load(st.home).routing)
    except RiskgradeError as e:
        raise Refused(503, "busy", str(e), "busy") from None
    with _lock:
        _cache[str(st.home)] = (stamp, m)
    return m
