"""Engine, sessions, migrations: the one place where a transaction commits.

Services take a session and flush; only `unit_of_work` (used by the request
dependency and by CLI commands) commits, so a request either commits all of
its changes before the response is sent, or none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings

PACKAGE_DIR = Path(__file__).resolve().parent


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message is one line."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings this app relies on for each database."""
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks
        # SAVEPOINTs; SQLAlchemy's documented workaround is to switch it off
        # and emit BEGIN ourselves (see the "begin" listener below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # The first 32 MB of the file are read through mmap (the small tables
        # written first), the rest through a 32 MB page cache per connection.
        # Mapping the whole file (256 MB before) made a 100,000-commitment
        # database count in the server's RSS once a CSV export or the facet
        # counts had touched every page (270 MB, 170 MB of it the mapped
        # file); with 32 MB it stays near 185 MB. Page latency is unchanged
        # and the full-text search and full CSV are ~10% slower (measured on
        # bench/bench.db: bench/README.md).
        cursor.execute("PRAGMA mmap_size=33554432")
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects loaded for a page stay readable after
    # the request's commit, without a second trip to the database.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit everything done in the block, or nothing if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with one readable line if the database is unusable."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot use the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}"
        ) from None


# ------------------------------------------------------------- migrations


def migrations_dir() -> Path:
    """The Alembic scripts: inside the wheel, or beside the package in a checkout."""
    bundled = PACKAGE_DIR / "_migrations"
    if bundled.is_dir():
        return bundled
    return PACKAGE_DIR.parent / "migrations"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        _lock_for_migration(connection)
        command.upgrade(alembic_config(str(engine.url), connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        _lock_for_migration(connection)
        command.downgrade(alembic_config(str(engine.url), connection), revision)


def _lock_for_migration(connection: Connection) -> None:
    # Several web processes may start at once against one PostgreSQL
    # database; a transaction-scoped advisory lock lets one migrate while
    # the others wait, then find nothing to do.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(7262025)"))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.effective_database_url)
