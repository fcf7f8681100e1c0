"""Search ignores accents on PostgreSQL too, as it does on SQLite.

SQLite's FTS5 tables use `remove_diacritics 2`, so "securite" finds
"Sécurité". PostgreSQL's `simple` configuration kept the accents, so the same
search found nothing there. This adds a text search configuration,
`pledges_search`: `simple` with the `unaccent` dictionary in front, and
rebuilds the two GIN indexes over it. `unaccent` ships with PostgreSQL and is
a trusted extension (a database owner may create it); where it cannot be
created the configuration is plain `simple`, and the app still works, only
without accent folding.

SQLite: nothing changes.

Revision ID: search_0001
Revises: browse_0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "search_0001"
down_revision = "browse_0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# Must match app.services.browse exactly, or PostgreSQL will not use the index.
_INDEXES = {
    "ix_search_commitments": "commitments USING gin (to_tsvector('{config}'::regconfig, "
    "coalesce(title, '') || ' ' || coalesce(summary, '')))",
    "ix_search_citations": "citations USING gin (to_tsvector('{config}'::regconfig, quote))",
}


def _rebuild_indexes(config: str) -> None:
    for name, definition in _INDEXES.items():
        op.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
        op.execute(sa.text(f"CREATE INDEX {name} ON {definition.format(config=config)}"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # A failed CREATE EXTENSION would abort the whole migration transaction;
    # the savepoint keeps it to this one statement.
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        has_unaccent = True
    except sa.exc.DBAPIError as exc:
        log.warning("unaccent is not available (%s); search will not fold accents", exc.orig)
        has_unaccent = False
    op.execute(
        sa.text("CREATE TEXT SEARCH CONFIGURATION pledges_search (COPY = pg_catalog.simple)")
    )
    if has_unaccent:
        op.execute(
            sa.text(
                "ALTER TEXT SEARCH CONFIGURATION pledges_search "
                "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
            )
        )
    _rebuild_indexes("pledges_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild_indexes("simple")
    op.execute(sa.text("DROP TEXT SEARCH CONFIGURATION IF EXISTS pledges_search"))
    # The unaccent extension stays: other things in the database may use it.
