"""Indexes on money flows' and actors' `updated_at`, for the totals' data version.

Money totals are cached per *data version* (`app.services.totals.data_version`):
the newest `updated_at` of the flows, commitments and actors, their counts and
the newest change record, read on every request that shows a total. Without an
index, the newest flow's `updated_at` took a scan of every flow (about 0.1 s at
120,000 flows); with one it is a single index lookup. Commitments already have
`ix_commitments_state_updated`. Only indexes change: no data is touched.

Revision ID: totals_0001
Revises: export_0001
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "totals_0001"
down_revision: str | None = "export_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_money_flows_updated_at", "money_flows", ["updated_at"])
    op.create_index("ix_actors_updated_at", "actors", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_actors_updated_at", table_name="actors")
    op.drop_index("ix_money_flows_updated_at", table_name="money_flows")
