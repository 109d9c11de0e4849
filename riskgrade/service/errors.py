"""The service's refusals: one error, with what each face needs to show it."""

from __future__ import annotations

from ..errors import RiskgradeError


class Refused(RiskgradeError):
    """A refusal with an HTTP-like status and a stable code (401 unauthenticated, 403 forbidden, 404 not_found,
    409 conflict, 422 invalid, 429 rate_limited, 503 busy), an English message, and the console's message key
    (``web/i18n.py``) with its fields."""

    def __init__(self, status: int, code: str, message: str, key: str = "", fields: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.key, self.fields, self.headers = key, fields or {}, headers
