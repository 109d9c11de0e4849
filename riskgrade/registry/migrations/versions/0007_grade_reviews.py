"""Grade reviews (申诉/复核), the grade row's review id, and the company file's registration data and indexes

``grade_reviews``: an officer's proposal of another grade with a reason, a provincial reviewer's decision; an
approved one is carried by the next publication (``grades.review_id``, rule ``review``).  ``entities`` gains the
legal representative's name, the business scope and the registration authority (null unless a delivery carries
them) and indexes for related companies (same legal representative, phone or address) and the search by them.

Revision ID: 0007_grade_reviews
Revises: 0006_totp_at_rest
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007_grade_reviews'
down_revision: Union[str, Sequence[str], None] = '0006_totp_at_rest'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'grade_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uscc', sa.String(length=18), nullable=False),
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('snapshot_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('from_grade', sa.String(length=1), nullable=False),
        sa.Column('to_grade', sa.String(length=1), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('proposed_by', sa.String(length=64), nullable=False),
        sa.Column('proposed_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_grade_reviews_uscc', 'grade_reviews', ['uscc'])
    op.create_index('ix_grade_reviews_state', 'grade_reviews', ['state'])
    with op.batch_alter_table('grades') as b:
        b.add_column(sa.Column('review_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('entities') as b:
        b.add_column(sa.Column('legal_rep_name', sa.String(length=128), nullable=True))
        b.add_column(sa.Column('business_scope', sa.Text(), nullable=True))
        b.add_column(sa.Column('registration_authority', sa.String(length=256), nullable=True))
    op.create_index('ix_entities_legal_rep_id', 'entities', ['legal_rep_id'])
    op.create_index('ix_entities_phone_id', 'entities', ['phone_id'])
    op.create_index('ix_entities_address', 'entities', ['address'])
    op.create_index('ix_entities_legal_rep_name', 'entities', ['legal_rep_name'])


def downgrade() -> None:
    """Downgrade schema."""
    for ix in ('ix_entities_legal_rep_name', 'ix_entities_address', 'ix_entities_phone_id', 'ix_entities_legal_rep_id'):
        op.drop_index(ix, table_name='entities')
    with op.batch_alter_table('entities') as b:
        b.drop_column('registration_authority')
        b.drop_column('business_scope')
        b.drop_column('legal_rep_name')
    with op.batch_alter_table('grades') as b:
        b.drop_column('review_id')
    op.drop_index('ix_grade_reviews_state', table_name='grade_reviews')
    op.drop_index('ix_grade_reviews_uscc', table_name='grade_reviews')
    op.drop_table('grade_reviews')
