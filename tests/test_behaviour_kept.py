"""Behaviour kept across the restructuring (issue 16): the API's OpenAPI schema and every command's help.

The baselines in tests/baselines/ were saved before the service layer and the split of the faces. A
difference is allowed only where a unification decided it; each is listed in ``OPENAPI_DECIDED`` with
the reason, and new commands may appear in the help (nothing that was there may change).
"""
from __future__ import annotations

import json
from pathlib import Path

BASE = Path(__file__).parent / "baselines"

# (JSON path, reason): the differences the restructuring decided on purpose
OPENAPI_DECIDED: dict[str, str] = {
    # the company file: grade reviews (申诉/复核), added paths and their schemas only
    "/paths//api/reviews": "grade reviews: GET the list with counts, POST a proposal; /{id}/approve and /{id}/reject",
    "/paths//api/entities/{uscc}/reviews": "grade reviews: an entity's reviews",
    "/components/schemas/Review": "grade reviews: one review (Review, ReviewPage)",
    "/components/schemas/ProposeRequest": "grade reviews: a proposal (uscc, to_grade, reason)",
    "/components/schemas/DecideRequest": "grade reviews: a reviewer's note",
    "/paths//api/entities/get/parameters": "the company file: the search also by legal representative and address "
                                           "(two optional query parameters; compatible)",
    # issue 19 item 1 (我的待办): the work queue, batch assignment, sign-off, attachments, unit figures (new paths)
    "/paths//api/work": "issue 19: GET /api/work (the queue), POST /api/work/assign (batch), GET /api/work/export, "
                        "GET /api/work/units, POST /api/work/alerts/{id}/approve|return (复核), attachments",
    **{f"/components/schemas/{n}": "issue 19: a schema of /api/work" for n in (
        "Attachment", "BatchAssign", "BatchItem", "BatchResult", "ReviewRequest", "UnitFigures", "WorkItem", "WorkPage",
        "WorkTask")},
    # issue 17 (results intake): the upload is results only (CSV or XLSX); the response gains the rejected lines
    "/components/schemas/ResultRejection": "issue 17: each rejected line of a results upload (line, column, why)",
    "/components/schemas/ResultsImported": "issue 17: the results upload's response extended compatibly (new "
                                           "fields with defaults: rejections, updated, unchanged, upload_id, ...)",
    "/paths//api/plans/{plan_id}/results/post": "issue 17: the results upload takes results only (uscc, date, "
                                                "result), as CSV or XLSX",
    "/components/schemas/LoginRequest/properties/code":
        "issue 17, two-factor sign-in (等保2.0 level 3): an optional one-time code (TOTP) in the login request; "
        "compatible: a request without it is still valid, and users without a second factor send none",
    # issue 18 (a queue worth reading): expected risk per alert, the muted status, the rule catalog
    "/components/schemas/AlertOut/properties/expected_risk": "issue 18: every alert carries its expected risk "
                                                             "(optional field; the list is ordered by it)",
    "/components/schemas/AlertDetail/properties/expected_risk": "issue 18: idem in the detail",
    "/paths//api/alerts/get/parameters": "issue 18: the status filter accepts muted (alerts of muted rules)",
    "/paths//api/alerts/rules": "issue 18: the rule catalog with measured precision, lift and muting",
    "/components/schemas/RuleCatalogOut": "issue 18: the rule catalog's response",
    "/components/schemas/RuleOut": "issue 18: one rule of the catalog",
    "/components/schemas/RuleMeasure": "issue 18: a rule's precision and lift at one horizon",
    # issue 17, API enrolment of a second factor: an administrator without one gets an enrolment-only token
    "/components/schemas/LoginResponse/properties/scope":
        "issue 17: the login says whether the token is full or may only enrol a second factor (totp_enrolment); "
        "compatible: a new field with a default",
    "/paths//api/me/totp": "issue 17: POST /api/me/totp (a new secret and its otpauth URI) and "
                            "/api/me/totp/confirm (secret + code), mirroring the console's /account/totp",
    "/paths//api/login/post/responses/429": "issue 17: the login's throttle answer (429 rate_limited), which it "
                                            "gave before but did not document",
    "/paths//api/login/post/responses/503": "issue 17: TOTP secrets encrypted at rest: a server without their key "
                                            "answers 503 totp_key_unavailable, never a 500",
    "/components/schemas/TotpOffer": "issue 17: the answer of POST /api/me/totp",
    "/components/schemas/TotpConfirm": "issue 17: the body of POST /api/me/totp/confirm",
    "/components/schemas/TotpEnrolled": "issue 17: the answer of POST /api/me/totp/confirm (a full token when an "
                                        "enrolment-only token was spent)",
    # issue 17, the sealed draw package for the auditor (纪检/法制审核) inside the system
    "/paths//api/plans/{plan_id}/results/template": "issue 19: the plan's results template (XLSX, Chinese headers, "
                                                    "the plan's entities in the user's region pre-filled)",
    "/paths//api/plans/{plan_id}/sealed": "issue 17: GET .../sealed (strata, inclusion probabilities, seed, salt, "
                                          "selection), GET .../sealed/download (zip), POST .../sealed/verify "
                                          "(plans verify inside the system); auditor and admin only",
    "/components/schemas/SealedPackage": "issue 17: the sealed package as the auditor reads it",
    "/components/schemas/SealedStratum": "issue 17: a stratum of the sealed package",
    "/components/schemas/SealedEntity": "issue 17: a drawn entity of the sealed package",
    "/components/schemas/PlanVerification": "issue 17: the outcome of POST /api/plans/{plan_id}/sealed/verify",
    "/components/schemas/AlertOut/properties/area_name":
        "issue 18: an area alert is about its county x industry (no members): the list names the area",
    "/components/schemas/AlertOut/properties/unit_code":
        "issue 18: routing by a province's table: the responsible unit's department code (a domain officer's filter)",
    "/components/schemas/AlertDetail/properties/area_name": "issue 18: idem (an alert's detail is an AlertOut and more)",
    "/components/schemas/AlertDetail/properties/unit_code": "issue 18: idem",
    # issue 19 item 5, plans in 双随机 practice: the items list and the approval of a plan (added paths)
    "/paths//api/plans/items": "issue 19: the province's inspection items (抽查事项清单)",
    "/paths//api/plans/{plan_id}/approval": "issue 19: a plan's approval (待审批/已生效/已驳回)",
    "/paths//api/plans/{plan_id}/approve": "issue 19: approve a plan waiting for approval",
    "/paths//api/plans/{plan_id}/reject": "issue 19: reject a plan waiting for approval, with a note",
    "/components/schemas/ApprovalOut": "issue 19: a plan's approval record",
    "/components/schemas/DecisionIn": "issue 19: the approver's note",
    "/components/schemas/InspectionItem": "issue 19: an inspection item",
    "/components/schemas/ItemListOut": "issue 19: the inspection items list",
}


def _help_sections(env_width: int = 100) -> dict[str, str]:
    import typer
    from typer.testing import CliRunner

    from riskgrade.cli import app

    root = typer.main.get_command(app)

    def walk(cmd, path):
        yield path
        for name in sorted(getattr(cmd, "commands", None) or {}):
            yield from walk(cmd.commands[name], [*path, name])

    env = {"COLUMNS": str(env_width), "NO_COLOR": "1", "TERM": "dumb"}
    r = CliRunner()
    return {"riskgrade " + " ".join(p): r.invoke(app, [*p, "--help"], env=env).output for p in walk(root, [])}


def _baseline_help() -> dict[str, str]:
    out: dict[str, str] = {}
    key = None
    for line in (BASE / "cli-help-before.txt").read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("=== "):
            key = line[4:].rstrip("\n")
            out[key] = ""
        else:
            out[key] += line
    return {k: v[:-1] if v.endswith("\n") else v for k, v in out.items()}


def _only_added(old: str, new: str) -> bool:
    """Whether ``new`` holds every line of ``old`` (spaces collapsed), in order: only lines were added."""
    def norm(t: str) -> list[str]:
        return [" ".join(x.split()) for x in t.rstrip("\n").splitlines()]

    it = iter(norm(new))
    return all(any(line == x for x in it) for line in norm(old))


def test_every_help_text_unchanged_except_new_commands():
    now = _help_sections()
    before = _baseline_help()
    missing = sorted(set(before) - set(now))
    assert not missing, f"commands gone: {missing}"
    # a command's help may gain new options, and a group (and the top level) new commands; the table it prints
    # may then re-align its columns, so an old line is compared with its runs of spaces collapsed: every old line
    # is still there, in order
    groups = {" ".join(k.split()[:-1]) if len(k.split()) > 2 else "riskgrade " for k in set(now) - set(before)}
    changed = sorted(k for k in before if k not in groups and k != "riskgrade "
                     and before[k].rstrip("\n") != now[k].rstrip("\n") and not _only_added(before[k], now[k]))
    assert not changed, f"help changed: {changed}"
    for k in groups | {"riskgrade "}:
        if k not in before:
            continue
        assert _only_added(before[k], now[k]), f"{k.strip()} help lost a line it had"


def _diff(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            p = f"{path}/{k}"
            if k not in a:
                out.append(f"added {p}")
            elif k not in b:
                out.append(f"removed {p}")
            else:
                out += _diff(a[k], b[k], p)
        return out
    return [] if a == b else [f"changed {path}"]


def test_openapi_schema_unchanged_except_decided(tmp_path):
    from riskgrade.api.app import create_app

    now = json.loads(json.dumps(create_app(tmp_path).openapi()))
    before = json.loads((BASE / "openapi-before.json").read_text(encoding="utf-8"))
    diffs = [d for d in _diff(before, now) if not any(d.split(" ", 1)[1].startswith(p) for p in OPENAPI_DECIDED)]
    assert not diffs, diffs[:20]
