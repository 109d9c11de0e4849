"""region index: ``entities (region_code, uscc)`` in place of ``entities (region_code)`` (and, on PostgreSQL,
of the ``varchar_pattern_ops`` index of migration 0010).

Region filters are ranges of codes (``registry.db.in_region``: a county is ``region_code = '370105'``, a city
``>= '3701' AND < '3702'``), which a plain index serves under any collation, so the pattern index is no longer
read.  With the USCC beside the county, a county's entities come out of the index in USCC order: the search
"county + grade D" merge-joins them with the month's D grades (``ix_grades_snapshot_grade``) instead of reading
every entity of the county into a hash (1.4 s at 10M entities before).

Revision ID: 0012_region_uscc_index
Revises: 0011_search_indexes
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012_region_uscc_index'
down_revision: Union[str, Sequence[str], None] = '0011_search_indexes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index("ix_entities_region_uscc", "entities", ["region_code", "uscc"])
    op.drop_index("ix_entities_region_code", table_name="entities")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entities_region_prefix")
        op.execute("ANALYZE entities")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_entities_region_prefix ON entities (region_code varchar_pattern_ops)")
    op.create_index("ix_entities_region_code", "entities", ["region_code"])
    op.drop_index("ix_entities_region_uscc", table_name="entities")
