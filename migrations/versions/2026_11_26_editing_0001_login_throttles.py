"""Failed sign-ins per account and per address, shared by every web process.

Revision ID: editing_0001
Revises: reviews_0001
Create Date: 2026-11-26 21:07:37.484768
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "editing_0001"
down_revision: str | None = "reviews_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('account', 'address')", name=op.f("ck_login_throttles_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("kind", "key", name="uq_login_throttles_kind_key"),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
