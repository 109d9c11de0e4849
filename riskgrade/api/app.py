"""The API: a FastAPI application over the service (``/api/...``).

Everything under ``/api/`` except ``POST /api/login`` needs a signed-in user; every endpoint applies
the user's role (``registry.users.PERMISSIONS``) and region scope (GB/T 2260 prefix) the same way, in
the service (:mod:`riskgrade.service`); every look at an entity's grade or profile, at an alert, every
export and every alert step is written to the audit chain.  Grades are an internal reference: never
public, never in an unauthenticated answer.

:func:`create_app` builds the API alone; :mod:`riskgrade.server` adds the web console to it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .. import __version__
from ..service.errors import Refused
from ..service.state import open_state
from .routes import ROUTERS

__all__ = ["SECURITY_HEADERS", "create_app", "error_response"]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def error_response(exc: Refused) -> JSONResponse:
    """A refusal as the API's error body ``{"error": {"code": ..., "message": ...}}``."""
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status,
                        headers=exc.headers)


def create_app(home: Path, database_url: str | None = None) -> FastAPI:
    """The API over a data home (its registry opened, and migrated, here)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="riskgrade", version=__version__,
                  description="信用风险分类管理 — credit risk classification for market regulators. Internal: grades are "
                              "a regulatory reference, never public. Every API path except POST /api/login needs a "
                              "bearer token.")
    app.state.rg = open_state(home, database_url)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first.get("loc", []))
        return JSONResponse({"error": {"code": "invalid", "message": f"{where}: {first.get('msg')}"}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        # runs outside every middleware (Starlette's ServerErrorMiddleware): the headers are set here
        return JSONResponse({"error": {"code": "internal", "message": "internal error: the server log has the "
                                       "details"}}, status_code=500, headers=SECURITY_HEADERS)

    for router in ROUTERS:
        app.include_router(router)
    return app
