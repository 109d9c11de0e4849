"""Commands of the service stage: publish to the registry, users, audit, serve.

Handed to the ``riskgrade`` app by :func:`register`.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from .common import (ACTOR, HomeOpt, as_date, audit, err, out, progress, read_checkpoint, registry, settings,
                     write_checkpoint)


def publish(
    as_of: Annotated[str, typer.Option("--as-of", help="the month's classification to publish")],
    home: HomeOpt = None,
) -> None:
    """Publish a month's sealed snapshot (grades, profiles, plans) to the registry, atomically."""
    from ..registry.publish import publish as run

    s = settings(home)
    f = registry(s)
    r = run(s.home, f, as_date(as_of, "--as-of"), f"cli:{ACTOR}", progress=progress, lock_timeout=s.lock_timeout)
    out.print(f"published snapshot {r.snapshot_id} as of {r.as_of}: {r.grades:,} grades, {r.entities:,} entities, "
              f"{r.events:,} records, {r.plans} plans; content hash {r.content_hash}", highlight=False)


def registry_verify(
    snapshot: Annotated[Optional[int], typer.Option("--snapshot", help="one published snapshot (default: all)")] = None,
    home: HomeOpt = None,
) -> None:
    """Recompute every published grade's seal and each snapshot's content hash; non-zero exit if altered."""
    from ..registry.publish import verify_snapshot
    from ..registry.queries import snapshot_ids

    s = settings(home)
    f = registry(s)
    ids = [snapshot] if snapshot else snapshot_ids(f)
    bad = 0
    for i in ids:
        c = verify_snapshot(s.home, f, i)
        if c.ok:
            out.print(f"snapshot {i} ({c.as_of}): {c.rows:,} grades, sealed and intact", highlight=False)
        else:
            bad += 1
            out.print(f"[red]snapshot {i} ({c.as_of}): {c.problem}[/red]" + (
                f"; altered: {', '.join(c.altered[:10])}" if c.altered else ""), highlight=False)
    audit(f, "registry_verify", "", {"snapshots": ids, "failed": bad})
    if bad:
        raise RiskgradeError(f"{bad} published snapshot(s) altered since publication")


def user_add(
    username: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option("--role", help="admin, credit_officer, inspector, domain_officer, analyst, auditor")],
    region: Annotated[str, typer.Option("--region", help="GB/T 2260 prefix the user sees: 37, 3701 or 370102")],
    name: Annotated[str, typer.Option("--name", help="display name")] = "",
    department: Annotated[Optional[str], typer.Option(
        "--department", help="a domain officer's department, as alerts name it (e.g. 卫生健康委员会)")] = None,
    password_env: Annotated[Optional[str], typer.Option("--password-env", help="read the password from this variable")] = None,
    home: HomeOpt = None,
) -> None:
    """Add a local user (the password is asked for, or read from --password-env)."""
    from ..registry.users import add_user
    from ..service.admin import check_region

    check_region(region)
    s = settings(home)
    pw = os.environ.get(password_env, "") if password_env else getpass.getpass(f"password for {username}: ")
    if password_env and not pw:
        raise RiskgradeError(f"the variable {password_env} is empty or unset")
    f = registry(s)
    u = add_user(f, username, pw, role, region, name, department)
    audit(f, "user_add", username, {"role": role, "region": region, **({"department": u.department}
                                                                        if u.department else {})})
    err.print(f"user {u.username} added: {u.role}, region {u.region_prefix}"
              + (f", department {u.department}" if u.department else ""))


def user_role(
    username: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[Optional[str], typer.Option("--role", help="new role")] = None,
    region: Annotated[Optional[str], typer.Option("--region", help="new region prefix")] = None,
    department: Annotated[Optional[str], typer.Option("--department", help="new department (\"\" to clear)")] = None,
    home: HomeOpt = None,
) -> None:
    """Change a user's role, region or department."""
    from ..registry.users import update_user
    from ..service.admin import check_region

    if region is not None:
        check_region(region)  # a current province, city or county: not 99, not 379999
    changes = {k: v for k, v in (("role", role), ("region_prefix", region), ("department", department))
               if v is not None}
    if not changes:
        raise RiskgradeError("give --role, --region and/or --department")
    s = settings(home)
    f = registry(s)
    update_user(f, username, **changes)
    audit(f, "user_change", username, changes)
    err.print(f"user {username}: {changes}")


def user_disable(username: Annotated[str, typer.Argument(help="user name")],
                 enable: Annotated[bool, typer.Option("--enable", help="enable again instead")] = False,
                 home: HomeOpt = None) -> None:
    """Disable a user (ends their sessions and tokens), or enable again."""
    from ..registry.users import update_user

    s = settings(home)
    f = registry(s)
    update_user(f, username, disabled=not enable)
    audit(f, "user_enable" if enable else "user_disable", username)
    err.print(f"user {username} {'enabled' if enable else 'disabled'}")


def user_list(home: HomeOpt = None) -> None:
    """Users with role, region and state."""
    from ..registry.users import list_users

    s = settings(home)
    tab = Table(title="users")
    for c in ("user", "name", "role", "region", "department", "state"):
        tab.add_column(c)
    for u in list_users(registry(s)):
        tab.add_row(u.username, u.display_name, u.role, u.region_prefix, u.department or "",
                    "disabled" if u.disabled else "active")
    out.print(tab)


def user_totp(
    username: Annotated[str, typer.Argument(help="user name")],
    off: Annotated[bool, typer.Option("--off", help="remove two-factor sign-in instead")] = False,
    home: HomeOpt = None,
) -> None:
    """Enrol or reset a user's two-factor sign-in (TOTP): prints a new secret and its otpauth URI for the
    user's authenticator app (the old one stops working), or removes it with --off."""
    from ..registry.users import get_user, new_totp_secret, set_totp, totp_uri

    s = settings(home)
    f = registry(s)
    get_user(f, username)
    if off:
        set_totp(f, username, None)
        audit(f, "totp_remove", username)
        err.print(f"user {username}: two-factor sign-in removed")
        return
    secret = new_totp_secret()
    set_totp(f, username, secret)
    audit(f, "totp_enrol", username, {"by": "operator"})
    err.print(f"user {username}: two-factor sign-in set; give the user this secret (once, out of band):")
    out.print(f"secret: {secret}\nuri: {totp_uri(secret, username)}", highlight=False)


def audit_verify(
    expect_head: Annotated[Optional[str], typer.Option("--expect-head", help="ID:HASH recorded earlier")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(
        "--checkpoint", help="a signed checkpoint file (audit checkpoint): the chain must still reach its head")] = None,
    home: HomeOpt = None,
) -> None:
    """Check the audit chain; names the first edited or deleted entry (non-zero exit)."""
    from ..registry.audit import verify

    s = settings(home)
    head = None
    if expect_head:
        try:
            i, h = expect_head.split(":", 1)
            head = (int(i), h)
        except ValueError:
            raise RiskgradeError("--expect-head: ID:HASH, as printed by an earlier verify") from None
    v = verify(registry(s), head, read_checkpoint(checkpoint) if checkpoint else None)
    if not v.ok:
        raise RiskgradeError(f"audit log tampered: {v.problem}")
    out.print(f"audit log intact: {v.entries:,} entries; head {v.head_id}:{v.head_hash}", highlight=False)
    if v.unkeyed:
        err.print(f"note: the first {v.unkeyed:,} entries were written before the chain was keyed (plain SHA-256); "
                  "keep a checkpoint off the machine to anchor them", highlight=False)


def audit_checkpoint(
    out_file: Annotated[Path, typer.Option("--out", help="the checkpoint file (JSON) to keep off this machine")],
    home: HomeOpt = None,
) -> None:
    """Write the audit chain's head (entry id, hash, count, time), signed with the chain key, to a file."""
    from ..registry.audit import checkpoint

    s = settings(home)
    f = registry(s)
    audit(f, "audit_checkpoint", str(out_file))
    cp = checkpoint(f)
    write_checkpoint(cp, out_file)
    out.print(f"checkpoint of the audit log written to {out_file}: head {cp['head_seq']}:{cp['head_hash']}, "
              f"{cp['entries']:,} entries, key {cp['key_id']}", highlight=False)


def audit_public_key(home: HomeOpt = None) -> None:
    """Print the public key (PEM) that checks the checkpoints' Ed25519 signatures: copy it off this machine once."""
    from ..chain import KEYS_DIR, private_dir
    from ..signing import private_key, public_key_pem

    s = settings(home)
    keys = private_dir(s.home / KEYS_DIR)
    private_key(keys)  # made on first use
    out.print(public_key_pem(keys).decode("ascii"), end="", highlight=False)


def audit_check_signature(
    checkpoint_file: Annotated[Path, typer.Argument(help="a checkpoint file (audit checkpoint, alerts checkpoint)")],
    public_key: Annotated[Path, typer.Option("--public-key", help="the PEM printed by audit public-key, kept off "
                                                                 "the machine")],
) -> None:
    """Check a checkpoint's Ed25519 signature with the public key alone: no data home, no secret needed."""
    from ..chain import checkpoint_message
    from ..signing import check

    cp = read_checkpoint(checkpoint_file)
    try:
        pem = public_key.read_bytes()
    except OSError as e:
        raise RiskgradeError(f"--public-key {public_key}: {e.strerror}") from None
    why = check(pem, checkpoint_message(cp), cp.get("ed25519"))
    if why:
        raise RiskgradeError(f"{checkpoint_file}: {why}")
    out.print(f"{checkpoint_file}: signature valid - {cp['log']} head {cp['head_seq']}:{cp['head_hash']}, "
              f"{cp['entries']:,} entries, written {cp['at']}", highlight=False)


def audit_rotate_key(home: HomeOpt = None) -> None:
    """Add a new chain key to <home>/keys/audit.key: it signs new entries; the old keys stay to verify old ones."""
    from ..chain import KEY_ENV, key_path, rotate

    s = settings(home)
    f = registry(s)
    if os.environ.get(KEY_ENV, "").strip():
        raise RiskgradeError(f"${KEY_ENV} is set and wins over the key file: rotate by appending a new secret to it "
                             "(comma-separated; the last signs), keeping the old ones")
    audit(f, "audit_key_rotate", "", {"phase": "before"})  # the last entry signed by the old key
    kid = rotate(s.home)
    audit(f, "audit_key_rotate", "", {"phase": "after", "key_id": kid})
    err.print(f"new audit chain key {kid} added to {key_path(s.home)}; copy the file off this machine and restart "
              "`riskgrade serve`", highlight=False)


def audit_list(limit: Annotated[int, typer.Option("--limit", min=1)] = 20, home: HomeOpt = None) -> None:
    """The newest audit entries."""
    from ..registry.queries import recent_audit

    s = settings(home)
    rows = recent_audit(registry(s), limit)
    tab = Table(title="audit log")
    for c in ("id", "at", "user", "action", "target"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(str(r["id"]), f"{r['at']:%Y-%m-%d %H:%M:%S}", r["username"], r["action"], r["target"])
    out.print(tab)


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="uvicorn worker processes")] = 1,
    home: HomeOpt = None,
) -> None:
    """The web console and API over the data home (OpenAPI schema at /openapi.json)."""
    import uvicorn

    s = settings(home)
    registry(s)  # migrate the registry once, before workers start
    os.environ["RISKGRADE_HOME"] = str(Path(s.home).resolve())
    if s.database_url:
        os.environ["RISKGRADE_DATABASE_URL"] = s.database_url
    err.print(f"serving {s.home} on http://{host}:{port} (API under /api/, schema at /openapi.json)")
    # proxy_headers=False: uvicorn would take X-Forwarded-For from any loopback peer; the service honours it
    # only from the proxies of the setting trusted_proxies (service.state.AppState.client)
    uvicorn.run("riskgrade.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", proxy_headers=False)


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(help="Local accounts: add, role, region, disable, list.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    audit_app = typer.Typer(help="The hash-chained audit log (审计).", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")
    registry_app = typer.Typer(help="The registry database the service reads (SQLite or PostgreSQL).",
                               no_args_is_help=True)
    app.add_typer(registry_app, name="registry")
    app.command()(publish)
    registry_app.command("verify")(registry_verify)
    user_app.command("add")(user_add)
    user_app.command("role")(user_role)
    user_app.command("disable")(user_disable)
    user_app.command("list")(user_list)
    user_app.command("totp")(user_totp)
    audit_app.command("verify")(audit_verify)
    audit_app.command("list")(audit_list)
    audit_app.command("checkpoint")(audit_checkpoint)
    audit_app.command("public-key")(audit_public_key)
    audit_app.command("check-signature")(audit_check_signature)
    audit_app.command("rotate-key")(audit_rotate_key)
    app.command()(serve)
