"""Every audit action riskgrade records has a Chinese and an English name for the audit log page (a static scan of
the code: an action added without a name fails here, instead of showing its raw code to an auditor)."""

from __future__ import annotations

import ast
from pathlib import Path

import riskgrade

PKG = Path(riskgrade.__file__).resolve().parent
# the functions that write an audit entry, and the position of their action argument
WRITERS = {"record": 2, "append": 2, "audit": 1, "audit_export": 1, "_audit": 1}


def _expansions() -> dict[str, tuple[str, ...]]:
    """The values of the variables inside f-string actions (``f"alert_{op}"``)."""
    from riskgrade.service.alerts import STEPS
    from riskgrade.service.entities import DOCUMENTS

    return {"op": STEPS, "kind": DOCUMENTS}


def _values(node: ast.expr, where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _values(node.body, where) + _values(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                out = [o + part.value for o in out]
            elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) \
                    and part.value.id in _expansions():
                out = [o + v for o in out for v in _expansions()[part.value.id]]
            else:
                raise AssertionError(f"{where}: an f-string action this test cannot expand: add its values to "
                                     "_expansions()")
        return out
    if isinstance(node, ast.Name) and node.id == "action":  # a helper passing its own parameter on
        return []
    raise AssertionError(f"{where}: an audit action that is not a literal ({ast.dump(node)[:80]})")


def _is_writer(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Name) and f.id in WRITERS and f.id != "append":  # a bare append is the alert log's
        return f.id
    if isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name) and f.value.id == "audit":
        return "append"
    return None


def recorded_actions() -> dict[str, str]:
    """action -> the first place that records it."""
    found: dict[str, str] = {}
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _is_writer(node)
            if name is None:
                continue
            pos = WRITERS[name]
            arg = node.args[pos] if len(node.args) > pos else next(
                (k.value for k in node.keywords if k.arg == "action"), None)
            if arg is None:
                continue
            where = f"{path.relative_to(PKG.parent)}:{node.lineno}"
            for v in _values(arg, where):
                found.setdefault(v, where)
    return found


def test_the_scan_finds_the_actions_recorded_in_each_way() -> None:
    found = recorded_actions()
    # record(st, me, ...), audit.append(factory, user, ...), audit(factory, ...), audit_export(home, ...), an
    # alternative (IfExp) and an f-string over the alert steps
    for action in ("view_profile", "publish", "registry_verify", "export_rejected_results", "user_disable",
                   "user_enable", "alert_assign", "alert_target", "model_approve"):
        assert action in found, action
    assert len(found) > 40


def test_every_recorded_audit_action_has_both_names() -> None:
    from riskgrade.web.names import AUDIT_ACTIONS, audit_action

    missing = {a: w for a, w in recorded_actions().items() if a not in AUDIT_ACTIONS}
    assert not missing, f"audit actions without a name in riskgrade/web/names.py AUDIT_ACTIONS: {missing}"
    for a in recorded_actions():
        zh, en = audit_action(a, "zh"), audit_action(a, "en")
        assert zh != a and en != a and zh != en, a
        assert not any("a" <= ch.lower() <= "z" for ch in zh), (a, zh)  # no English inside a Chinese name
