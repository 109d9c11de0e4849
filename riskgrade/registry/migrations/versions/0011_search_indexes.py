"""search indexes: the console's search sorted by score or grade, filtered by grade, or sorted by industry reads
one page through an index instead of sorting the province's join of entities and grades on every request
(4.4 s sorted by score at 1M entities before):

* ``grades (snapshot_id, score, uscc)``: a month's grades in score order (ties by USCC), read forward or backward;
* ``grades (snapshot_id, grade, uscc)``: a month's grades of one grade by USCC, and the sort by grade;
* ``entities (industry_code, uscc)``: the sort by industry.

Revision ID: 0011_search_indexes
Revises: 0010_monthly_summaries
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011_search_indexes'
down_revision: Union[str, Sequence[str], None] = '0010_monthly_summaries'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (("ix_grades_snapshot_score", "grades", ["snapshot_id", "score", "uscc"]),
           ("ix_grades_snapshot_grade", "grades", ["snapshot_id", "grade", "uscc"]),
           ("ix_entities_industry", "entities", ["industry_code", "uscc"]))


def upgrade() -> None:
    """Upgrade schema."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":  # the planner's statistics for the new indexes
        op.execute("ANALYZE grades")
        op.execute("ANALYZE entities")


def downgrade() -> None:
    """Downgrade schema."""
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
