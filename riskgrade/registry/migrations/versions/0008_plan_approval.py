"""plan_approvals (a drawn plan's approval: 待审批 / 已生效 / 已驳回) and plan_inspectors (the inspectors a published
plan names, with name and unit)

Revision ID: 0008_plan_approval
Revises: 0007_grade_reviews
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008_plan_approval'
down_revision: Union[str, Sequence[str], None] = '0007_grade_reviews'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'plan_approvals',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=True),
        sa.Column('period_end', sa.Date(), nullable=True),
        sa.Column('team', sa.Text(), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('plan_id'),
    )
    op.create_table(
        'plan_inspectors',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('inspector_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('unit_region_code', sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint('plan_id', 'inspector_id'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('plan_inspectors')
    op.drop_table('plan_approvals')
