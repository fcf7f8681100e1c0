"""Browse: full-text search and indexes for facets and keyset sorts.

SQLite: two FTS5 external-content tables (commitments: title, summary;
citations: quote), kept in step by triggers, so the text is stored once.
PostgreSQL: expression GIN indexes over to_tsvector('simple', ...) of the
same columns; the queries use the same expressions, so no triggers are needed.

Revision ID: browse_0001
Revises: editing_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "browse_0001"
down_revision = "editing_0001"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    # unicode61 with diacritics removed: "Gérald" matches "gerald".
    "CREATE VIRTUAL TABLE commitments_fts USING fts5("
    "title, summary, content='commitments', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER commitments_fts_ai AFTER INSERT ON commitments BEGIN "
    "INSERT INTO commitments_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "CREATE TRIGGER commitments_fts_ad AFTER DELETE ON commitments BEGIN "
    "INSERT INTO commitments_fts(commitments_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER commitments_fts_au AFTER UPDATE OF title, summary ON commitments BEGIN "
    "INSERT INTO commitments_fts(commitments_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO commitments_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "INSERT INTO commitments_fts(commitments_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE citations_fts USING fts5("
    "quote, content='citations', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER citations_fts_ai AFTER INSERT ON citations BEGIN "
    "INSERT INTO citations_fts(rowid, quote) VALUES (new.id, new.quote); END",
    "CREATE TRIGGER citations_fts_ad AFTER DELETE ON citations BEGIN "
    "INSERT INTO citations_fts(citations_fts, rowid, quote) VALUES ('delete', old.id, old.quote); "
    "END",
    "CREATE TRIGGER citations_fts_au AFTER UPDATE OF quote ON citations BEGIN "
    "INSERT INTO citations_fts(citations_fts, rowid, quote) VALUES ('delete', old.id, old.quote); "
    "INSERT INTO citations_fts(rowid, quote) VALUES (new.id, new.quote); END",
    "INSERT INTO citations_fts(citations_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS citations_fts_au",
    "DROP TRIGGER IF EXISTS citations_fts_ad",
    "DROP TRIGGER IF EXISTS citations_fts_ai",
    "DROP TABLE IF EXISTS citations_fts",
    "DROP TRIGGER IF EXISTS commitments_fts_au",
    "DROP TRIGGER IF EXISTS commitments_fts_ad",
    "DROP TRIGGER IF EXISTS commitments_fts_ai",
    "DROP TABLE IF EXISTS commitments_fts",
]
# Must match app.services.search exactly, or PostgreSQL will not use the index.
_POSTGRES_UP = [
    "CREATE INDEX ix_search_commitments ON commitments USING gin "
    "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(summary, '')))",
    "CREATE INDEX ix_search_citations ON citations USING gin "
    "(to_tsvector('simple'::regconfig, quote))",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_search_citations",
    "DROP INDEX IF EXISTS ix_search_commitments",
]


def upgrade() -> None:
    with op.batch_alter_table("commitment_actors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commitment_actors_role_actor", ["role", "actor_id", "commitment_id"], unique=False
        )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commitments_state_kind", ["state", "kind", "deleted_at"], unique=False
        )
        batch_op.create_index(
            "ix_commitments_state_status", ["state", "status", "deleted_at"], unique=False
        )
        batch_op.create_index("ix_commitments_state_title", ["state", "title", "id"], unique=False)
        batch_op.create_index(
            "ix_commitments_state_updated", ["state", "updated_at", "id"], unique=False
        )
    with op.batch_alter_table("money_flows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_flows_commitment_currency",
            ["commitment_id", "currency", "stage"],
            unique=False,
        )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_UP if dialect == "sqlite" else _POSTGRES_UP:
        op.execute(sa.text(statement))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DOWN if dialect == "sqlite" else _POSTGRES_DOWN:
        op.execute(sa.text(statement))
    with op.batch_alter_table("money_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_money_flows_commitment_currency")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_state_updated")
        batch_op.drop_index("ix_commitments_state_title")
        batch_op.drop_index("ix_commitments_state_status")
        batch_op.drop_index("ix_commitments_state_kind")
    with op.batch_alter_table("commitment_actors", schema=None) as batch_op:
        batch_op.drop_index("ix_commitment_actors_role_actor")
