"""Two-factor secrets encrypted at rest: the users table holds ``users.totp_secret`` as AES-256-GCM ciphertext
under a key kept outside the database (the same discipline as the audit chain's key).

The key is ``$RISKGRADE_TOTP_KEY`` (one or more secrets, comma-separated, each 64 hex digits or any text; the last
encrypts, all decrypt) or the file ``<home>/keys/totp.key`` (0600 in a 0700 folder, created on first use; one hex
secret a line, the last line encrypts).  When the variable is set it encrypts; the file's keys still decrypt.

A stored value is ``v1:<key id>:<base64url(nonce + ciphertext)>``; the associated data binds it to the user's id,
so a ciphertext copied into another user's row does not decrypt.  A value without the ``v1:`` prefix is a secret
stored in plain text by an older riskgrade: it is still read, and :func:`seal_plaintext` encrypts it (the users
module does so for every such row the first time a process uses two-factor sign-in).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..chain import key_file_lines, private_dir
from ..errors import RiskgradeError

KEY_ENV = "RISKGRADE_TOTP_KEY"
KEY_FILE = "totp.key"
PREFIX = "v1:"
KEY_FILE_HEADER = ("# riskgrade two-factor (TOTP) secret keys (AES-256-GCM): one hex secret a line; the last line "
                   "encrypts,\n# the others decrypt older secrets. Keep a copy off this machine; never edit a line.\n")


class TotpKeyError(RiskgradeError):
    """A stored two-factor secret that this process cannot decrypt: the key is missing or not the one it was
    encrypted with.  An operator's problem (the key), never the user's."""


def _secret(text: str) -> bytes:
    t = text.strip()
    try:
        raw = bytes.fromhex(t) if len(t) == 64 else None
    except ValueError:
        raw = None
    return raw if raw is not None else hashlib.sha256(b"riskgrade totp key|" + t.encode()).digest()


def key_id_of(key: bytes) -> str:
    """A key's id: a fingerprint that names it without revealing it."""
    return "t" + hashlib.sha256(b"riskgrade totp key id|" + key).hexdigest()[:12]


def key_path(home: Path) -> Path:
    return Path(home) / "keys" / KEY_FILE


@dataclass
class TotpKeys:
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str | None = None

    def encrypt(self, secret: str, user_id: int) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self.current is None:
            raise TotpKeyError("no key to encrypt two-factor secrets: set RISKGRADE_TOTP_KEY or let riskgrade "
                               "create keys/totp.key in the data home")
        nonce = secrets.token_bytes(12)
        ct = AESGCM(self.keys[self.current]).encrypt(nonce, secret.encode(), _aad(user_id))
        return f"{PREFIX}{self.current}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt(self, stored: str, user_id: int) -> str:
        """The plain secret of a stored value (a plain-text value of an older riskgrade is returned as it is)."""
        if not is_sealed(stored):
            return stored
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            _, kid, blob = stored.split(":", 2)
            raw = base64.urlsafe_b64decode(blob.encode())
        except ValueError:
            raise TotpKeyError("a stored two-factor secret is damaged (not v1:<key id>:<data>)") from None
        key = self.keys.get(kid)
        if key is None:
            raise TotpKeyError(f"the two-factor secrets were encrypted with key {kid}, which this server does not "
                               "hold: set RISKGRADE_TOTP_KEY or restore keys/totp.key in the data home")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], _aad(user_id)).decode()
        except (InvalidTag, ValueError):
            raise TotpKeyError(f"a two-factor secret does not decrypt with key {kid} (altered, or moved to another "
                               "user)") from None


def _aad(user_id: int) -> bytes:
    return f"riskgrade-totp/1|{int(user_id)}".encode()


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def _file_keys(path: Path) -> list[bytes]:
    return [_secret(x) for x in key_file_lines(path)]


def _create_file(path: Path) -> None:
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(KEY_FILE_HEADER + secrets.token_hex(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # never replaces a key file another process made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def totp_keys(home: Path | None, *, create: bool = False) -> TotpKeys:
    """The keys of a data home; ``create`` makes the key file on first use (unless the variable is set)."""
    ring = TotpKeys()
    env = [_secret(x) for x in os.environ.get(KEY_ENV, "").split(",") if x.strip()]
    from_file = _file_keys(key_path(home)) if home is not None else []
    if not from_file and not env and create and home is not None:
        _create_file(key_path(home))
        from_file = _file_keys(key_path(home))
    for k in from_file + env:
        ring.keys[key_id_of(k)] = k
    last = (env or from_file)[-1:]
    ring.current = key_id_of(last[0]) if last else None
    return ring
