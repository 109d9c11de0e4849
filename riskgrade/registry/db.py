"""The registry database: SQLite in the data home by default, PostgreSQL by ``RISKGRADE_DATABASE_URL``.

``open_registry`` creates the engine and brings the schema to the newest Alembic revision (run on
every start, so an upgraded riskgrade migrates an existing registry).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ..chain import private_dir, private_file
from ..errors import RiskgradeError

REGISTRY_FILE = "registry.sqlite"


def database_url(home: Path, url: str | None) -> str:
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    private_dir(home)
    return f"sqlite:///{(home / REGISTRY_FILE).resolve()}"


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("riskgrade.registry").joinpath("migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")


def make_engine(url: str) -> Engine:
    kw = {}
    if url.startswith("sqlite"):
        kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kw.update(pool_size=10, max_overflow=40, pool_pre_ping=True)
    try:
        engine = create_engine(url, **kw)
    except Exception as e:  # bad URL, missing driver
        raise RiskgradeError(f"registry database {url!r}: {e}") from None
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def open_registry(home: Path, url: str | None = None) -> sessionmaker[Session]:
    u = database_url(home, url)
    engine = make_engine(u)
    try:
        migrate(engine)
    except Exception as e:
        raise RiskgradeError(f"cannot open the registry database ({engine.url.render_as_string(hide_password=True)}): "
                             f"{str(e).splitlines()[0]}") from None
    if u.startswith("sqlite:///"):
        db_file = Path(u[len("sqlite:///"):])
        for f in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            private_file(f)  # 0600: the registry holds users, password hashes and grades
    factory = sessionmaker(engine, expire_on_commit=False)
    factory.riskgrade_home = Path(home)  # where the audit chain's keys live (riskgrade.registry.audit)
    return factory


def in_region(column, prefix: str):
    """``column`` (a GB/T 2260 region code) within the region ``prefix`` ('' = everywhere), as a range of codes
    (``>= '370102' AND < '370103'``) that the column's index serves on PostgreSQL and SQLite whatever the
    database's collation; a LIKE 'prefix%' is served by an index only under the C collation (PostgreSQL) or a
    case-sensitive LIKE (SQLite).  For digit codes and six-digit values the two select the same rows; any other
    prefix falls back to the LIKE."""
    from sqlalchemy import and_, true

    if not prefix:
        return true()
    if not prefix.isdigit() or not prefix.isascii():
        return column.startswith(prefix, autoescape=True)
    if len(prefix) == 6:  # a county (codes are six digits): equal, so that the index (region_code, uscc) is read
        return column == prefix  # in USCC order (migration 0012)
    upper = str(int(prefix) + 1).zfill(len(prefix))
    if len(upper) > len(prefix):  # '99': every code from it on
        return column >= prefix
    return and_(column >= prefix, column < upper)
