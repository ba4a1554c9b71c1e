"""sign-up counters: the waitlist's length on the event's row

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:45:00

A sign-up decides its seat or its waitlist place in one conditional UPDATE of the
event's row (services/events/registrations.py); the place is this counter, kept
equal to the number of waitlisted registrations (their positions are 1..n).
Backfilled from the registrations already there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_length", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE events SET waitlist_length = ("
        " SELECT count(*) FROM registrations"
        " WHERE registrations.event_id = events.id AND registrations.status = 'waitlisted')"
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("waitlist_length")
