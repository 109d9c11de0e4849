"""summaries: a published snapshot's monthly summaries (grade counts by region at each level, by industry
division and section, entity type and label, month-over-month moves), written with the snapshot; and an index
for search filtered by grade (grades by snapshot, grade and USCC).

Revision ID: 0010_monthly_summaries
Revises: 0006_totp_at_rest
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010_monthly_summaries'
down_revision: Union[str, Sequence[str], None] = '0006_totp_at_rest'
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


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('summaries')
