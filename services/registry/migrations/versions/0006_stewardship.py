"""stewardship: student numbers, department lineage, imports, duplicates, merges, name keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:28:02

Issue 10's tables (docs/stewardship.md): the student number of a graduation, unique per
department and class year where present; departments merged into successors and their old
names; import jobs with their staged rows and uploads; duplicate candidates and merges;
the pinyin search keys of names.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "alumnus_merges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("survivor_id", sa.String(length=36), nullable=False),
        sa.Column("absorbed_id", sa.String(length=36), nullable=False),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.Column("merged_by", sa.String(length=50), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=50), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alumnus_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alumnus_merges_absorbed_id"), ["absorbed_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alumnus_merges_survivor_id"), ["survivor_id"], unique=False
        )

    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("first_id", sa.String(length=36), nullable=False),
        sa.Column("second_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("found_by", sa.String(length=50), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merge_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("first_id", "second_id", name="uq_duplicate_pair"),
    )
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duplicate_candidates_score"), ["score"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_duplicate_candidates_status"), ["status"], unique=False
        )

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=True),
        sa.Column("encoding", sa.String(length=30), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Integer(), nullable=False),
        sa.Column("duplicates_flagged", sa.Integer(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_status"), ["status"], unique=False)

    op.create_table(
        "alumnus_name_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alumnus_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column(
            "key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["alumnus_seq"], ["alumni.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alumnus_name_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alumnus_name_keys_alumnus_seq"), ["alumnus_seq"], unique=False
        )
        batch_op.create_index(
            "ix_alumnus_name_keys_lookup", ["kind", "key", "alumnus_seq"], unique=False
        )

    op.create_table(
        "department_names",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("used_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("department_names", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_department_names_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "department_successions",
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("successor_id", sa.String(length=36), nullable=False),
        sa.Column("current_id", sa.String(length=36), nullable=False),
        sa.Column("changed_by", sa.String(length=50), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("department_id"),
    )
    with op.batch_alter_table("department_successions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_department_successions_current_id"), ["current_id"], unique=False
        )

    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("import_key", sa.String(length=32), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "row_number"),
    )
    op.create_table(
        "import_uploads",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "seq"),
    )
    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_alumni_merged_into"), ["merged_into"], unique=False)

    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("student_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("enrolment_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("import_key", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "uq_graduations_student_number",
            ["department_id", "class_year", "student_number"],
            unique=True,
            sqlite_where=sa.text("student_number IS NOT NULL"),
            postgresql_where=sa.text("student_number IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_graduations_import_key"), ["import_key"], unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graduations_import_key"))
        batch_op.drop_index(
            "uq_graduations_student_number",
            sqlite_where=sa.text("student_number IS NOT NULL"),
            postgresql_where=sa.text("student_number IS NOT NULL"),
        )
        batch_op.drop_column("import_key")
        batch_op.drop_column("enrolment_year")
        batch_op.drop_column("student_number")

    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_merged_into"))
        batch_op.drop_column("merged_into")

    op.drop_table("import_uploads")
    op.drop_table("import_rows")
    with op.batch_alter_table("department_successions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_successions_current_id"))

    op.drop_table("department_successions")
    with op.batch_alter_table("department_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_names_department_id"))

    op.drop_table("department_names")
    with op.batch_alter_table("alumnus_name_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_alumnus_name_keys_lookup")
        batch_op.drop_index(batch_op.f("ix_alumnus_name_keys_alumnus_seq"))

    op.drop_table("alumnus_name_keys")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_status"))

    op.drop_table("import_jobs")
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_status"))
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_score"))

    op.drop_table("duplicate_candidates")
    with op.batch_alter_table("alumnus_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumnus_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_alumnus_merges_absorbed_id"))

    op.drop_table("alumnus_merges")
