"""alumni verification, alumni cards, directory privacy choices (issue 11, items 5-7)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 03:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alumnus_claims",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("class_year", sa.Integer(), nullable=False),
        sa.Column("claimed_name", sa.String(length=50), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_channel", sa.String(length=10), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_alumnus_claims_alumnus_id", "alumnus_claims", ["alumnus_id"])
    op.create_index("ix_alumnus_claims_status", "alumnus_claims", ["status"])

    op.create_table(
        "claim_vouches",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("voucher_alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("claim_id", "voucher_alumnus_id", name="uq_claim_voucher"),
    )
    op.create_index("ix_claim_vouches_claim_id", "claim_vouches", ["claim_id"])
    op.create_index("ix_claim_vouches_voucher_alumnus_id", "claim_vouches", ["voucher_alumnus_id"])

    op.create_table(
        "card_privileges",
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )

    op.create_table(
        "alumni_cards",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("privileges", sa.JSON(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_alumni_cards_alumnus_id", "alumni_cards", ["alumnus_id"])
    op.create_index("ix_alumni_cards_revoked_at", "alumni_cards", ["revoked_at"])
    op.create_index("ix_alumni_cards_status_seq", "alumni_cards", ["status", "seq"])

    op.create_table(
        "directory_choices",
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alumnus_id"),
    )


def downgrade() -> None:
    op.drop_table("directory_choices")
    op.drop_index("ix_alumni_cards_status_seq", table_name="alumni_cards")
    op.drop_index("ix_alumni_cards_revoked_at", table_name="alumni_cards")
    op.drop_index("ix_alumni_cards_alumnus_id", table_name="alumni_cards")
    op.drop_table("alumni_cards")
    op.drop_table("card_privileges")
    op.drop_index("ix_claim_vouches_voucher_alumnus_id", table_name="claim_vouches")
    op.drop_index("ix_claim_vouches_claim_id", table_name="claim_vouches")
    op.drop_table("claim_vouches")
    op.drop_index("ix_alumnus_claims_status", table_name="alumnus_claims")
    op.drop_index("ix_alumnus_claims_alumnus_id", table_name="alumnus_claims")
    op.drop_table("alumnus_claims")
