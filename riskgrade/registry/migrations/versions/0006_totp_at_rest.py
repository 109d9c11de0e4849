"""users.totp_secret widened for the encrypted form (``v1:<key id>:<base64 nonce + AES-GCM ciphertext>``)

The secrets themselves are encrypted by riskgrade, not here (the key lives outside the database, in the data
home or ``RISKGRADE_TOTP_KEY``, which a migration does not see): the first process that uses two-factor sign-in
after this revision encrypts every secret stored in plain text (``riskgrade.registry.users.seal_plaintext``).
SQLite does not enforce the length of a VARCHAR, so only PostgreSQL's column changes.

Revision ID: 0006_totp_at_rest
Revises: 0005_login
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006_totp_at_rest'
down_revision: Union[str, Sequence[str], None] = '0005_login'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('users', 'totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=256),
                        existing_nullable=True)


def downgrade() -> None:
    """Downgrade schema (encrypted secrets do not fit the old column: remove two-factor sign-in first)."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('users', 'totp_secret', existing_type=sa.String(length=256), type_=sa.String(length=64),
                        existing_nullable=True)
