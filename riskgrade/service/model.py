"""The model behind a published month, for the console's model page: the snapshot and its trained model's
card (a JSON file under ``<home>/models``)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from ..registry import queries
from ..registry.models import Snapshot
from .errors import Refused
from .state import AppState, Principal


def snapshot_and_card(st: AppState, me: Principal, as_of: str | None) -> tuple[Snapshot | None, Path | None]:
    """The month's snapshot (the newest by default; None for a month not published or not a date) and the
    path of its trained model's card (None for the expert model or a missing card)."""
    me.require("stats.read")
    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            return None, None
    snap = queries.latest_snapshot(st.factory, day)
    if snap is None or snap.model != "trained":
        return snap, None
    path = st.home / "models" / f"{snap.model_version}.json"
    return snap, path if re.fullmatch(r"[A-Za-z0-9_.-]+", snap.model_version or "") and path.is_file() else None


def card(st: AppState, me: Principal, as_of: str | None) -> dict:
    """The trained model's card of the month, or 404."""
    _, path = snapshot_and_card(st, me, as_of)
    if path is None:
        raise Refused(404, "not_found", "no trained model card for that month", "not_found")
    return json.loads(path.read_text(encoding="utf-8"))
