"""What every request carries: the application's state (data home, registry, seal key, trusted proxies, the
two-factor rule) and the signed-in principal.  The login throttle is in the registry
(``registry.users.throttled``), shared by every worker."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ..registry.models import Token, User
from ..registry.users import can
from ..errors import RiskgradeError
from .errors import Refused


def proxy_networks(spec: str) -> tuple:
    """The trusted proxies of the setting ``trusted_proxies`` (IPs or CIDRs, comma-separated)."""
    out = []
    for part in (spec or "").replace(";", ",").split(","):
        if part.strip():
            try:
                out.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise RiskgradeError(f"trusted_proxies: {part.strip()!r} is not an IP address or CIDR") from None
    return tuple(out)


@dataclass
class AppState:
    home: Path
    factory: sessionmaker[Session]
    key: bytes
    trusted_proxies: tuple = field(default=())   # ip networks whose X-Forwarded-For is honoured
    require_admin_totp: bool = True               # administrators sign in with a one-time code

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address of
        ``X-Forwarded-For`` (read from the right) that is not a trusted proxy.  Never a forged value from a
        client that is not a configured proxy."""
        def trusted(addr: str) -> bool:
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                return False
            return any(ip in n for n in self.trusted_proxies)

        addr = peer or "?"
        if not forwarded_for or not trusted(addr):
            return addr
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return addr  # a malformed chain: the last proxy's address
            if not trusted(hop):
                return hop
            addr = hop
        return addr


def open_state(home: Path, database_url: str | None = None) -> AppState:
    """The state of a service over a data home: its registry (migrated when opened), seal key, trusted proxies
    and whether administrators need a second factor (settings ``trusted_proxies``, ``require_admin_totp``)."""
    from .. import settings as settings_mod
    from ..registry.db import open_registry
    from ..registry.publish import secret_key

    cfg = settings_mod.load(home)
    return AppState(home, open_registry(home, database_url), secret_key(home), proxy_networks(cfg.trusted_proxies),
                    cfg.require_admin_totp)


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
