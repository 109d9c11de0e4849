"""summaries: a published snapshot's monthly summaries (grade counts by region at each level, by industry
division and section, entity type and label, month-over-month moves), written with the snapshot; and an index
for search filtered by county on PostgreSQL: ``entities.region_code`` with ``varchar_pattern_ops``, so that
``region_code LIKE '370102%'`` reads the county's rows through an index (the default operator class serves
prefix matches only under the C collation).

Revision ID: 0010_monthly_summaries
Revises: 0008_plan_approval
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010_monthly_summaries'
down_revision: Union[str, Sequence[str], None] = '0008_plan_approval'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'summaries',
        sa.Column('snapshot_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('grade', sa.String(length=1), nullable=False),
        sa.Column('entities', sa.BigInteger(), nullable=False),
        sa.Column('score_sum', sa.Float(), nullable=False),
        sa.Column('base_snapshot_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['snapshot_id'], ['snapshots.id']),
        sa.PrimaryKeyConstraint('snapshot_id', 'kind', 'region_code', 'key', 'grade'),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_entities_region_prefix ON entities (region_code varchar_pattern_ops)")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entities_region_prefix")
    op.drop_table('summaries')
