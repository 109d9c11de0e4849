"""What every request carries: the application's state (data home, registry, seal key, login limiter) and
the signed-in principal."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ..registry.models import Token, User
from ..registry.users import can
from .errors import Refused


class RateLimiter:
    """Login attempts in a sliding window of ``window`` seconds: at most ``per_user`` per user name and
    ``per_address`` per client address (an office behind one address has many users)."""

    def __init__(self, per_user: int = 10, per_address: int = 60, window: float = 60.0):
        self.per_user, self.per_address, self.window = per_user, per_address, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            ok = True
            for k in keys:
                q = self._hits[k]
                while q and now - q[0] > self.window:
                    q.popleft()
                if len(q) >= (self.per_user if k.startswith("user:") else self.per_address):
                    ok = False
            if ok:
                for k in keys:
                    self._hits[k].append(now)
            return ok


@dataclass
class AppState:
    home: Path
    factory: sessionmaker[Session]
    key: bytes
    limiter: RateLimiter


def open_state(home: Path, database_url: str | None = None) -> AppState:
    """The state of a service over a data home: its registry (migrated when opened) and seal key."""
    from ..registry.db import open_registry
    from ..registry.publish import secret_key

    return AppState(home, open_registry(home, database_url), secret_key(home), RateLimiter())


@dataclass
class Principal:
    user: User
    token: Token
    via: str  # "bearer" or "session"

    def can(self, permissions: str) -> bool:
        """Whether the role holds the permission (``a|b``: either)."""
        return any(can(self.user.role, p) for p in permissions.split("|"))

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Refused(403, "forbidden", f"the role {self.user.role} may not do this ({permission})", "forbidden")

    def scope(self, region_code: str | None) -> bool:
        return bool(region_code) and region_code.startswith(self.user.region_prefix)

    @property
    def region(self) -> str:
        return self.user.region_prefix
