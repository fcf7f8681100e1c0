"""Index for the public change list: newest public changes by id.

`/changes`, `/changes.atom` and `/changes.csv` read public changes newest first
by id (keyset paging). With only (is_public, occurred_at) indexed, SQLite
sorted every public change before taking a page (0.65 s for 100,000 changes);
(is_public, id) lets both databases read the page straight off the index.

Revision ID: reviews_0001
Revises: ff7885de2045
Create Date: 2026-11-26 21:41:55
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reviews_0001"
down_revision: str | None = "ff7885de2045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_change_records_public_id", "change_records", ["is_public", "id"])


def downgrade() -> None:
    op.drop_index("ix_change_records_public_id", table_name="change_records")
