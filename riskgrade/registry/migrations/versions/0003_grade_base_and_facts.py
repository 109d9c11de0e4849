"""grades.score_base and grades.facts: the base of a published score and the facts behind its reasons

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-15

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_base', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('facts', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.drop_column('facts')
        batch_op.drop_column('score_base')
