"""links: an index for keyset pagination (newest first)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

The list of links pages by (created_at, id), newest first, with a cursor instead of OFFSET and
without count(*): one index range scan per page, whatever the table's size. This index is what
makes that scan possible (PostgreSQL reads it backwards for the DESC order).

Expand only: a new index that the release before this one simply ignores. On PostgreSQL it is
built CONCURRENTLY, so writes to links go on while it is built; that cannot run inside a
transaction, hence the autocommit block. A build that failed half-way (a deploy interrupted)
leaves an INVALID index of the same name behind: it is dropped first, so a re-run repairs it.
ix_links_created_at becomes redundant; dropping it is a later (contract) revision's job, once no
running release can depend on it.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "ix_links_created_at_id"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
            op.create_index(INDEX, "links", ["created_at", "id"], postgresql_concurrently=True)
    else:
        op.create_index(INDEX, "links", ["created_at", "id"])


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(INDEX, "links", postgresql_concurrently=True)
    else:
        op.drop_index(INDEX, "links")
