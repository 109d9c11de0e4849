"""The registry's tables (SQLAlchemy 2): users, tokens, the audit chain, published results.

The registry is what the service reads: a SQLite file in the data home by default, PostgreSQL when
``RISKGRADE_DATABASE_URL`` points at one.  Published data is a copy of a sealed monthly snapshot
(and what a profile shows about each entity), written by ``riskgrade publish`` in one transaction.
Schema changes go through Alembic migrations (``riskgrade/registry/migrations``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


ROLES = ("admin", "credit_officer", "inspector", "domain_officer", "analyst", "auditor")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    region_prefix: Mapped[str] = mapped_column(String(6))  # GB/T 2260: "37" province, "3701" city, "370102" county
    # a domain officer's department (专业领域部门), as alerts name it in ``responsible_unit`` (e.g. 卫生健康委员会)
    department: Mapped[str | None] = mapped_column(String(128), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # two-factor sign-in (TOTP, RFC 6238): the base32 secret once confirmed, encrypted with a key outside the
    # database (registry/totp_key.py: "v1:<key id>:<AES-GCM>"), and the last time step accepted (a code is never
    # accepted twice); never written to a log
    totp_secret: Mapped[str | None] = mapped_column(String(256), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Token(Base):
    """Bearer tokens (API) and console sessions, stored as the sha256 of the secret."""
    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # "api", "session" (console), "pending" (console: waiting for the one-time code) or "enrol" (an administrator
    # without a second factor: may only enrol one, in the console or through /api/me/totp)
    kind: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """A failed sign-in (wrong password or code, locked or unknown account), by user name and client address:
    the login throttle every worker shares.  Rows older than the throttle's window are deleted as new ones come."""
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_client_at", "client", "at"))


class AuditEntry(Base):
    """Append-only, hash-chained: ``hash = HMAC-SHA256(key[key_id], prev_hash + canonical entry)`` (see
    :mod:`riskgrade.chain`; ``key_id`` empty: plain SHA-256, written before the chain was keyed)."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Snapshot(Base):
    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime)
    published_by: Mapped[str] = mapped_column(String(64))
    source_snapshot_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(32))
    grade_mode: Mapped[str] = mapped_column(String(8))
    entities: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict] = mapped_column(JSON)


class Grade(Base):
    __tablename__ = "grades"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    industry_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(1))
    previous_grade: Mapped[str | None] = mapped_column(String(1), nullable=True)
    grade_rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_points: Mapped[str | None] = mapped_column(Text, nullable=True)
    labels: Mapped[str | None] = mapped_column(Text, nullable=True)
    seal: Mapped[str] = mapped_column(String(64))  # HMAC of the row with the registry's secret (see publish.py)
    # the score at every indicator's reference: score = clip(score_base + the points of reason_points, 0, 1000);
    # null when the month was classified or published before it was recorded
    score_base: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the facts behind the reasons and the risk-lowering factors, computed at publication from the records known
    # at the month's end: JSON {code: fact}; null when published before facts existed
    facts: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the grade review (申诉/复核, :class:`GradeReview`) that set this grade (``grade_rule`` "review"); null otherwise
    review_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (Index("ix_grades_uscc", "uscc"), Index("ix_grades_snapshot_region", "snapshot_id", "region_code"),
                      # the search sorted by score or grade, or filtered by grade (migration 0011)
                      Index("ix_grades_snapshot_score", "snapshot_id", "score", "uscc"),
                      Index("ix_grades_snapshot_grade", "snapshot_id", "grade", "uscc"))


class Entity(Base):
    __tablename__ = "entities"
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), index=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    industry_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    established_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    registered_capital: Mapped[float | None] = mapped_column(Float, nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    legal_rep_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # registration data a delivery may carry beyond the contract's columns (null when not delivered): the legal
    # representative's name (personal information: service/entities.py decides who sees it), the business scope
    # (经营范围) and the registration authority (登记机关)
    legal_rep_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    business_scope: Mapped[str | None] = mapped_column(Text, nullable=True)
    registration_authority: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # the company file's related companies and the search by legal representative or address
    __table_args__ = (Index("ix_entities_legal_rep_id", "legal_rep_id"), Index("ix_entities_phone_id", "phone_id"),
                      Index("ix_entities_address", "address"), Index("ix_entities_legal_rep_name", "legal_rep_name"),
                      Index("ix_entities_industry", "industry_code", "uscc"),  # the search sorted by industry
                      Index("ix_entities_region_uscc", "region_code", "uscc"))  # a county's entities by USCC


class Event(Base):
    """The records behind a profile's timeline (as held when the month was published)."""
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    event_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the warehouse's plan id
    as_of: Mapped[dt.date] = mapped_column(Date)
    task_name: Mapped[str] = mapped_column(String(256))
    domain: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str] = mapped_column(String(128))
    drawn: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict] = mapped_column(JSON)


class PlanEntity(Base):
    __tablename__ = "plan_entities"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    grade: Mapped[str] = mapped_column(String(1))
    selection: Mapped[str] = mapped_column(String(16))
    inclusion_probability: Mapped[float] = mapped_column(Float)
    check_mode: Mapped[str] = mapped_column(String(16))
    inspectors: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_plan_entities_uscc", "uscc"),)


class GradeReview(Base):
    """A grade review (申诉/复核): an officer proposes another grade for an entity's published grade with a reason;
    a provincial reviewer approves or rejects it with a note (``state`` pending / approved / rejected).  An approved
    review is an override: the next publication of a month from ``as_of`` on gives the entity ``to_grade`` (rule
    ``review``, the grade row's ``review_id``) as long as the month's computed grade is still ``from_grade``."""
    __tablename__ = "grade_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    snapshot_id: Mapped[int] = mapped_column(Integer)  # the publication whose grade is reviewed
    as_of: Mapped[dt.date] = mapped_column(Date)
    from_grade: Mapped[str] = mapped_column(String(1))
    to_grade: Mapped[str] = mapped_column(String(1))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class PlanApproval(Base):
    """The approval of a drawn plan (审批), apart from the sealed draw: ``draft`` (待审批) until an approver decides
    ``approved`` (已生效) or ``rejected`` (已驳回) with a note.  A plan without a row was drawn where no approval was
    asked (the command line by default): it is in force as drawn.  Written by :mod:`riskgrade.registry.approvals`
    only; the plan's period and team of inspectors (检查人员, by user name) are recorded with the request."""
    __tablename__ = "plan_approvals"
    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    team: Mapped[str] = mapped_column(Text, default="")  # ;-separated user names of the inspectors in charge
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class PlanInspector(Base):
    """The inspectors a published plan names (from the warehouse's directory 执法检查人员名录), by id with their
    name and unit, so that plan pages show people, not ids.  Copied with the plan by ``registry/publish.py``."""
    __tablename__ = "plan_inspectors"
    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    unit_region_code: Mapped[str] = mapped_column(String(6), default="")


class Summary(Base):
    """A published snapshot's monthly summaries (``riskgrade.registry.summaries``): entities and score sum by
    kind (region, cell, section, type, label, move, total), region prefix, key and grade."""
    __tablename__ = "summaries"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    grade: Mapped[str] = mapped_column(String(1), primary_key=True)
    entities: Mapped[int] = mapped_column(BigInteger)
    score_sum: Mapped[float] = mapped_column(Float)
    base_snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
