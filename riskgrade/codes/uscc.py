"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

``python-stdnum`` (:mod:`stdnum.cn.uscc`) is the reference implementation.  For
bulk work we validate *distinct* codes with a vectorised numpy version of the
same algorithm; a property test proves both agree on arbitrary input.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from stdnum.cn import uscc as _stdnum_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)

# byte -> index in ALPHABET, -1 when not in the alphabet
_LOOKUP = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _LOOKUP[ord(_c)] = _i


def is_valid(code: str) -> bool:
    """Validate one code with python-stdnum (the reference)."""
    return _stdnum_uscc.is_valid(code) and code == _stdnum_uscc.compact(code)


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (python-stdnum)."""
    return _stdnum_uscc.calc_check_digit(first17)


def _check_bytes(b: np.ndarray) -> np.ndarray:
    """Validity of codes given as an (n, 18) array of their bytes."""
    vals = _LOOKUP[b]
    digits8 = (b[:, :8] >= ord("0")) & (b[:, :8] <= ord("9"))
    good = digits8.all(axis=1) & (vals >= 0).all(axis=1)
    total = (vals[:, :17] * WEIGHTS).sum(axis=1)
    return good & (vals[:, 17] == (31 - total) % 31)


def valid_mask_arrow(codes: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``valid_mask`` of a pyarrow string array, without a Python object per code: a valid code is
    18 bytes of the alphabet, so the 18-byte values are checked straight from the array's data buffer."""
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks() if codes.num_chunks else pa.array([], pa.string())
    codes = codes.cast(pa.large_binary())
    n = len(codes)
    out = np.zeros(n, dtype=bool)
    lengths = pc.fill_null(pc.binary_length(codes), 0).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(lengths == 18)
    if idx.size == 0:
        return out
    sel = codes.take(pa.array(idx))
    offsets = np.frombuffer(sel.buffers()[1], dtype=np.int64)[sel.offset:sel.offset + len(sel) + 1]
    data = np.frombuffer(sel.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    out[idx] = _check_bytes(data.reshape(-1, 18))
    return out


def valid_mask(codes: list[str] | np.ndarray) -> np.ndarray:
    """Vectorised validity of already-normalised codes (upper-case, no spaces).

    Same rules as stdnum: 18 characters, the first 8 digits, the rest from the
    31-character alphabet, and the GB 32100 check character.
    """
    codes = list(codes)
    n = len(codes)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    lengths = np.fromiter((len(c) if isinstance(c, str) else -1 for c in codes), dtype=np.int64, count=n)
    ok = lengths == 18
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    joined = "".join(codes[i] for i in idx)
    raw = np.frombuffer(joined.encode("utf-8", errors="replace"), dtype=np.uint8)
    if raw.size != idx.size * 18:  # some code has non-ASCII characters: fall back per code
        return np.array([isinstance(c, str) and is_valid(c) for c in codes], dtype=bool)
    out[idx] = _check_bytes(raw.reshape(-1, 18))
    return out


def make(first17: np.ndarray | list[str]) -> list[str]:
    """Append check characters to 17-character prefixes (vectorised)."""
    first17 = list(first17)
    if not first17:
        return []
    b = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(-1, 17)
    vals = _LOOKUP[b]
    if (vals < 0).any():
        raise ValueError("prefix outside the USCC alphabet")
    check = (31 - (vals * WEIGHTS).sum(axis=1)) % 31
    alpha = np.array(list(ALPHABET))
    return [p + c for p, c in zip(first17, alpha[check])]
