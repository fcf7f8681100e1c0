"""Alembic environment: runs migrations on a connection handed in, or on DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

from app.config import load_settings
from app.db import make_engine
from app.models import Base

target_metadata = Base.metadata

# Full-text search objects are made by raw DDL in the migrations (an FTS5
# virtual table and its shadow tables on SQLite, expression GIN indexes on
# PostgreSQL); they have no model, so autogenerate must not try to drop them.
SEARCH_OBJECT_PREFIXES = ("commitments_fts", "citations_fts", "ix_search_")


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(SEARCH_OBJECT_PREFIXES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # The app and pytest-alembic pass a connection in; the `alembic` command
    # line does not, and then the app's own settings choose the database.
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    if isinstance(given, Engine):  # pytest-alembic hands over an engine
        with given.begin() as connection:
            _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url or url == "driver://user:pass@localhost/dbname":
        url = load_settings().effective_database_url
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
