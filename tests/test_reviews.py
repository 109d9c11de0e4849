"""The registry's grade reviews (migration 0007) on SQLite and PostgreSQL: one pending review per entity, a
decision taken once (compare-and-set), and what a publication carries."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request, tmp_path):
    from riskgrade.registry.db import open_registry

    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    f = open_registry(tmp_path, url)
    yield f
    f.kw["bind"].dispose()


def test_review_store_pending_once_decided_once_and_carried(factory) -> None:
    from riskgrade.registry import reviews

    kw = dict(uscc="91370102MA3C000001", region_code="370102", snapshot_id=2, as_of=dt.date(2026, 9, 30),
              from_grade="C", to_grade="B", reason="信用修复", proposed_by="officer_county")
    r = reviews.add(factory, **kw)
    assert r is not None and r.state == "pending"
    assert reviews.add(factory, **{**kw, "to_grade": "A"}) is None  # one pending review per entity
    assert reviews.counts(factory, "37") == {"pending": 1, "approved": 0, "rejected": 0}
    done = reviews.decide(factory, r.id, "approved", "admin", "同意")
    assert (done.state, done.decided_by, done.note) == ("approved", "admin", "同意")
    assert reviews.decide(factory, r.id, "rejected", "admin2", "") is None  # decided already
    with factory() as s:
        assert reviews.carried(s, dt.date(2026, 9, 30))[kw["uscc"]].id == r.id
        assert reviews.carried(s, dt.date(2026, 10, 31))[kw["uscc"]].id == r.id  # later months too
        assert reviews.carried(s, dt.date(2026, 8, 31)) == {}  # never an earlier month
    total, rows = reviews.listed(factory, "3701", "approved")
    assert total == 1 and rows[0].uscc == kw["uscc"]
    assert reviews.listed(factory, "3702")[0] == 0  # another city sees none


def test_seal_covers_the_review_id() -> None:
    from riskgrade.registry.publish import seal

    row = {"uscc": "91370102MA3C000001", "score": 420.0, "grade": "B", "grade_rule": "review", "reasons": "",
           "labels": "", "region_code": "370102", "score_base": 300.0, "reason_points": "[]", "facts": "{}"}
    key, day = b"k" * 32, dt.date(2026, 9, 30)
    assert seal(key, day, {**row, "review_id": 7}) != seal(key, day, {**row, "review_id": 8})
    assert seal(key, day, {**row, "review_id": None}) == seal(key, day, row)  # rows without a review: unchanged
