"""The service as ``riskgrade serve`` runs it: the API (:mod:`riskgrade.api`) with the web console
(:mod:`riskgrade.web`) mounted on it.  The only module that knows both faces."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request

from .api.app import create_app as create_api
from .api.app import error_response
from .service.errors import Refused
from .web.common import error_page, page_error
from .web.console import mount


def create_app(home: Path, database_url: str | None = None) -> FastAPI:
    """The API and the console over a data home, in one application."""
    app = create_api(home, database_url)
    mount(app)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        # a refusal a page did not turn into its own error page: the console's page, the API's body under /api/
        if request.url.path.startswith("/api/"):
            return error_response(exc)
        return error_page(request, page_error(exc))

    return app


def app_from_env() -> FastAPI:
    """The application for ``riskgrade serve`` (uvicorn factory; one per worker process)."""
    import os

    from . import settings as settings_mod

    os.umask(0o077)  # files and folders the service creates are its user's alone (0600/0700)
    s = settings_mod.load()
    return create_app(s.home, s.database_url)
