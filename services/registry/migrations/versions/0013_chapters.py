"""chapters, chapter members, messengers, student volunteers; community account scopes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:40:00

Issue 11 items 1 and 3 (docs/community.md): chapters (校友总会, 地方/行业校友分会) and their
members, messenger appointments per graduating class (校友信使), the student alumni
volunteer association's members; the chapter of a `chapter_officer` account and the
appointment of a `messenger` account.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chapters",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=50), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=False),
        sa.Column("legal_form", sa.String(length=50), nullable=True),
        sa.Column("registration_number", sa.String(length=50), nullable=True),
        sa.Column("confirmed_on", sa.Date(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=50), nullable=True),
        sa.Column("confirmation_note", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_chapters_kind", "chapters", ["kind"])
    op.create_index("ix_chapters_city", "chapters", ["city"])
    op.create_index("ix_chapters_industry", "chapters", ["industry"])

    op.create_table(
        "chapter_members",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("chapter_id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("added_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(["chapter_id"], ["chapters.id"]),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("chapter_id", "alumnus_id", name="uq_chapter_members"),
    )
    op.create_index("ix_chapter_members_chapter_id", "chapter_members", ["chapter_id"])
    op.create_index("ix_chapter_members_alumnus_id", "chapter_members", ["alumnus_id"])

    op.create_table(
        "messengers",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("class_year", sa.Integer(), nullable=False),
        sa.Column("class_name", sa.String(length=100), nullable=False),
        sa.Column("appointed_on", sa.Date(), nullable=False),
        sa.Column("appointed_by", sa.String(length=50), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_messengers_alumnus_id", "messengers", ["alumnus_id"])
    op.create_index(
        "ix_messengers_class", "messengers", ["department_id", "class_year", "class_name"]
    )

    op.create_table(
        "student_volunteers",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("class_year", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=20), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_student_volunteers_department_id", "student_volunteers", ["department_id"])

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chapter_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("messenger_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_accounts_chapter_id", ["chapter_id"])
        batch_op.create_index("ix_accounts_messenger_id", ["messenger_id"])


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_messenger_id")
        batch_op.drop_index("ix_accounts_chapter_id")
        batch_op.drop_column("messenger_id")
        batch_op.drop_column("chapter_id")
    op.drop_table("student_volunteers")
    op.drop_table("messengers")
    op.drop_table("chapter_members")
    op.drop_table("chapters")
