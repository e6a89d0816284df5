"""link ownership: manage-token digests and retired codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Expand only, on a live table, so the release before this one keeps working beside it:
- links.token_hash is added nullable and without a default: PostgreSQL records it in the catalog
  without rewriting the table. Old instances never name the column; links they make (and every
  link made before this revision) have no token, and only the admin may delete those.
- retired_codes is a new table that old instances do not know about.
Nothing needs contracting later: a NULL token_hash stays meaningful ("admin only") for ever.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # ALTER TABLE waits for an exclusive lock on links, and every query on links queues behind
        # it while it waits. Give up after 3 s (the deploy fails clearly and can simply be re-run)
        # rather than stall the live service behind a long transaction.
        op.execute("SET LOCAL lock_timeout = '3s'")
    op.add_column("links", sa.Column("token_hash", sa.String(64), nullable=True))
    op.create_table(
        "retired_codes",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("retired_codes")
    op.drop_column("links", "token_hash")
