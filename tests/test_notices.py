"""Notices to businesses (双推送): open items, Chinese text without any grade, outbox, SMTP to a local server."""

from __future__ import annotations

import email
import socket
import socketserver
import threading
from email import policy
from pathlib import Path

import pytest

from riskgrade.ingest.pipeline import ingest
from riskgrade.warehouse import Warehouse
from riskgrade.warning.notices import due_years, make_items

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

U = make_usccs(12, start=500)
NAMES = ["over", "ab", "unr", "insp", "dis", "debt", "clean", "out", "closed"]
E = dict(zip(NAMES, U))
AS_OF = "2026-07-31"


def _delivery(d: Path) -> None:
    ents, ev = [], []
    for name, x in E.items():
        est = "2023-03-01" if name == "over" else "2022-01-01"
        ents.append([x, f"历下{name}商贸有限公司", "enterprise", "370102", "5211", est,
                     "deregistered" if name == "closed" else "active", f"某路{name}号"])
    n = [0]

    def add(x: str, et: str, d_: str, detail: str = "", amount: object = None, source: str = "济南市历下区市场监督管理局",
            end: str = "") -> None:
        n[0] += 1
        ev.append([f"R{n[0]}", x, et, d_, d_, source, detail, amount, end])

    for name, x in E.items():  # annual reports filed on time, except where a case needs them missing
        for y in (2022, 2023, 2024, 2025):
            if name in ("over", "ab", "closed") and y >= 2024:
                continue
            if name == "over" and y == 2022:
                continue
            add(x, "annual_report", f"{y + 1}-04-01", str(y), 100000)
    add(E["ab"], "abnormal_list_in", "2025-07-01", "no_annual_report")
    add(E["unr"], "abnormal_list_in", "2026-01-10", "unreachable_address")
    add(E["insp"], "inspection", "2025-05-01", "pass", source="general")
    add(E["insp"], "inspection", "2026-03-01", "unreachable", source="general")
    add(E["dis"], "serious_dishonest_in", "2026-03-20", source="济南市市场监督管理局", end="2029-03-20")
    add(E["debt"], "judgment_debtor_in", "2026-02-01", source="历下区人民法院")
    add(E["out"], "abnormal_list_in", "2025-07-01", "no_annual_report")
    add(E["out"], "abnormal_list_out", "2025-09-01", "no_annual_report")
    write_csv(d / "entities.csv", ENTITY_HEADER, ents)
    write_csv(d / "events.csv", EVENT_HEADER, ev)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notices")
    _delivery(root / "d")
    home = root / "home"
    ingest(home, root / "d")
    run_cli("classify", "--as-of", "2026-06-30", "--model", "expert", home=home)  # grades exist, and must not leak
    run_cli("notices", "build", "--as-of", AS_OF, home=home)
    return home


def notices(home: Path) -> dict[str, tuple[str, str]]:
    with Warehouse(home) as wh:
        return {r[0]: (r[1], r[2]) for r in wh.con.execute("SELECT uscc, subject, body FROM notices").fetchall()}


def test_due_years() -> None:
    assert due_years(__import__("datetime").date(2026, 7, 31)) == [2023, 2024, 2025]
    assert due_years(__import__("datetime").date(2026, 6, 30)) == [2022, 2023, 2024]


def test_notices_state_what_is_wrong_and_how_to_fix_it(built: Path) -> None:
    n = notices(built)
    assert set(n) == {E[k] for k in ("over", "ab", "unr", "insp", "dis", "debt")}  # not clean, out, closed
    subject, body = n[E["over"]]
    assert subject == "关于历下over商贸有限公司需办理1项信用相关事项的提示"
    assert "2024、2025 年度报告未在次年 6 月 30 日前" in body and "国家企业信用信息公示系统补报" in body
    assert "2023" not in body.split("情况")[1].split("办理方式")[0]  # 2023 was filed
    _, body = n[E["ab"]]
    assert "未按规定期限公示年度报告" in body and "申请移出经营异常名录" in body
    assert "2025年7月1日" in body and "补报未报年度的年度报告" in body
    _, body = n[E["unr"]]
    assert "通过登记的住所或者经营场所无法联系被列入经营异常名录" in body and "住所或者经营场所变更登记" in body
    _, body = n[E["insp"]]
    assert "2026年3月1日 检查时通过登记的住所或者经营场所无法联系" in body
    _, body = n[E["dis"]]
    assert "严重违法失信名单" in body and "信用修复" in body and "满一年" in body
    assert "办理机关：济南市市场监督管理局" in body  # the deciding authority the record names
    _, body = n[E["debt"]]
    assert "失信被执行人" in body and "办理机关：历下区人民法院" in body
    for _, (subject, body) in n.items():
        text = subject + body
        assert body.startswith("历下") and "统一社会信用代码" in body and "截至2026年7月31日" in body
        for word in ("等级", "评分", "分值", "分类", "风险分", "score", "grade", "A类", "B类", "C类", "D类"):
            assert word not in text, word


def test_rebuild_adds_nothing_until_items_change(built: Path, tmp_path: Path) -> None:
    p = run_cli("notices", "build", "--as-of", AS_OF, home=built)
    assert "0 new notices" in " ".join(p.stderr.split())
    d = tmp_path / "d2"
    write_csv(d / "events.csv", EVENT_HEADER, [["X1", E["clean"], "serious_dishonest_in", "2026-07-10", "2026-07-10",
                                                "济南市市场监督管理局", "", "", ""]])
    import shutil

    home = tmp_path / "home"
    shutil.copytree(built, home)
    ingest(home, d)
    p = run_cli("notices", "build", "--as-of", AS_OF, home=home)
    assert "1 new notices" in " ".join(p.stderr.split())


def test_item_order_and_offices() -> None:
    rows = [{"kind": "serious_dishonest", "key": "a:1", "on_date": __import__("datetime").date(2026, 1, 2),
             "detail": None, "source": "某市发展改革委"},
            {"kind": "annual_report_overdue", "key": "2025", "on_date": None, "detail": None, "source": None}]
    items = make_items(rows, "某县市场监督管理局")
    assert [i.kind for i in items] == ["annual_report_overdue", "serious_dishonest"]
    assert items[0].office == "某县市场监督管理局" and items[1].office == "某市发展改革委"
    generic = make_items([{**rows[0], "kind": "abnormal_list", "key": "b", "on_date": rows[0]["on_date"] or
                           __import__("datetime").date(2026, 1, 2), "detail": "other", "source": "市场监管局"}], "某县局")
    assert generic[0].office == "某县局"


# --------------------------------------------------------------------------- outbox and senders
class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to receive messages in a test."""

    def handle(self) -> None:
        w = self.wfile.write
        w(b"220 localhost riskgrade-test\r\n")
        env: dict = {"to": []}
        data: list[bytes] | None = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.received.append({**env, "data": b"".join(data)})  # type: ignore[attr-defined]
                    env, data = {"to": []}, None
                    w(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            cmd = line.decode("utf-8", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                w(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif up.startswith(("HELO", "NOOP", "RSET")):
                w(b"250 ok\r\n")
            elif up.startswith("MAIL FROM:"):
                env["from"] = cmd[10:].split()[0].strip("<>")
                w(b"250 ok\r\n")
            elif up.startswith("RCPT TO:"):
                env["to"].append(cmd[8:].strip().strip("<>"))
                w(b"250 ok\r\n")
            elif up == "DATA":
                data = []
                w(b"354 end with .\r\n")
            elif up == "QUIT":
                w(b"221 bye\r\n")
                return
            else:
                w(b"502 not implemented\r\n")


@pytest.fixture
def smtp_server():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    srv.received = []  # type: ignore[attr-defined]
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _home(built: Path, tmp_path: Path) -> Path:
    import shutil

    h = tmp_path / "home"
    shutil.copytree(built, h)
    return h


def _status(home: Path) -> dict[str, tuple]:
    with Warehouse(home) as wh:
        return {r[0]: r[1:] for r in wh.con.execute(
            "SELECT n.uscc, o.status, o.channel, o.recipient, o.attempts, o.last_error FROM outbox o "
            "JOIN notices n USING (notice_id)").fetchall()}


def test_smtp_delivery_to_a_local_server(built: Path, tmp_path: Path, smtp_server) -> None:
    home = _home(built, tmp_path)
    port = smtp_server.server_address[1]
    contacts = tmp_path / "contacts.csv"
    write_csv(contacts, ["uscc", "email"], [[E["dis"], "dis@example.test"], [E["over"], "over@example.test"]])
    p = run_cli("notices", "send", "--sender", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                "--from", "xinyong@amr.example.test", "--contacts", str(contacts), home=home)
    assert "2 sent" in " ".join(p.stderr.split())
    got = {m["to"][0]: m for m in smtp_server.received}
    assert set(got) == {"dis@example.test", "over@example.test"}
    msg = email.message_from_bytes(got["dis@example.test"]["data"], policy=policy.default)
    assert msg["From"] == "xinyong@amr.example.test" and "历下dis商贸有限公司" in msg["Subject"]
    assert "严重违法失信名单" in msg.get_content() and msg["X-Riskgrade-USCC"] == E["dis"]
    st = _status(home)
    assert st[E["dis"]][:4] == ("sent", "smtp", "dis@example.test", 1)
    assert st[E["unr"]][0] == "no_contact"
    # a second send with a fuller address book sends only what is still unsent
    write_csv(contacts, ["uscc", "email"], [[u, f"{k}@example.test"] for k, u in E.items()])
    run_cli("notices", "send", "--sender", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
            "--contacts", str(contacts), home=home)
    assert len(smtp_server.received) == 6
    assert {v[0] for v in _status(home).values()} == {"sent"}


def test_smtp_failure_is_recorded_and_retried(built: Path, tmp_path: Path, smtp_server) -> None:
    home = _home(built, tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    contacts = tmp_path / "c.csv"
    write_csv(contacts, ["uscc", "email"], [[u, "x@example.test"] for u in E.values()])
    p = run_cli("notices", "send", "--sender", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", str(dead),
                "--contacts", str(contacts), home=home, check=False)
    assert p.returncode == 1
    st = _status(home)
    assert {v[0] for v in st.values()} == {"failed"} and all(v[4] for v in st.values())
    run_cli("notices", "send", "--sender", "smtp", "--smtp-host", "127.0.0.1",
            "--smtp-port", str(smtp_server.server_address[1]), "--contacts", str(contacts), home=home)
    st = _status(home)
    assert {v[0] for v in st.values()} == {"sent"} and {v[3] for v in st.values()} == {2}


def test_file_sender_writes_messages(built: Path, tmp_path: Path) -> None:
    home = _home(built, tmp_path)
    out = tmp_path / "eml"
    run_cli("notices", "send", "--sender", "file", "--dir", str(out), home=home)
    files = sorted(out.glob("*.eml"))
    assert len(files) == 6
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert "统一社会信用代码" in msg.get_content()
    p = run_cli("notices", "list", home=home)
    assert "sent" in p.stdout
