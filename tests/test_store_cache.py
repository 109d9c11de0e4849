"""The alert list and an alert's page read a per-process copy of the alert tables (service/store_cache.py, issue 19
item 9): every read equals the same read of the warehouse, for every kind of viewer and filter; the copy is made
once per store state and again after a write; a plan page's results are read once per store state."""

from __future__ import annotations

from .test_console import _login, app, published  # noqa: F401  (module fixtures shared with the console tests)


def _viewers(published: dict):
    from riskgrade.warning import queries as q

    return [q.ALL, q.Viewer("officer", "credit_officer", "37"), q.Viewer("c", "credit_officer", published["county"]),
            q.Viewer("o", "credit_officer", published["other"]), q.Viewer("n", "credit_officer", "3799"),
            q.Viewer("d", "domain_officer", "37", published["department"], None)]


def test_the_copy_answers_as_the_warehouse(published: dict) -> None:
    from riskgrade.service import alerts as alert_service
    from riskgrade.service import store_cache
    from riskgrade.warehouse import Warehouse
    from riskgrade.warning import queries as q

    with Warehouse(published["home"]) as wh:
        mem = store_cache.copy_of(wh.con)
        copy = store_cache.Copy(mem.cursor(), store_cache.schema_of(mem))
        raised = sorted(r[0] for r in wh.con.execute("SELECT DISTINCT raised_on FROM alerts").fetchall())
        member = wh.con.execute("SELECT uscc FROM alert_members LIMIT 1").fetchall()[0][0]
        ids = [r[0] for r in wh.con.execute("SELECT alert_id FROM alerts ORDER BY alert_id").fetchall()]
        rule = wh.con.execute("SELECT rule FROM alerts LIMIT 1").fetchall()[0][0]
        filters = [q.Filters(), q.Filters(status="open"), q.Filters(status="muted"), q.Filters(severity="high"),
                   q.Filters(status="open", severity="medium"), q.Filters(region=published["county"]),
                   q.Filters(rule=rule), q.Filters(unit="局"), q.Filters(uscc=member),
                   q.Filters(raised_from=raised[len(raised) // 2]), q.Filters(raised_to=raised[0])]
        for v0 in _viewers(published):
            v = alert_service.viewer_of(type("U", (), {"username": v0.username, "role": v0.role,
                                                       "region_prefix": v0.region_prefix,
                                                       "department": v0.department})(), published["home"]) \
                if v0.by_department else v0
            for f in filters:
                for page in (1, 2, 40):
                    got, want = q.list_alerts(copy, v, f, page, 7), q.list_alerts(wh.con, v, f, page, 7)
                    assert got == want, (v, f, page)
            assert q.rules_seen(copy, v) == q.rules_seen(wh.con, v)
            shown = 0
            for i in ids:
                a, b = q.visible_alert(copy, v, i), q.visible_alert(wh.con, v, i)
                assert a == b, (v, i)
                if a is not None:
                    shown += 1
                    assert (q.alert_detail(copy, v, a, lambda x, u: q.evidence_rows(wh.con, x, u))
                            == q.alert_detail(wh.con, v, b)), (v, i)
            assert shown == len(q.list_alerts(wh.con, v, q.Filters(), 1, 10**6).items) + \
                len(q.list_alerts(wh.con, v, q.Filters(status="muted"), 1, 10**6).items)
        mem.close()


def test_copied_once_per_store_state(published: dict, monkeypatch) -> None:
    """Two reads of an unchanged store share one copy; a write (a step) makes the next read copy again, and
    the list then shows the step."""
    from riskgrade.service import alerts as alert_service
    from riskgrade.service import store_cache
    from riskgrade.warehouse import Warehouse

    home = published["home"]
    store_cache.clear()
    made = []
    real = store_cache.copy_of
    monkeypatch.setattr(store_cache, "copy_of", lambda con: made.append(1) or real(con))
    opened = lambda: alert_service.store(home)  # noqa: E731
    with store_cache.reading(home, opened) as c:
        first = c.execute("SELECT alert_id, status FROM alerts WHERE status = 'open' ORDER BY 1 LIMIT 1").fetchall()[0]
    with store_cache.reading(home, opened) as c:
        assert c.execute("SELECT count(*) FROM alerts").fetchall()[0][0] > 0
    assert len(made) == 1
    with Warehouse(home, write=True) as wh:
        wh.con.execute("UPDATE alerts SET status = 'assigned' WHERE alert_id = ?", [first[0]])
    with store_cache.reading(home, opened) as c:
        assert c.execute("SELECT status FROM alerts WHERE alert_id = ?", [first[0]]).fetchall()[0][0] == "assigned"
    assert len(made) == 2
    with Warehouse(home, write=True) as wh:
        wh.con.execute("UPDATE alerts SET status = 'open' WHERE alert_id = ?", [first[0]])


def test_the_console_list_follows_a_step(app, published: dict) -> None:
    """The console's list, read from the copy, shows an alert's new status right after a step on its page."""
    import re

    from .test_console import _alerts_in, _csrf

    home, county = published["home"], published["county"]
    aid = _alerts_in(home, county, "a.status = 'open' AND a.unit_kind = 'county'")[0]
    c = _login(app, "officer_county")
    count = lambda html: int(re.search(r"共 ([\d,]+) 条预警", html).group(1).replace(",", ""))  # noqa: E731
    n_open = count(c.get("/alerts", params={"status": "open"}).text)
    n_assigned = count(c.get("/alerts", params={"status": "assigned"}).text)
    token = _csrf(c.get(f"/alerts/{aid}").text)
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": county, "note": "请核查"})
    assert r.status_code == 303, r.text[-500:]
    assert count(c.get("/alerts", params={"status": "open"}).text) == n_open - 1
    assert count(c.get("/alerts", params={"status": "assigned"}).text) == n_assigned + 1
    assert 'id="alert-status">已分办<' in c.get(f"/alerts/{aid}").text


def test_the_plan_page_reads_its_results_once_per_store_state(app, published: dict, monkeypatch) -> None:
    """The plan page's results and 监管效能 are read from the warehouse once per store state (and page), again
    after a write; a busy store's answer is not kept."""
    from riskgrade.service import results, store_cache
    from riskgrade.warehouse import Warehouse

    store_cache.clear()
    calls = []
    real = results.plan_results
    monkeypatch.setattr(results, "plan_results", lambda *a, **k: calls.append(1) or real(*a, **k))
    c = _login(app, "officer")
    for _ in range(3):
        assert c.get("/plans/1").status_code == 200
    assert len(calls) == 1
    assert c.get("/plans/1", params={"page": 2}).status_code == 200 and len(calls) == 2  # another page: its own
    with Warehouse(published["home"], write=True) as wh:
        wh.con.execute("CREATE TABLE IF NOT EXISTS touched AS SELECT 1 AS x")
    assert c.get("/plans/1").status_code == 200 and len(calls) == 3
    monkeypatch.setattr(results, "plan_results", lambda *a, **k: calls.append(1) or (None, None))  # busy
    with Warehouse(published["home"], write=True) as wh:
        wh.con.execute("DROP TABLE touched")
    for _ in range(2):
        assert c.get("/plans/1").status_code == 200
    assert len(calls) == 5
