"""The ingest's guards against hostile or careless files (issue 17): spreadsheet bombs, mixed encodings,
duplicate headers.  Each refuses a whole file (:class:`Unreadable`, with a code of
``contract.FILE_REASONS``) or tells the reader which rows to quarantine; none reads more than it must.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..normalise import header_key


class Unreadable(Exception):
    """The file cannot be read at all; the message is the reason shown to the user.  A refusal with a
    code of ``contract.FILE_REASONS`` starts with it (``"duplicate_header: ..."``)."""


@dataclass(frozen=True)
class XlsxLimits:
    """What an .xlsx may hold (settings ``xlsx_max_bytes``, ``xlsx_max_rows``, ``xlsx_max_columns``),
    checked by :func:`check_xlsx` before the spreadsheet reader sees the file."""

    max_bytes: int = 200 << 20
    max_rows: int = 2_000_000
    max_columns: int = 200


def check_headers(headers: list[str]) -> None:
    """Refuse a file whose headers repeat after header normalisation (``duplicate_header``)."""
    seen: dict[str, str] = {}
    for h in headers:
        k = header_key(h)
        if k in seen:
            raise Unreadable(f"duplicate_header: the header {h!r} appears twice"
                             + (f" (also as {seen[k]!r})" if seen[k] != h else ""))
        seen[k] = h


@dataclass
class EncodingMix:
    """A CSV whose lines are not all in one encoding: the majority's encoding, and the other lines
    (physical line numbers, 1-based) in the other one.  Read through a copy in one encoding
    (:func:`recode`); the other lines' rows are quarantined as ``bad_encoding``."""

    encoding: str  # 'utf-8' or 'gb18030': the file's encoding (most of its non-ASCII lines)
    other: str  # the encoding of the lines that are not in it
    lines: set[int]  # those lines

    @property
    def note(self) -> str:
        return f"{len(self.lines)} rows not {self.encoding.upper()} ({self.other.upper()})"


def scan_lines(path: Path) -> EncodingMix | None:
    """Classify each non-ASCII line of a file that is not UTF-8 as a whole (:func:`line_encoding`).
    ``None`` when every non-ASCII line is GB18030 (a GB18030 file); else the mix.  Raises Unreadable
    for a line that is neither.  Lines
    are physical lines (a quoted cell spanning lines is classified line by line)."""
    utf8: list[int] = []
    gb: list[int] = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            if line.isascii():
                continue
            kind = line_encoding(line)
            if kind is None:
                raise Unreadable(f"text is neither UTF-8 nor GB18030 (line {n})")
            (utf8 if kind == "utf-8" else gb).append(n)
    if not utf8:
        return None
    if len(gb) >= len(utf8):
        return EncodingMix("gb18030", "utf-8", set(utf8))
    return EncodingMix("utf-8", "gb18030", set(gb))


def line_encoding(line: bytes) -> str | None:
    """'utf-8' or 'gb18030' for one non-ASCII line (None: neither).  A line valid in only one is in that
    one.  A line valid in both (short GB18030 text can be valid UTF-8: 食品 is CA B3 C6 B7, two Latin
    letters in UTF-8; most UTF-8 Chinese is valid GB18030) is UTF-8 when, read as UTF-8, most of its
    non-ASCII characters are from U+0800 up (CJK, full-width forms, punctuation), as Chinese text is;
    GB18030 bytes read as UTF-8 give mostly two-byte characters below U+0800."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    try:
        line.decode("gb18030")
    except UnicodeDecodeError:
        return "utf-8" if text is not None else None
    if text is None:
        return "gb18030"
    wide = sum(1 for c in text if ord(c) >= 0x800)
    narrow = sum(1 for c in text if 0x80 <= ord(c) < 0x800)
    return "utf-8" if wide > narrow else "gb18030"


def recode(path: Path, mix: EncodingMix, out: Path) -> None:
    """A copy of ``path`` all in ``mix.encoding``: the other lines decoded in their own encoding and
    written again in the file's (GB18030 and UTF-8 both encode all of Unicode), line for line."""
    with open(path, "rb") as f, open(out, "wb") as w:
        for n, line in enumerate(f, start=1):
            if n in mix.lines:
                line = line.decode(mix.other).encode(mix.encoding)
            w.write(line)


DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref\s*=\s*[\"']([A-Za-z$]*)(\d*)(?::\$?([A-Za-z]+)\$?(\d+))?[\"']")
SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)


def column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper().replace(b"$", b""):
        n = n * 26 + (ch - 64)
    return n


def check_xlsx(path: Path, limits: XlsxLimits) -> None:
    """Refuse a spreadsheet bomb before any of it is decompressed (``xlsx_too_large``).

    The zip's central directory declares every part's decompressed size: their sum must stay within
    ``limits.max_bytes``.  Each worksheet's ``<dimension ref="A1:XFD1048576">`` (read from the first
    bytes of the part only) must stay within ``limits.max_rows`` and ``limits.max_columns``; the
    spreadsheet reader sizes its grid from it, so a 1.8 KB file declaring the whole sheet would
    otherwise abort the process."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Unreadable(f"not a readable Excel .xlsx file: {e}") from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.max_bytes:
            raise Unreadable(f"xlsx_too_large: the file decompresses to {total:,} bytes (limit {limits.max_bytes:,}; "
                             f"{path.stat().st_size:,} bytes compressed)")
        for info in infos:
            if not SHEET_PART.match(info.filename):
                continue
            try:
                with zf.open(info) as f:
                    head = f.read(1 << 16)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
                raise Unreadable(f"not a readable Excel .xlsx file: {e}") from None
            m = DIMENSION.search(head)
            if m:
                c1, r1, c2, r2 = m.groups()
                rows = int(r2 or r1 or 0)
                cols = column_number(c2 or c1 or b"")
                if rows > limits.max_rows or cols > limits.max_columns:
                    ref = m.group(0).split(b"=", 1)[1].strip(b"\"' ").decode("ascii", "replace")
                    raise Unreadable(f"xlsx_too_large: sheet {info.filename} declares {ref} ({rows:,} rows x "
                                     f"{cols:,} columns; limits {limits.max_rows:,} rows, {limits.max_columns:,} "
                                     "columns)")
            check_cells(zf, info, limits)


def beyond(limit: str, alphabet: str) -> bytes:
    """A regex of the strings of ``alphabet`` (digits or letters, no leading zero) greater than ``limit``."""
    a0, a1 = alphabet[0], alphabet[-1]
    alts = [f"[{alphabet[1] if a0 == '0' else a0}-{a1}][{a0}-{a1}]{{{len(limit)},}}"]  # longer
    for i, ch in enumerate(limit):
        if ch != a1:
            nxt = chr(ord(ch) + 1)
            alts.append(limit[:i] + f"[{nxt}-{a1}]" + f"[{a0}-{a1}]{{{len(limit) - i - 1}}}")
    return ("(?:" + "|".join(alts) + ")").encode("ascii")


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def check_cells(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XlsxLimits) -> None:
    """Refuse a sheet with a cell or row beyond the limits (a single cell at ``XFD1048576`` makes the
    reader allocate the whole grid: 17 billion cells).  The part is streamed (its declared size already
    checked) through a regex that matches only a reference beyond the limits, so an ordinary sheet costs
    one decompression and one scan, no Python per cell."""
    rows = beyond(str(limits.max_rows), "0123456789")
    cols = beyond(column_letters(limits.max_columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    far = re.compile(rb"\br\s*=\s*[\"'](?:[A-Z]{0,3}0*" + rows + rb"|" + cols + rb"[0-9]+)[\"']")
    tail = b""
    try:
        with zf.open(info) as f:
            while chunk := f.read(4 << 20):
                buf = tail + chunk
                m = far.search(buf)
                if m:
                    ref = m.group(0).split(b"=", 1)[1].strip(b"\"' ").decode("ascii", "replace")
                    raise Unreadable(f"xlsx_too_large: sheet {info.filename} has a cell or row at {ref} (limits "
                                     f"{limits.max_rows:,} rows, {limits.max_columns:,} columns)")
                tail = buf[-64:]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise Unreadable(f"not a readable Excel .xlsx file: {e}") from None
