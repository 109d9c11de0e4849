"""Settings from flags, environment (``RISKGRADE_*``) and an optional ``riskgrade.toml`` in the data home."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import RiskgradeError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKGRADE_", extra="ignore")

    home: Path = Field(default=Path("riskgrade-data"), description="data home (store, reports, configuration)")
    memory_limit: str | None = Field(default="3GB", description="DuckDB memory limit; beyond it work spills to <home>/tmp")
    threads: int | None = Field(default=None, description="DuckDB threads (default: all cores)")
    lock_timeout: float = Field(default=60.0, description="seconds to wait for another command on the same home")
    database_url: str | None = Field(default=None, description="registry database (SQLite in the home by default)")
    trusted_proxies: str = Field(default="", description="reverse proxies whose X-Forwarded-For the service honours: "
                                 "IPs or CIDRs, comma-separated (none by default: the peer address is the client)")
    require_admin_totp: bool = Field(default=True, description="administrators must sign in with a one-time code "
                                     "(TOTP); 0 only in tests")
    chunk_events: int = Field(default=40_000_000, gt=0, description="monthly runs compute indicators in bucket ranges "
                              "of about this many events each, so memory follows a chunk, not the province")
    # Ingest guards: an .xlsx beyond these is refused as unreadable before it is read (a spreadsheet bomb)
    xlsx_max_bytes: int = Field(default=200 << 20, gt=0, description="largest decompressed size of an .xlsx "
                                "delivery file (all its parts, as its zip directory declares them), in bytes")
    xlsx_max_rows: int = Field(default=2_000_000, gt=0, description="most rows an .xlsx sheet may declare")
    xlsx_max_columns: int = Field(default=200, gt=0, description="most columns an .xlsx sheet may declare")
    routing: Path | None = Field(default=None, description="the province's routing table (YAML) for alerts "
                                 "(分办; default: the shipped riskgrade/defaults/routing.yaml)")


def load(home: Path | None = None) -> Settings:
    """Environment first, then ``<home>/riskgrade.toml`` fills what the environment leaves unset; a flag wins."""
    s = Settings()
    if home is not None:
        s.home = home
    cfg = s.home / "riskgrade.toml"
    if cfg.exists():
        try:
            data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise RiskgradeError(f"{cfg}: not valid TOML: {e}") from None
        env_set = Settings.model_fields.keys() & {k for k in s.model_fields_set}
        merged = {**data, **{k: getattr(s, k) for k in env_set}, "home": s.home}
        try:
            s = Settings.model_validate(merged)
        except Exception as e:  # pydantic ValidationError
            raise RiskgradeError(f"{cfg}: {e}".splitlines()[0]) from None
    return s
