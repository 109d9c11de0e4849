"""Monthly summaries (issue 19 item 9): written with every publication, equal to aggregating the grades on the fly
(on the published console province and on generated registries), read by the dashboard and the statistics, and
written once for a registry published before they existed."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_

from .test_console import _login, app, published  # noqa: F401  (module fixtures shared with the console tests)

PREFIXES = ("", "37", "3701", "370102")


def _state(published: dict):
    from riskgrade.service.state import open_state

    return open_state(published["home"])


def _equal_to_live(st, ids: list[int], prefixes) -> None:
    """Every summary read equals the on-the-fly query, in every region given (and in the counties present)."""
    from riskgrade.registry import queries
    from riskgrade.service import summaries
    from riskgrade.web.names import section_of

    f = st.factory
    for p in prefixes:
        live = {(sid, g): (n, m) for sid, g, n, m in queries.grade_counts(f, ids, p)}
        got = {(sid, g): (n, m) for sid, g, n, m in summaries.grade_counts(st, ids, p)}
        assert set(got) == set(live), p
        for k, (n, m) in live.items():
            assert got[k][0] == n and got[k][1] == pytest.approx(m, rel=1e-9), (p, k)
        for sid in ids:
            lg, lr = queries.grade_distribution(f, sid, p)
            sg, sr = summaries.distribution(st, sid, p)
            assert [(g, n) for g, n, _ in sg] == [(g, n) for g, n, _ in lg] and sr == lr, (p, sid)
            for w in (2, 4, 6):
                live_cells = queries.area_cells(f, sid, p, w)
                assert sorted(summaries.area_cells(st, sid, p, w), key=str) == sorted(live_cells, key=str), (p, sid, w)
                by_section: dict = {}
                for a, d, g, n in live_cells:
                    k = (a, section_of(d), g)
                    by_section[k] = by_section.get(k, 0) + n
                assert {(a, sc, g): n for a, sc, g, n in summaries.area_sections(st, sid, p, w)} == by_section
        for a, b in zip(ids, ids[1:]):
            assert summaries.migration(st, a, b, p) == queries.migration(f, a, b, p), (p, a, b)


def test_summaries_equal_the_live_aggregation_on_the_published_province(published: dict) -> None:
    from riskgrade.registry import queries

    st = _state(published)
    months = queries.months(st.factory)
    ids = [i for _, i in months]
    assert len(ids) == 2
    counties = sorted({r for r in queries.entity_regions(st.factory, "")})
    _equal_to_live(st, ids, (*PREFIXES, published["county"], published["county"][:4], counties[-1], "99"))
    # the breakdowns by section, entity type and label add up to the grades of the month
    from sqlalchemy import func, select

    from riskgrade.registry.models import Grade
    from riskgrade.service import summaries

    with st.factory() as s:
        labels = {}
        for lab_str, g in s.execute(select(Grade.labels, Grade.grade).where(Grade.snapshot_id == ids[-1])).all():
            for lab in {x for x in (lab_str or "").split(";") if x}:
                labels[(lab, g)] = labels.get((lab, g), 0) + 1
        types = dict(((t, g), int(n)) for t, g, n in s.execute(
            select(Grade.entity_type, Grade.grade, func.count()).where(Grade.snapshot_id == ids[-1])
            .group_by(Grade.entity_type, Grade.grade)).all())
    assert {(k, g): n for k, g, n, _ in summaries.breakdown(st, ids[-1], "", "label")} == labels and labels
    assert {(k, g): n for k, g, n, _ in summaries.breakdown(st, ids[-1], "", "type")} == types
    sections = summaries.breakdown(st, ids[-1], "", "section")
    assert sum(n for *_, n, _ in sections) == sum(types.values()) and len({k for k, *_ in sections}) > 3


def test_publish_writes_the_summaries_in_its_transaction(published: dict) -> None:
    """Each published snapshot has its summaries (counted in its manifest); the month-over-month moves name the
    snapshot they compare with."""
    from sqlalchemy import func, select

    from riskgrade.registry import queries
    from riskgrade.registry.models import Snapshot, Summary

    st = _state(published)
    ids = [i for _, i in queries.months(st.factory)]
    with st.factory() as s:
        for sid in ids:
            n = s.execute(select(func.count()).select_from(Summary).where(Summary.snapshot_id == sid)).scalar()
            assert n > 100 and s.get(Snapshot, sid).manifest["summaries"] == n
        bases = set(s.execute(select(Summary.base_snapshot_id).where(Summary.kind == "move")).scalars())
        assert bases == {ids[0]}


def test_dashboard_and_statistics_read_the_summaries(app, published: dict, monkeypatch) -> None:  # noqa: F811
    """With every grade aggregation of the registry made to fail, the dashboard and the statistics still answer,
    with the figures of the grades."""
    from riskgrade.registry import queries

    c = _login(app, "officer")
    before = c.get("/").text
    token = c.post("/api/login", json={"username": "officer", "password": "Secret-2026x"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    api_before = c.get("/api/stats/grades", headers=auth).json()

    def boom(*a, **k):
        raise AssertionError("aggregated the grades on a request")

    for name in ("grade_counts", "grade_distribution", "area_cells", "migration"):
        monkeypatch.setattr(queries, name, boom)
    page = c.get("/")
    assert page.status_code == 200 and page.text == before
    total = sum(g["entities"] for g in api_before["grades"])
    assert re.search(f"{total:,}", page.text)
    assert c.get("/api/stats/grades", headers=auth).json() == api_before
    mig = c.get("/api/stats/migration", params={"from": "2026-08-31", "to": "2026-09-30"}, headers=auth)
    assert mig.status_code == 200 and sum(x["entities"] for x in mig.json()) > 0.8 * total


def test_a_registry_without_summaries_is_summarised_once(published: dict, caplog) -> None:
    """An older registry (no summary rows): the first read writes them, says so, and the figures are the same."""
    from sqlalchemy import delete, func, select

    from riskgrade.registry import queries
    from riskgrade.registry.models import Summary
    from riskgrade.service import summaries

    st = _state(published)
    ids = [i for _, i in queries.months(st.factory)]
    with st.factory() as s:
        before = s.execute(select(Summary.snapshot_id, Summary.kind, Summary.region_code, Summary.key, Summary.grade,
                                  Summary.entities).order_by(Summary.snapshot_id, Summary.kind, Summary.region_code,
                                                             Summary.key, Summary.grade)).all()
    with st.factory() as s, s.begin():
        s.execute(delete(Summary))
    with caplog.at_level(logging.WARNING):
        summaries.grade_counts(st, ids, "37")
    assert "had no monthly summaries" in caplog.text
    with st.factory() as s:
        after = s.execute(select(Summary.snapshot_id, Summary.kind, Summary.region_code, Summary.key, Summary.grade,
                                 Summary.entities).order_by(Summary.snapshot_id, Summary.kind, Summary.region_code,
                                                            Summary.key, Summary.grade)).all()
        assert after == before
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        summaries.grade_counts(st, ids, "37")
    assert "had no monthly summaries" not in caplog.text
    with st.factory() as s:
        assert s.execute(select(func.count()).select_from(Summary)).scalar() == len(before)


# --------------------------------------------------------------------------- generated registries
COUNTIES = ("370102", "370103", "370202", "371002")
grade_row = st_.tuples(st_.integers(0, 40), st_.sampled_from(COUNTIES), st_.sampled_from(("A", "B", "C", "D", "E")),
                       st_.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2)),
                       st_.one_of(st_.none(), st_.sampled_from(("C1311", "F5211", "I6510", "0101", "X"))),
                       st_.sampled_from(("enterprise", "individual")),
                       st_.one_of(st_.none(), st_.sampled_from(("", "a", "a;b", "b;c;a"))))


@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory):
    from riskgrade.registry.db import open_registry

    home = tmp_path_factory.mktemp("gen")
    return home, open_registry(home)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(months=st_.lists(st_.lists(grade_row, max_size=30), min_size=1, max_size=3))
def test_summaries_equal_the_live_aggregation_on_generated_registries(empty_registry, months) -> None:
    from sqlalchemy import delete

    from riskgrade.registry import summaries as writer
    from riskgrade.registry.models import Grade, Snapshot, Summary
    from riskgrade.service.state import AppState

    home, factory = empty_registry
    with factory() as s, s.begin():
        for t in (Summary, Grade, Snapshot):
            s.execute(delete(t))
        for i, rows in enumerate(months, start=1):
            s.add(Snapshot(id=i, as_of=dt.date(2026, i, 28), published_at=dt.datetime(2026, 12, 1), published_by="t",
                           source_snapshot_id=i, model="expert", model_version="", catalog_version="1",
                           grade_mode="4", entities=len(rows), content_hash="", manifest={}))
            s.flush()
            seen = set()
            for n, county, g, score, ind, etype, labels in rows:
                if n in seen:
                    continue
                seen.add(n)
                s.add(Grade(snapshot_id=i, uscc=f"91370000{n:010d}", region_code=county, industry_code=ind,
                            entity_type=etype, score=score, grade=g, labels=labels, seal=""))
            s.flush()
            writer.write(s, i)
    st = AppState(home, factory, b"")
    _equal_to_live(st, list(range(1, len(months) + 1)), ("", "37", "3701", "370102", "3710", "44"))
