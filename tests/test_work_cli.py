"""The command line takes alert steps under the console's rules (issue 19): `riskgrade alerts assign|handle|close|
approve|return` act as a registry user, assignees are users or units checked as the console checks them, notes
are required where the console requires them, a close that needs a sign-off waits for a reviewer (not its
handler), a refusal writes nothing and exits non-zero, and every step is in the alert log and the audit chain
(via cli)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from riskgrade.warehouse import Warehouse

from .conftest import run_cli
from .test_warning import alerts, delivered, of, u  # noqa: F401  (delivered: the crafted, warned home)

PASSWORD = "cli-steps-passw0rd"


def _users(home: Path) -> None:
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.users import add_user, update_user

    f = open_registry(home)
    add_user(f, "officer", PASSWORD, "credit_officer", "370102", "历下区信用监管员")
    add_user(f, "li", PASSWORD, "inspector", "370102", "李执法")
    add_user(f, "reviewer", PASSWORD, "credit_officer", "37", "省局复核员")
    add_user(f, "insp2", PASSWORD, "inspector", "370102", "王执法")
    add_user(f, "analyst", PASSWORD, "analyst", "370102", "分析员")
    add_user(f, "elsewhere", PASSWORD, "credit_officer", "370105", "市中区信用监管员")
    add_user(f, "gone", PASSWORD, "credit_officer", "370102", "已停用")
    update_user(f, "gone", disabled=True)


@pytest.fixture
def cli_home(delivered: Path, tmp_path: Path) -> Path:  # noqa: F811
    h = tmp_path / "home"
    shutil.copytree(delivered, h)
    _users(h)
    return h


def _msg(p) -> str:
    return " ".join(p.stderr.split())


def _state(home: Path, aid: str) -> tuple:
    with Warehouse(home) as wh:
        return wh.con.execute("SELECT status, assignee, disposition FROM alerts WHERE alert_id = ?",
                              [aid]).fetchall()[0]


def _log(home: Path, aid: str) -> list[tuple[str, str, dict]]:
    with Warehouse(home) as wh:
        rows = wh.con.execute("SELECT username, action, detail FROM alert_log WHERE alert_id = ? ORDER BY seq",
                              [aid]).fetchall()
    return [(a, b, json.loads(c)) for a, b, c in rows]


def _audit(home: Path, aid: str) -> list[tuple[str, str, dict]]:
    from sqlalchemy import select

    from riskgrade.registry.db import open_registry
    from riskgrade.registry.models import AuditEntry

    with open_registry(home)() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.target == aid).order_by(AuditEntry.id)).scalars().all()
    return [(e.username, e.action, json.loads(e.detail)) for e in rows]


def _step(home: Path, *args: str, check: bool = True):
    return run_cli("alerts", *args, home=home, check=check)


def test_refusals_write_nothing_and_exit_non_zero(cli_home: Path) -> None:
    home = cli_home
    aid = of(alerts(home), "new_tax_abnormal", u("tax"))[0]["alert_id"]
    before = _log(home, aid)
    refusals = [
        (("--to", "县局信用监管股", "--user", "officer"), "不能是自由文本"),            # free text
        (("--to", "user:nobody", "--user", "officer"), "没有用户 nobody"),              # an unknown user
        (("--to", "nobody", "--user", "officer"), "不能是自由文本"),                    # a bare unknown name
        (("--to", "379999", "--user", "officer"), "未知的行政区划代码 379999"),          # an unknown unit
        (("--to", "370102:no_such_dept", "--user", "officer"), "no_such_dept"),        # a department not routed
        (("--to", "370105", "--user", "officer"), "不在您的辖区内"),                    # another county's unit
        (("--to", "user:analyst", "--user", "officer"), "不能处置预警"),                # a role that cannot handle
        (("--to", "user:gone", "--user", "officer"), "已停用"),                         # a disabled user
        (("--to", "user:li", "--user", "ghost"), "no user 'ghost' in the registry"),   # the actor is no user
        (("--to", "user:li", "--user", "gone"), "disabled"),
        (("--to", "user:li", "--user", "analyst"), "may not do this (alerts.write)"),
        (("--to", "user:li", "--user", "elsewhere"), "in your region"),                # not visible there
    ]
    for args, why in refusals:
        p = _step(home, "assign", aid, *args, check=False)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert why in _msg(p), (args, _msg(p))
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr   # the contract's one-line error
    p = _step(home, "close", aid, "--user", "officer", "--note", "已经办结", check=False)
    assert p.returncode == 1 and "is open" in _msg(p) and "next: `riskgrade alerts assign`" in _msg(p)
    assert _state(home, aid)[:2] == ("open", None)
    assert _log(home, aid) == before and _audit(home, aid) == []
    # a unique prefix names the alert; a bare user name and a bare region code are read as user and unit
    _step(home, "assign", aid[:10], "--to", "li", "--user", "officer")
    assert _state(home, aid)[:2] == ("assigned", "user:li")
    _step(home, "assign", aid, "--to", "370102", "--user", "officer", "--note", "改派县局")
    assert _state(home, aid)[:2] == ("assigned", "unit:370102")


def test_notes_and_a_close_without_sign_off(cli_home: Path) -> None:
    home = cli_home
    from riskgrade.warning.worklimits import load

    a = of(alerts(home), "new_tax_abnormal", u("tax"))[0]
    assert not load(home).needs_review(a["rule"], a["severity"])
    aid = a["alert_id"]
    _step(home, "assign", aid, "--to", "user:li", "--user", "officer")
    for note in ("", "好"):  # a disposition note of at least note_min_length (4) characters
        p = _step(home, "handle", aid, "--action", "约谈", "--note", note, "--user", "li", check=False)
        assert p.returncode == 1 and "请填写处置说明，至少 4 个字" in _msg(p), _msg(p)
    p = _step(home, "handle", aid, "--action", "罚款", "--note", "约谈法定代表人", "--user", "li", check=False)
    assert p.returncode == 1 and "提醒" in _msg(p)
    assert _state(home, aid)[0] == "assigned"
    _step(home, "handle", aid, "--action", "约谈", "--note", "约谈法定代表人", "--user", "li")
    p = _step(home, "close", aid, "--user", "li", check=False)
    assert p.returncode == 1 and "a note of at least 4 characters" in _msg(p)
    p = _step(home, "close", aid, "--user", "li", "--note", "已补报纳税申报")
    assert _state(home, aid) == ("closed", "user:li", "interview") and "closed (已办结)" in _msg(p)
    log = _log(home, aid)
    assert [(x[0], x[1]) for x in log] == [("riskgrade-warn", "raise"), ("officer", "assign"), ("li", "handle"),
                                            ("li", "close")]
    assert log[3][2]["to"] == "closed" and "review_required" not in log[3][2]
    audit = _audit(home, aid)
    assert [(x[0], x[1]) for x in audit] == [("officer", "alert_assign"), ("li", "alert_handle"), ("li", "alert_close")]
    assert all(x[2]["via"] == "cli" for x in audit)
    assert [x[2]["log_seq"] for x in audit] == [s for s in _log_seqs(home, aid)[1:]]
    assert "intact" in run_cli("alerts", "verify-log", home=home).stdout


def _log_seqs(home: Path, aid: str) -> list[int]:
    with Warehouse(home) as wh:
        return [s for (s,) in wh.con.execute("SELECT seq FROM alert_log WHERE alert_id = ? ORDER BY seq",
                                             [aid]).fetchall()]


def test_a_close_that_needs_a_sign_off_waits_for_another_reviewer(cli_home: Path) -> None:
    home = cli_home
    from riskgrade.warning.worklimits import load

    a = of(alerts(home), "new_serious_dishonest", u("dis"))[0]
    assert load(home).needs_review(a["rule"], a["severity"])     # the shipped worklimits.yaml asks for it
    aid = a["alert_id"]
    _step(home, "assign", aid, "--to", "user:officer", "--user", "officer")
    _step(home, "handle", aid, "--action", "检查", "--note", "现场检查已列入计划", "--user", "officer")
    p = _step(home, "close", aid, "--user", "officer", "--note", "检查完毕已整改")
    assert _state(home, aid)[0] == "review"
    assert "review (待复核)" in _msg(p) and f"riskgrade alerts approve {aid}" in _msg(p)
    # the handler cannot sign it off, nor can a role that does not review; a return needs a note
    p = _step(home, "approve", aid, "--user", "officer", check=False)
    assert p.returncode == 1 and "handled it and cannot review it" in _msg(p)
    p = _step(home, "approve", aid, "--user", "insp2", check=False)
    assert p.returncode == 1 and "may not review" in _msg(p)
    p = _step(home, "return", aid, "--user", "reviewer", check=False)
    assert p.returncode == 1 and "请填写处置说明" in _msg(p)
    p = _step(home, "handle", aid, "--action", "检查", "--note", "补充检查记录", "--user", "officer", check=False)
    assert p.returncode == 1 and "is review" in _msg(p) and "next: `riskgrade alerts approve`" in _msg(p)
    assert _state(home, aid)[0] == "review"
    # returned: handled again and closed again, then signed off by the reviewer
    _step(home, "return", aid, "--user", "reviewer", "--note", "请补充整改照片")
    assert _state(home, aid)[0] == "handled"
    _step(home, "handle", aid, "--action", "检查", "--note", "已补充整改照片", "--user", "officer")
    _step(home, "close", aid, "--user", "officer", "--note", "整改到位申请办结")
    assert _state(home, aid)[0] == "review"
    p = _step(home, "approve", aid, "--user", "reviewer", "--note", "同意办结")
    assert _state(home, aid)[0] == "closed" and "closed (已办结)" in _msg(p)
    p = _step(home, "approve", aid, "--user", "reviewer", check=False)
    assert p.returncode == 1 and "a closed alert cannot change" in _msg(p)
    log = _log(home, aid)
    assert [(x[0], x[1]) for x in log][1:] == [
        ("officer", "assign"), ("officer", "handle"), ("officer", "close"), ("reviewer", "return"),
        ("officer", "handle"), ("officer", "close"), ("reviewer", "approve")]
    assert log[3][2]["to"] == "review" and log[3][2]["review_required"] is True
    assert log[4][2]["note"] == "请补充整改照片" and log[-1][2] == {"from": "review", "to": "closed", "note": "同意办结"}
    audit = _audit(home, aid)
    assert [x[1] for x in audit] == ["alert_assign", "alert_handle", "alert_close", "alert_return", "alert_handle",
                                     "alert_close", "alert_approve"]
    assert audit[-1][0] == "reviewer" and all(x[2]["via"] == "cli" for x in audit)
    shown = run_cli("alerts", "show", aid, home=home).stdout
    assert "status: closed" in shown and "reviewer approve" in shown


def test_help_names_the_review_steps(cli_home: Path) -> None:
    home = cli_home
    p = run_cli("alerts", "--help", home=home, env={"COLUMNS": "120"})
    assert "approve" in p.stdout and "return" in p.stdout
    p = run_cli("alerts", "assign", "--help", home=home, env={"COLUMNS": "120"})
    assert "unit:REGION" in " ".join(p.stdout.split())


def _targets(home: Path) -> list[tuple]:
    with Warehouse(home) as wh:
        if not wh.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'task_targets'"
                              ).fetchone()[0]:
            return []
        return wh.con.execute("SELECT task_id, uscc, alert_id FROM task_targets ORDER BY uscc").fetchall()


def test_target_acts_as_a_registry_user_within_its_region(cli_home: Path) -> None:
    """`alerts target` (定向抽查) takes the console's rules: a registry user whose role may target, the alert and
    the task within the user's region; refusals write nothing; the step is logged and audited (via cli)."""
    home = cli_home
    run_cli("task", "create", "--name", "历下区预警定向抽查", "--region", "370102", home=home)
    run_cli("task", "create", "--name", "市中区定向抽查", "--region", "370105", home=home)
    aid = of(alerts(home), "new_serious_dishonest", u("dis"))[0]["alert_id"]
    before = _log(home, aid)
    for args, why in [
        (("--task", "1", "--user", "ghost"), "no user 'ghost' in the registry"),
        (("--task", "1", "--user", "li"), "may not do this (alerts.target)"),      # an inspector cannot target
        (("--task", "1", "--user", "elsewhere"), "in your region"),               # the alert is not in 370105
        (("--task", "2", "--user", "officer"), "not within yours"),               # another county's task
        (("--task", "9", "--user", "officer"), "no inspection task 9"),
    ]:
        p = _step(home, "target", "--alert", aid, *args, check=False)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert why in _msg(p), (args, _msg(p))
    assert _targets(home) == [] and _log(home, aid) == before and _audit(home, aid) == []
    p = _step(home, "target", "--alert", aid[:10], "--task", "1", "--user", "officer", "--reason", "严重失信，定向检查")
    assert "task 1: 1 entities of alert" in _msg(p)
    assert _targets(home) == [(1, u("dis"), aid)]
    who, action, detail = _log(home, aid)[-1]
    assert (who, action, detail["task"], detail["entities"], detail["reason"]) == ("officer", "target", 1, 1,
                                                                                  "严重失信，定向检查")
    [(who, action, detail)] = _audit(home, aid)
    assert (who, action, detail["via"], detail["rule"]) == ("officer", "alert_target", "cli", "new_serious_dishonest")
