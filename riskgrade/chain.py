"""The keyed hash chain of the append-only logs: the registry's audit log and the alert log.

Each entry is ``(seq, at, username, action, target, detail)`` with ``prev_hash`` (the previous entry's
hash; :data:`GENESIS` for the first), ``key_id`` and

    hash = HMAC-SHA256(key[key_id], prev_hash + canonical JSON [seq, at, username, action, target, detail, key_id])

The key is kept outside the database (:class:`Keyring`): ``$RISKGRADE_AUDIT_KEY`` or the file
``<home>/keys/audit.key`` (0600, in a 0700 folder, created on first use).  Without the key an edited
entry cannot be given a valid hash, so recomputing every later hash no longer hides an edit.

Entries written before the chain was keyed (``key_id`` empty) are verified as before, as
``sha256(prev_hash + canonical JSON [seq, at, username, action, target, detail])``.  The first keyed
append records the first sequence number that must be keyed in ``<home>/keys/keyed-from.json``
(outside the database): an unkeyed entry at or after it fails (``"unkeyed"``), so a chain cannot be
rewritten as plain SHA-256 either.

Sequence numbers are consecutive: an edited entry breaks its own hash, a deleted one the sequence and
the next entry's ``prev_hash``.  :func:`walk` finds the first entry that fails; each log words it.
Cutting off the newest entries, or rewriting the chain with the key, is caught against a signed
checkpoint (:func:`checkpoint`, :func:`check_checkpoint`) kept off the machine.
Both logs use the same form, so an alert log entry can be carried into the audit log as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

GENESIS = "0" * 64
KEY_ENV = "RISKGRADE_AUDIT_KEY"
KEYS_DIR = "keys"
KEY_FILE = "audit.key"
KEYED_FROM_FILE = "keyed-from.json"
CHECKPOINT_FORMAT = "riskgrade-chain-checkpoint/1"


def canonical(seq: int, at: dt.datetime, username: str, action: str, target: str, detail: str,
              key_id: str | None = None) -> str:
    fields = [seq, at.isoformat(timespec="microseconds"), username, action, target, detail]
    if key_id:
        fields.append(key_id)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def entry_hash(prev_hash: str, seq: int, at: dt.datetime, username: str, action: str, target: str,
               detail: str, key: bytes | None = None, key_id: str | None = None) -> str:
    """The entry's hash: HMAC-SHA256 with ``key`` (and ``key_id`` in the message), or plain SHA-256 without."""
    msg = (prev_hash + canonical(seq, at, username, action, target, detail, key_id if key else None)).encode()
    if key:
        return hmac.new(key, msg, hashlib.sha256).hexdigest()
    return hashlib.sha256(msg).hexdigest()


# --------------------------------------------------------------------------- keys


def key_id_of(secret: bytes) -> str:
    """A key's id: a fingerprint that names the key without revealing it."""
    return "k" + hashlib.sha256(b"riskgrade audit key id|" + secret).hexdigest()[:12]


def _secret(text: str) -> bytes:
    t = text.strip()
    try:
        return bytes.fromhex(t) if len(t) >= 32 and len(t) % 2 == 0 else t.encode()
    except ValueError:
        return t.encode()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as a folder only its owner can enter (0700); a folder that is
    already there keeps its mode."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def private_file(path: Path) -> None:
    """Make a file the program created readable by its owner only (0600); quiet if it is gone."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


def _write_private(path: Path, text: str, *, exclusive: bool) -> bool:
    """Write ``text`` to ``path`` atomically, 0600; with ``exclusive``, only when the file is not there yet."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = None
        return True
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@dataclass
class Keyring:
    """The chain keys of a data home: every key that may verify, and the one that signs new entries.

    ``$RISKGRADE_AUDIT_KEY`` (one or more secrets, comma-separated, hex or text; the last signs) wins over
    ``<home>/keys/audit.key`` (one hex secret a line; the last line signs); the file's keys still verify.
    Rotation adds a key at the end; old keys stay to verify the entries they signed.
    """
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str | None = None
    home: Path | None = None

    @property
    def signing_key(self) -> bytes | None:
        return self.keys.get(self.current) if self.current else None

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    def sign(self, message: str, purpose: str) -> tuple[str, str]:
        """(key id, HMAC) of a message outside the chain (a checkpoint), with the signing key."""
        if not self.current:
            raise ValueError("no audit chain key")
        return self.current, self._mac(self.keys[self.current], message, purpose)

    def check(self, key_id: str, message: str, purpose: str, mac: str) -> bool | None:
        """Whether ``mac`` is the HMAC of the message; None if the key is not held."""
        k = self.keys.get(key_id)
        if k is None:
            return None
        return hmac.compare_digest(self._mac(k, message, purpose), mac)

    @staticmethod
    def _mac(key: bytes, message: str, purpose: str) -> str:
        return hmac.new(key, f"{purpose}|{message}".encode(), hashlib.sha256).hexdigest()

    # the first sequence number of each log that must be keyed, recorded outside the database
    def keyed_from(self, log: str) -> int | None:
        if self.home is None:
            return None
        p = self.home / KEYS_DIR / KEYED_FROM_FILE
        try:
            v = json.loads(p.read_text(encoding="utf-8")).get(log)
        except (OSError, ValueError):
            return None
        return int(v) if v is not None else None

    def mark_keyed_from(self, log: str, seq: int) -> None:
        """Record, once, that entries of ``log`` from ``seq`` on are keyed."""
        if self.home is None or self.keyed_from(log) is not None:
            return
        folder = private_dir(self.home / KEYS_DIR)
        p = folder / KEYED_FROM_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data.setdefault(log, int(seq))
        _write_private(p, json.dumps(data, indent=1, sort_keys=True) + "\n", exclusive=False)


def key_path(home: Path) -> Path:
    return Path(home) / KEYS_DIR / KEY_FILE


def key_file_lines(path: Path) -> list[str]:
    """The secrets of a key file, one a line (blank lines and ``#`` comments left out; no file: none)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [x for x in lines if x.strip() and not x.lstrip().startswith("#")]


def _file_keys(path: Path) -> list[bytes]:
    return [_secret(x) for x in key_file_lines(path)]


KEY_FILE_HEADER = ("# riskgrade audit chain keys (HMAC-SHA256): one hex secret a line; the last line signs new "
                   "entries,\n# the others verify older ones. Keep a copy off this machine; never edit a line.\n")


def keyring(home: Path | None, *, create: bool = False) -> Keyring:
    """The keys of a data home (see :class:`Keyring`); ``create`` makes the key file on first use."""
    home = Path(home) if home is not None else None
    ring = Keyring(home=home)
    from_file = _file_keys(key_path(home)) if home is not None else []
    if not from_file and create and home is not None and not os.environ.get(KEY_ENV, "").strip():
        folder = private_dir(home / KEYS_DIR)
        _write_private(folder / KEY_FILE, KEY_FILE_HEADER + secrets.token_hex(32) + "\n", exclusive=True)
        from_file = _file_keys(key_path(home))
    for k in from_file:
        ring.keys[key_id_of(k)] = k
    if from_file:
        ring.current = key_id_of(from_file[-1])
    env = [_secret(x) for x in os.environ.get(KEY_ENV, "").split(",") if x.strip()]
    for k in env:
        ring.keys[key_id_of(k)] = k
    if env:
        ring.current = key_id_of(env[-1])
    return ring


def rotate(home: Path) -> str:
    """Add a new key to the key file (it signs from now on); returns its id.  Old keys stay."""
    folder = private_dir(Path(home) / KEYS_DIR)
    p = folder / KEY_FILE
    old = p.read_text(encoding="utf-8") if p.exists() else KEY_FILE_HEADER
    new = secrets.token_hex(32)
    _write_private(p, old.rstrip("\n") + "\n" + new + "\n", exclusive=False)
    return key_id_of(bytes.fromhex(new))


# --------------------------------------------------------------------------- appending and walking


def seal(ring: Keyring | None, log: str, prev_hash: str, seq: int, at: dt.datetime, username: str, action: str,
         target: str, detail: str) -> tuple[str | None, str]:
    """(key id, hash) of a new entry: keyed with the ring's signing key (and the log marked keyed from its
    first keyed entry), or plain SHA-256 when there is no key."""
    key = ring.signing_key if ring is not None else None
    if key is None:
        return None, entry_hash(prev_hash, seq, at, username, action, target, detail)
    ring.mark_keyed_from(log, seq)
    return ring.current, entry_hash(prev_hash, seq, at, username, action, target, detail, key, ring.current)


@dataclass
class Walk:
    """The result of walking a chain: entries read, the last good entry (head), and the first failure."""
    entries: int
    head_seq: int
    head_hash: str
    failure: str | None = None  # "missing" (a gap in seq), "broken" (prev_hash differs), "edited" (hash differs),
    # "unkeyed" (a plain SHA-256 entry where the chain is keyed), "nokey" (signed with a key not held)
    bad_seq: int | None = None
    bad_entry: tuple | None = None  # (seq, at, username, action, target, detail) of the failing entry
    unkeyed: int = 0  # entries verified as plain SHA-256 (written before the chain was keyed)
    key_id: str | None = None  # the failing entry's key id ("nokey")


def walk(rows: Iterable[tuple], ring: Keyring | None = None, log: str = "") -> Walk:
    """Check ``(seq, at, username, action, target, detail, prev_hash, hash[, key_id])`` rows, in seq order."""
    keyed_from = ring.keyed_from(log) if ring is not None and log else None
    prev_seq, prev_hash, n, plain, seen_keyed = 0, GENESIS, 0, 0, False
    for row in rows:
        seq, at, user, action, target, detail, ph, h = row[:8]
        kid = row[8] if len(row) > 8 else None
        n += 1
        entry = (seq, at, user, action, target, detail)
        if seq != prev_seq + 1:
            return Walk(n, prev_seq, prev_hash, "missing", prev_seq + 1, entry, plain)
        if ph != prev_hash:
            return Walk(n, prev_seq, prev_hash, "broken", seq, entry, plain)
        if kid:
            key = ring.key(kid) if ring is not None else None
            if key is None:
                return Walk(n, prev_seq, prev_hash, "nokey", seq, entry, plain, kid)
            good = hmac.compare_digest(entry_hash(ph, seq, at, user, action, target, detail, key, kid), h or "")
            seen_keyed = True
        else:
            if seen_keyed or (keyed_from is not None and seq >= keyed_from):
                return Walk(n, prev_seq, prev_hash, "unkeyed", seq, entry, plain)
            good = entry_hash(ph, seq, at, user, action, target, detail) == h
            plain += 1
        if not good:
            return Walk(n, prev_seq, prev_hash, "edited", seq, entry, plain)
        prev_seq, prev_hash = seq, h
    return Walk(n, prev_seq, prev_hash, unkeyed=plain)


# --------------------------------------------------------------------------- checkpoints


def _checkpoint_body(cp: dict) -> str:
    body = {k: cp[k] for k in ("format", "log", "head_seq", "head_hash", "entries", "at", "key_id")}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def checkpoint(ring: Keyring, log: str, w: Walk) -> dict:
    """A signed checkpoint of a chain's head, to keep off the machine (JSON; see docs/security-audit.md)."""
    cp = {"format": CHECKPOINT_FORMAT, "log": log, "head_seq": w.head_seq, "head_hash": w.head_hash,
          "entries": w.entries, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
          "key_id": ring.current}
    cp["key_id"], cp["signature"] = ring.sign(_checkpoint_body(cp), "checkpoint")
    cp["algorithm"] = "HMAC-SHA256"
    if ring.home is not None:  # and a signature anyone can check with the home's public key
        from .signing import sign

        cp["ed25519"] = sign(private_dir(ring.home / KEYS_DIR), _checkpoint_body(cp))
    return cp


def checkpoint_message(cp: dict) -> str:
    """What a checkpoint's signatures sign (its canonical body)."""
    return _checkpoint_body(cp)


def check_checkpoint(ring: Keyring, log: str, cp: dict, w: Walk, hash_at: dict[int, str]) -> str | None:
    """Why a chain (walked as ``w``; ``hash_at`` maps the checkpoint's head seq to its stored hash) does not
    extend the checkpoint, or None when it does."""
    try:
        if cp.get("format") != CHECKPOINT_FORMAT or cp.get("log") != log:
            return f"not a checkpoint of the {log} (format {cp.get('format')!r}, log {cp.get('log')!r})"
        ok = ring.check(cp["key_id"], _checkpoint_body(cp), "checkpoint", cp["signature"])
        hs, hh = int(cp["head_seq"]), cp["head_hash"]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return f"not a valid checkpoint ({type(e).__name__}: {e})"
    if ok is None:
        return f"the checkpoint is signed with key {cp['key_id']}, which this home does not hold"
    if not ok:
        return "the checkpoint's signature does not match (the file was altered)"
    if "ed25519" in cp and ring.home is not None:
        from .signing import check, public_key_pem

        pem = public_key_pem(ring.home / KEYS_DIR)
        why = check(pem, _checkpoint_body(cp), cp["ed25519"]) if pem else None
        if why:
            return why
    if w.head_seq < hs:
        return (f"the log ends at entry {w.head_seq}, before the checkpoint's head {hs} of {cp['at']} "
                "(entries deleted at the end, or the chain rewritten)")
    if hash_at.get(hs) != hh:
        return f"entry {hs} differs from the checkpoint's head of {cp['at']} (the chain was rewritten)"
    return None
