"""Vectorised construction of string columns (Arrow) from numpy arrays.

The simulator keeps every column as numbers until it writes; these helpers
turn numbers into Arrow string arrays without per-row Python: fixed-width
strings straight from a ``uint8`` byte matrix, zero-padded decimals,
pseudonymous hex ids and ISO dates by table lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NO_DAY = np.int32(2**30)  # "no date" sentinel for int32 day numbers (days since 1970-01-01)
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_MASK40 = np.uint64((1 << 40) - 1)


def fixed_width(mat: np.ndarray) -> pa.StringArray:
    """Rows of an ``(n, w)`` uint8 matrix of ASCII bytes -> an Arrow string array."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, w = mat.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * w).astype(np.int32 if n * w < 2**31 else np.int64)
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(mat.reshape(-1))])
    return arr if typ == pa.string() else arr.cast(pa.string())


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an ``(n, width)`` uint8 matrix."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((v.size, width), dtype=np.uint8)
    for col in range(width - 1, -1, -1):
        out[:, col] = (v % 10).astype(np.uint8) + 48
        v //= 10
    return out


def prefixed_numbers(prefix_bytes: np.ndarray, values: np.ndarray, width: int) -> pa.StringArray:
    """``prefix + zero-padded number``; ``prefix_bytes`` is an ``(n, p)`` uint8 matrix or one ``(p,)`` row."""
    digits = digit_matrix(values, width)
    pre = np.broadcast_to(np.asarray(prefix_bytes, dtype=np.uint8), (digits.shape[0], np.shape(prefix_bytes)[-1]))
    return fixed_width(np.hstack([pre, digits]))


def mix40(index: np.ndarray, keys: Sequence[int]) -> np.ndarray:
    """A bijection of ``[0, 2**40)`` (multiply-xorshift), so distinct indexes give distinct ids."""
    x = (np.asarray(index, dtype=np.uint64) + np.uint64(keys[0])) & _MASK40
    with np.errstate(over="ignore"):
        x = (x * np.uint64(keys[1] | 1)) & _MASK40
        x ^= x >> np.uint64(17)
        x = (x * np.uint64(keys[2] | 1)) & _MASK40
        x ^= x >> np.uint64(21)
    return x


def hex_ids(prefix: str, index: np.ndarray, keys: Sequence[int]) -> pa.StringArray:
    """Pseudonymous ids ``prefix + 10 upper-case hex digits``, distinct for distinct indexes."""
    x = mix40(index, keys)
    nibbles = np.empty((x.size, 10), dtype=np.uint8)
    for col in range(9, -1, -1):
        nibbles[:, col] = _HEX[(x & np.uint64(15)).astype(np.intp)]
        x >>= np.uint64(4)
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    return fixed_width(np.hstack([np.broadcast_to(pre, (nibbles.shape[0], pre.size)), nibbles]))


class DateStrings:
    """ISO date strings for a range of day numbers, looked up with ``take``."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo = int(lo)
        days = np.arange(self.lo, int(hi) + 1, dtype="int64").astype("datetime64[D]")
        self.table = pa.array(np.datetime_as_string(days, unit="D").astype(object), type=pa.string())

    def __call__(self, days: np.ndarray) -> pa.Array:
        """Day numbers (``NO_DAY`` = missing) -> ISO strings (null when missing)."""
        days = np.asarray(days)
        missing = days == NO_DAY
        idx = (days.astype(np.int64) - self.lo).astype(np.int32)
        idx[missing] = 0
        return self.table.take(pa.array(idx, mask=missing if missing.any() else None))


def lookup(table: Sequence[str] | pa.Array, codes: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """``table[codes]`` as an Arrow string array; ``missing`` rows become null."""
    arr = table if isinstance(table, pa.Array) else pa.array(list(table), type=pa.string())
    codes = np.asarray(codes, dtype=np.int32)
    if missing is not None and missing.any():
        codes = np.where(missing, 0, codes).astype(np.int32)
        return arr.take(pa.array(codes, mask=missing))
    return arr.take(pa.array(codes))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays (and scalars)."""
    return pc.binary_join_element_wise(*parts, "")


def int_strings(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Integers -> decimal strings (null where ``missing``)."""
    arr = pa.array(np.asarray(values, dtype=np.int64), mask=missing if missing is not None and missing.any() else None)
    return arr.cast(pa.string())
