"""Whole-file traps of the dirty delivery (issue 17): files an ingest must refuse as unreadable, naming the
reason code of ``contract.FILE_REASONS``, while the rest of the delivery still loads.

* ``events/part-997.xlsx``: a spreadsheet bomb of a few kilobytes whose sheet declares the whole grid
  (``A1:XFD1048576``) and holds a cell at its far corner: ``xlsx_too_large``.
* ``events/part-998.csv``: an events file whose header names ``uscc`` twice (``uscc`` and ``USCC``):
  ``duplicate_header``.

Their rows are drawn from a random stream of their own (seeded from the delivery's seed and a fixed tag),
so adding them changes no other file of the dirty delivery.  Their rows would be valid if read, so an ingest
that read either file would report counts other than the expected ones.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np

from .. import contract

XLSX_BOMB = "events/part-997.xlsx"
DUPLICATE_HEADER = "events/part-998.csv"
TRAPS = ((XLSX_BOMB, "xlsx_too_large"), (DUPLICATE_HEADER, "duplicate_header"))
_STREAM = 0x7247_17  # the traps' own random stream: np.random.default_rng([seed, _STREAM])
_ROWS = 20


def _rows(rng: np.random.Generator, usccs: np.ndarray) -> list[list[str]]:
    """Inspection events of delivered entities, with record ids of their own (``TRAP...``)."""
    pick = usccs[rng.integers(0, len(usccs), _ROWS)] if len(usccs) else np.array(["91370102MA3C5DEX0A"] * _ROWS)
    days = rng.integers(1, 28, _ROWS)
    return [[f"TRAP{k:06d}", str(u), "inspection", f"2025-06-{int(d):02d}", "", "pass"]
            for k, (u, d) in enumerate(zip(pick, days))]


_HEADER = ["record_id", "uscc", "event_type", "event_date", "source", "detail"]


def duplicate_header_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*_HEADER, "USCC"])  # uscc twice, in two cases
    for r in rows:
        w.writerow([*r, r[1]])
    return buf.getvalue().encode("utf-8")


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx_bomb_bytes(rows: list[list[str]]) -> bytes:
    """A valid .xlsx of a few kilobytes whose one sheet declares ``A1:XFD1048576`` and has a cell there."""
    cols = "ABCDEF"
    sheet_rows = [f'<row r="1">{"".join(_cell(f"{c}1", h) for c, h in zip(cols, _HEADER))}</row>']
    for i, r in enumerate(rows, start=2):
        sheet_rows.append(f'<row r="{i}">{"".join(_cell(f"{c}{i}", v) for c, v in zip(cols, r) if v)}</row>')
    sheet_rows.append(f'<row r="1048576">{_cell("XFD1048576", "end")}</row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets>'
            '<sheet name="events" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><dimension ref="A1:XFD1048576"/>'
            f'<sheetData>{"".join(sheet_rows)}</sheetData></worksheet>'),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))  # the same bytes for the same seed
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def write_traps(dirty_out: Path, seed: int, usccs: np.ndarray) -> list[dict]:
    """Write the trap files into the dirty delivery; returns their expected ``unreadable_files`` entries
    (path and reason code), in the order an ingest meets them."""
    for code in (r for _, r in TRAPS):
        assert code in contract.FILE_REASONS, code
    rng = np.random.default_rng([int(seed), _STREAM])
    rows = _rows(rng, usccs)
    (dirty_out / XLSX_BOMB).parent.mkdir(parents=True, exist_ok=True)
    for old in (dirty_out / "events").glob("*.xlsx"):
        old.unlink()
    (dirty_out / XLSX_BOMB).write_bytes(xlsx_bomb_bytes(rows))
    (dirty_out / DUPLICATE_HEADER).write_bytes(duplicate_header_bytes(rows))
    return [{"path": path, "reason": code} for path, code in sorted(TRAPS)]
