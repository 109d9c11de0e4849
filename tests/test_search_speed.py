"""The search at province scale (issue 19 item 9): a capped count of the matches ("more than 10,000") and the
sorts by grade and score read through the indexes of migration 0011, equal to ordering every match, on SQLite
and PostgreSQL; the console's wording and pager for a capped count; the migration up and down on both."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from .test_console import _login, app, published  # noqa: F401  (module fixtures shared with the console tests)

GRADES = "ABCD"


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path):
    """A registry of 90 entities in two counties and one published month: 70 graded (scores with ties), 20
    without a grade; returns (factory, snapshot id, the rows as plain tuples)."""
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.models import Entity, Grade, Snapshot

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    factory = open_registry(tmp_path, url)
    rnd = random.Random(11)
    rows = []
    with factory() as s, s.begin():
        s.add(Snapshot(id=1, as_of=dt.date(2026, 9, 30), published_at=dt.datetime(2026, 10, 1), published_by="t",
                       source_snapshot_id=1, model="expert", model_version="v", catalog_version="c",
                       grade_mode="four", entities=70, content_hash="", manifest={}))
        s.flush()
        for i in range(90):
            uscc = f"91370{i % 7}{i:012d}"
            region = "370102" if i % 3 else "370105"
            industry = None if i % 11 == 0 else f"{rnd.randint(10, 99)}{rnd.randint(10, 99)}"
            s.add(Entity(uscc=uscc, name=f"企业{i:03d}{'科技' if i % 4 == 0 else ''}", entity_type="enterprise",
                         region_code=region, industry_code=industry, industry_section=None, status="active"))
            grade = score = None
            if i < 70:
                score = float(rnd.choice((120, 250.5, 250.5, 400, 612.25, 900)))
                grade = GRADES[min(int(score // 250), 3)]
                s.add(Grade(snapshot_id=1, uscc=uscc, region_code=region, industry_code=industry,
                            entity_type="enterprise", score=score, grade=grade, seal="x",
                            labels="online" if i % 5 == 0 else ""))
            rows.append((uscc, region, industry, grade, score, i % 4 == 0, i < 70 and i % 5 == 0))
    yield factory, 1, rows
    factory.kw["bind"].dispose()


def _expected(rows, sort: str, desc: bool, region: str = "", grade: str | None = None, q: bool = False,
              label: bool = False) -> list[str]:
    """The matches' USCCs in the order the search promises: by ``sort`` (then USCC, in the same direction),
    entities without a grade last in either direction."""
    keep = [r for r in rows if r[1].startswith(region) and (grade is None or r[3] == grade) and (not q or r[5])
            and (not label or r[6])]
    col = {"uscc": 0, "region": 1, "industry": 2, "grade": 3, "score": 4}[sort]
    present = sorted((r for r in keep if r[col] is not None), key=lambda r: (r[col], r[0]), reverse=desc)
    # the entities without a value last: without a grade by USCC; without an industry among the ties (its direction)
    missing = sorted((r[0] for r in keep if r[col] is None), reverse=desc and sort not in ("grade", "score"))
    return [r[0] for r in present] + missing


@pytest.mark.parametrize("sort", ["score", "grade", "uscc", "region", "industry"])
def test_sorted_pages_equal_ordering_every_match(registry, sort: str) -> None:
    """Every page of every sort (both directions, with and without filters), read through the indexes, is the
    slice of the whole ordered list: across the boundary between graded and ungraded entities too."""
    from riskgrade.registry.queries import search_entities

    factory, sid, rows = registry
    grade_of = {r[0]: r[3] for r in rows}
    for desc in (False, True):
        for filters in ({}, {"region": "370105"}, {"grade": "B"}, {"q": "科技"}, {"label": "online"}):
            want = _expected(rows, sort, desc, filters.get("region", ""), filters.get("grade"), "q" in filters,
                             "label" in filters)
            for size in (7, 20):
                got = []
                for page in range(len(want) // size + 2):  # one page past the end: empty
                    total, exact, found = search_entities(factory, "37", sid, offset=page * size, limit=size,
                                                          sort=sort, descending=desc, **filters)
                    assert exact and total == len(want), (sort, desc, filters)
                    got += [e.uscc for e, _ in found]
                    assert all((g.grade if g else None) == grade_of[e.uscc] for e, g in found)  # its own grade
                assert got == want, (sort, desc, filters, size)
    # a page that starts past every graded match reads the ungraded ones from the right place
    graded = sum(1 for r in rows if r[3])
    total, _, found = search_entities(factory, "37", sid, offset=graded + 3, limit=5, sort="score")
    assert [e.uscc for e, _ in found] == _expected(rows, "score", False)[graded + 3:graded + 8]
    assert all(g is None for _, g in found)


def test_capped_count(registry) -> None:
    """With ``count_limit`` the matches are counted up to max(limit, the page's end): exact below it, that bound
    and not exact above it; without it, always exact."""
    from riskgrade.registry.queries import search_entities

    factory, sid, rows = registry
    assert search_entities(factory, "37", sid, limit=10)[:2] == (90, True)
    assert search_entities(factory, "37", sid, limit=10, count_limit=90)[:2] == (90, True)  # exactly the bound
    assert search_entities(factory, "37", sid, limit=10, count_limit=89)[:2] == (89, False)
    assert search_entities(factory, "37", sid, limit=10, count_limit=25)[:2] == (25, False)
    # a page past the bound: counted to the page's end, so the pager knows there is more
    total, exact, found = search_entities(factory, "37", sid, offset=40, limit=10, count_limit=25)
    assert (total, exact, len(found)) == (50, False, 10)
    # the last page: counted to the end, exact
    total, exact, found = search_entities(factory, "37", sid, offset=80, limit=10, count_limit=25)
    assert (total, exact, len(found)) == (90, True, 10)
    # a filter the grades hold (an inner join) is counted the same way
    d = sum(1 for r in rows if r[3] == "B")
    assert search_entities(factory, "37", sid, grade="B", count_limit=5)[:2] == (20, False)  # the page's end
    assert search_entities(factory, "37", sid, grade="B", count_limit=100)[:2] == (d, True)
    # no snapshot: every entity matches, none has a grade
    total, exact, found = search_entities(factory, "37", None, sort="score", descending=True, limit=5)
    assert (total, exact) == (90, True) and [e.uscc for e, _ in found] == sorted(r[0] for r in rows)[:5]


def _meta(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'<p class="meta" role="status">(.*?)</p>', html, re.S).group(1))


def test_console_shows_a_capped_count_and_pages_past_it(app, published: dict, monkeypatch) -> None:
    """A search matching more than the console counts says "超过 N 户" / "more than N entities"; the pager
    says there are more pages than it knows, offers the next page on the last one it knows and a jump without
    a maximum; a narrower search shows its exact count; a jump past the end shows the last page."""
    from riskgrade.service import entities

    monkeypatch.setattr(entities, "COUNT_LIMIT", 100)
    c = _login(app, "officer")
    page = c.get("/entities").text
    assert _meta(page).startswith("超过 100 户") and "共 5 页以上" in page
    assert 'id="jump-page" name="page" type="number" min="1" value' in page  # no max
    last_known = c.get("/entities", params={"page": 5}).text
    assert 'rel="next"' in last_known and "第 5 页，共 5 页以上" in last_known
    beyond = c.get("/entities", params={"page": 9}).text  # counted to that page's end: still more
    assert _meta(beyond).startswith("超过 180 户") and "第 9 页，共 9 页以上" in beyond
    assert len(re.findall(r'href="/entities/[0-9A-Z]{18}"', beyond)) == 40  # a full page (a link per uscc and name)
    en = c.get("/entities", params={"lang": "en"}).text
    assert _meta(en).startswith("more than 100 entities") and "Page 1 of more than 5" in en
    c.get("/entities", params={"lang": "zh"})  # back to Chinese (the choice is kept)
    # the whole province: counted to the end when the jump passes it, the last page shown
    monkeypatch.setattr(entities, "COUNT_LIMIT", 10**7)
    everything = int(re.search(r"共 ([\d,]+) 户", _meta(c.get("/entities").text)).group(1).replace(",", ""))
    monkeypatch.setattr(entities, "COUNT_LIMIT", 100)
    far = c.get("/entities", params={"page": 10**5 - 1}).text
    last = -(-everything // 20)
    assert f"共 {everything:,} 户" in _meta(far) and f"第 {last} / {last} 页" in far and 'rel="next"' not in far
    assert 'max="%d"' % last in far
    # a county's D grades: fewer than the bound, counted exactly
    county = c.get("/entities", params={"region": published["county"], "grade": "D"}).text
    n = len(set(re.findall(r'href="/entities/([0-9A-Z]{18})"', county)))
    assert _meta(county).startswith(f"共 {n} 户") and "以上" not in county


def test_console_sorted_by_score_desc_is_ordered(app, published: dict) -> None:
    """The console's search sorted by score, highest first: the scores shown descend, entities without a grade last."""
    c = _login(app, "officer")
    page = c.get("/entities", params={"sort": "score", "desc": "1"}).text
    scores = [float(x.replace(",", "")) for x in re.findall(r'<td class="n">([\d,.]+)</td>', page)]
    assert len(scores) == 20 and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0011_adds_and_removes_the_search_indexes(request, tmp_path, backend: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from riskgrade.registry.db import _alembic_config, database_url

    url = database_url(tmp_path, request.getfixturevalue("pg_url") if backend == "postgresql" else None)
    engine = create_engine(url)
    names = {"ix_grades_snapshot_score": ["snapshot_id", "score", "uscc"],
             "ix_grades_snapshot_grade": ["snapshot_id", "grade", "uscc"],
             "ix_entities_industry": ["industry_code", "uscc"]}

    def indexes() -> dict:
        i = inspect(engine)
        return {x["name"]: x["column_names"] for t in ("grades", "entities") for x in i.get_indexes(t)
                if x["name"] in names}

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0010_monthly_summaries")
    assert indexes() == {}
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    assert indexes() == names
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0010_monthly_summaries")
    assert indexes() == {}
    engine.dispose()


def test_entity_regions_walk_the_index(registry) -> None:
    """The search's county filter: the distinct counties within a region, read one index step per county,
    equal to a DISTINCT over the entities."""
    from sqlalchemy import select

    from riskgrade.registry.models import Entity
    from riskgrade.registry.queries import entity_regions

    factory, _, _ = registry
    for prefix in ("", "3", "37", "3701", "370102", "370105", "370103", "3799", "99"):
        with factory() as s:
            want = list(s.execute(select(Entity.region_code).where(Entity.region_code.startswith(prefix))
                                  .distinct().order_by(Entity.region_code)).scalars())
        assert entity_regions(factory, prefix) == want, prefix
    assert entity_regions(factory, "37") == ["370102", "370105"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0012_orders_the_region_index_by_uscc(request, tmp_path, backend: str) -> None:
    """Migration 0012 puts ``entities (region_code, uscc)`` in place of the region index (and, on PostgreSQL, of
    the pattern index of 0010), and takes it back on downgrade."""
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from riskgrade.registry.db import _alembic_config, database_url

    url = database_url(tmp_path, request.getfixturevalue("pg_url") if backend == "postgresql" else None)
    engine = create_engine(url)

    def region_indexes() -> dict:
        return {x["name"]: x["column_names"] for x in inspect(engine).get_indexes("entities")
                if "region_code" in x["column_names"]}

    before = {"ix_entities_region_code": ["region_code"],
              **({"ix_entities_region_prefix": ["region_code"]} if backend == "postgresql" else {})}
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0011_search_indexes")
    assert region_indexes() == before
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    assert region_indexes() == {"ix_entities_region_uscc": ["region_code", "uscc"]}
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0011_search_indexes")
    assert region_indexes() == before
    engine.dispose()


def test_a_publish_leaves_the_tables_analysed_and_vacuumed(registry) -> None:
    """After a publish's bulk load the planner has statistics (both databases) and, on PostgreSQL, the tables
    read through index-only scans are vacuumed (their pages marked all-visible), whatever autovacuum does."""
    from sqlalchemy import text

    from riskgrade.registry.publish import _after_bulk_load

    factory, _, _ = registry
    said: list[str] = []
    _after_bulk_load(factory, said.append)
    with factory() as s:
        if factory.kw["bind"].dialect.name == "postgresql":
            done = dict(s.execute(text("SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
                                       "FROM pg_stat_user_tables")).all())
            assert all(done[t] for t in ("grades", "entities", "summaries", "plan_entities")), done
            assert said == ["vacuuming and analysing the published tables"]
        else:
            analysed = {t for (t,) in s.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).all()}
            assert {"grades", "entities"} <= analysed, analysed
            assert said == ["updating the database's statistics"]
