"""Ed25519 signatures of the chain checkpoints: a proof that anyone holding the public key can check.

The HMAC of a checkpoint (:mod:`riskgrade.chain`) proves it to whoever holds the chain key, i.e. this
machine.  An Ed25519 signature lets an auditor off the machine check a checkpoint with the *public* key
alone (``riskgrade audit check-signature``), without any secret.  The private key is
``<home>/keys/checkpoint.ed25519`` (PKCS#8 PEM, 0600, in the 0700 keys folder, created on first use);
its public half is written beside it as ``checkpoint.ed25519.pub`` (PEM) for the operator to copy off the
machine once, next to the checkpoints.  The key id is the first 16 hex digits of the SHA-256 of the raw
public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from .errors import RiskgradeError

PRIVATE_FILE = "checkpoint.ed25519"
PUBLIC_FILE = "checkpoint.ed25519.pub"
ALGORITHM = "Ed25519"


def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as e:  # pragma: no cover - cryptography is a dependency
        raise RiskgradeError("Ed25519 signatures need the cryptography package") from e
    return serialization, ed25519


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _raw(public_key) -> bytes:
    serialization, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key(keys_dir: Path, *, create: bool = True):
    """The signing key in the home's keys folder ``keys_dir`` (0700, made by the caller: ``chain.private_dir``),
    made on first use with ``create``; None without it."""
    serialization, ed25519 = _crypto()
    folder = Path(keys_dir)
    path = folder / PRIVATE_FILE
    if not path.exists():
        if not create:
            return None
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        tmp = folder / f".{PRIVATE_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
        (folder / PUBLIC_FILE).write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise RiskgradeError(f"{path}: not an Ed25519 private key ({e})") from None


def public_key_pem(keys_dir: Path) -> bytes | None:
    p = Path(keys_dir) / PUBLIC_FILE
    return p.read_bytes() if p.exists() else None


def sign(keys_dir: Path, message: str) -> dict:
    """``{"algorithm", "key_id", "signature"}`` of ``message`` (UTF-8) with the key in ``keys_dir``."""
    key = private_key(keys_dir)
    return {"algorithm": ALGORITHM, "key_id": key_id(_raw(key.public_key())),
            "signature": base64.b64encode(key.sign(message.encode("utf-8"))).decode("ascii")}


def load_public(pem: bytes):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as e:
        raise RiskgradeError(f"not a public key in PEM form ({e})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise RiskgradeError("not an Ed25519 public key")
    return key


def check(pem: bytes, message: str, sig: dict) -> str | None:
    """Why ``sig`` is not a valid Ed25519 signature of ``message`` by the key ``pem``; None when it is."""
    from cryptography.exceptions import InvalidSignature

    key = load_public(pem)
    if not isinstance(sig, dict) or sig.get("algorithm") != ALGORITHM:
        return "the checkpoint carries no Ed25519 signature"
    if sig.get("key_id") != key_id(_raw(key)):
        return f"signed by key {sig.get('key_id')}, not by the public key given ({key_id(_raw(key))})"
    try:
        key.verify(base64.b64decode(sig.get("signature", ""), validate=True), message.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return "the Ed25519 signature does not match (the file was altered)"
    return None
