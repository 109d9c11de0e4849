"""Property tests: cell normalisation and USCC handling."""

from __future__ import annotations

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from riskgrade.codes import uscc
from riskgrade.normalise import FULLWIDTH, clean, sql_clean

CON = duckdb.connect()
ALPHA = uscc.ALPHABET
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@given(texts)
@settings(deadline=None)  # one DuckDB query per example: slow on a busy machine, not wrong
def test_python_and_sql_normalisation_agree(s: str) -> None:
    assert CON.execute("SELECT " + sql_clean("$1"), [s]).fetchall()[0][0] == clean(s)


@given(texts)
def test_normalisation_is_idempotent_and_folds_fullwidth(s: str) -> None:
    c = clean(s)
    assert clean(c) == c
    if c is not None:
        assert not any(ch in FULLWIDTH for ch in c)
        assert c == c.strip()


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.text(alphabet=ALPHA, min_size=9, max_size=9))
def test_generated_codes_are_valid_for_stdnum(head: str, org: str) -> None:
    code = uscc.make([head + org])[0]
    assert stdnum_uscc.is_valid(code)
    assert uscc.valid_mask([code])[0]


code_like = st.one_of(
    st.text(alphabet=ALPHA + "IOZSVabc-", min_size=16, max_size=19),
    st.builds(lambda h, o: uscc.make([h + o])[0], st.text(alphabet="0123456789", min_size=8, max_size=8),
              st.text(alphabet=ALPHA, min_size=9, max_size=9)),
)


@given(st.lists(code_like, max_size=20))
@settings(max_examples=300)
def test_vectorised_check_equals_stdnum(codes: list[str]) -> None:
    got = uscc.valid_mask(codes).tolist()
    assert got == [uscc.is_valid(c) for c in codes]


@given(st.lists(st.one_of(code_like, st.none(), st.text(max_size=20)), max_size=20), st.integers(0, 3))
@settings(max_examples=300)
def test_arrow_check_equals_stdnum(codes: list[str | None], cut: int) -> None:
    """The check over a pyarrow column (chunked, sliced, with nulls and non-ASCII text) equals stdnum's."""
    import pyarrow as pa

    arr = pa.chunked_array([pa.array(codes[:cut], pa.string()), pa.array(codes[cut:], pa.string())])
    got = uscc.valid_mask_arrow(arr).tolist()
    assert got == [c is not None and uscc.is_valid(c) for c in codes]
    if len(codes) > 1:  # a slice of an array (non-zero offset)
        assert uscc.valid_mask_arrow(pa.array(codes, pa.string()).slice(1)).tolist() == got[1:]


@given(st.builds(lambda h, o: uscc.make([h + o])[0], st.text(alphabet="0123456789", min_size=8, max_size=8),
                 st.text(alphabet=ALPHA, min_size=9, max_size=9)),
       st.integers(min_value=0, max_value=17), st.sampled_from(list(ALPHA)))
def test_any_single_substitution_is_detected(code: str, pos: int, ch: str) -> None:
    mutated = code[:pos] + ch + code[pos + 1:]
    assert uscc.valid_mask([mutated])[0] == (mutated == code or uscc.is_valid(mutated))


@given(st.builds(lambda h, o: uscc.make([h + o])[0], st.text(alphabet="0123456789", min_size=8, max_size=8),
                 st.text(alphabet=ALPHA, min_size=9, max_size=9)))
def test_fullwidth_and_case_fold_to_the_same_code(code: str) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert clean("\u3000" + wide.lower() + " ").upper() == code


@given(st.lists(st.one_of(st.none(), texts), max_size=8))
def test_arrow_column_check_never_misses_a_cell_that_needs_cleaning(cells: list[str | None]) -> None:
    import pyarrow as pa

    from riskgrade.normalise import arrow_needs_cleaning

    needs = any(c is not None and clean(c) != (c or None) for c in cells)
    if needs:
        arr = pa.array(cells, pa.string())
        assert arrow_needs_cleaning(arr)
        assert arrow_needs_cleaning(arr.dictionary_encode())  # as a dictionary-encoded Parquet column is read
        assert arrow_needs_cleaning(pa.array(cells, pa.large_string()))
        padded = pa.array(["x"] + cells + ["y"], pa.string())  # a slice: offsets into a longer buffer
        assert arrow_needs_cleaning(padded.slice(1, len(cells)))
    assert not arrow_needs_cleaning(pa.array(["9137ABC", "", None, "济南市历下区", "a b"], pa.string()))
    assert arrow_needs_cleaning(pa.array(["ok", "（有限）"], pa.string()))
    assert arrow_needs_cleaning(pa.chunked_array([["ok"], [" x"]], pa.string()))


@given(st.binary(max_size=40) | texts.map(lambda s: s.encode("utf-8")), st.lists(st.integers(0, 40), max_size=4))
@example(b"\xed\xa0\x80", [1]).via("surrogate")
@example(b"\xc0\x80", []).via("overlong")
@example(b"\xf4\x90\x80\x80", [2]).via("beyond U+10FFFF")
@example("中文".encode("utf-8"), [1, 4]).via("split characters")
@example(b"\xe4\xb8", []).via("truncated at the end")
@settings(deadline=None)
def test_chunked_utf8_check_equals_strict_decoding(data: bytes, cuts: list[int]) -> None:
    from riskgrade.ingest.readers import _complete_utf8, _valid_utf8

    try:
        data.decode("utf-8")
        want = True
    except UnicodeDecodeError:
        want = False
    tail, ok = b"", True
    bounds = sorted({min(c, len(data)) for c in cuts} | {len(data)})
    start = 0
    for end in bounds:
        buf = tail + data[start:end]
        start = end
        cut = _complete_utf8(buf)
        if not _valid_utf8(memoryview(buf)[:cut]):
            ok = False
            break
        tail = buf[cut:]
    assert (ok and not tail) == want
