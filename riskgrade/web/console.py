"""The web console (控制台): server-rendered pages over the service, Chinese by default.

Pages (:mod:`.pages`): login, dashboard (grade shares and trend, migration, heat maps by area and
industry), entity search and profile (with a readable explanation of the grade and the entity's
alerts), early-warning alerts (预警: list with counts, detail with the disposition forms), inspection
plans with a plan wizard and results upload, data quality, model report, and administration (users,
audit log), grade reviews (申诉/复核) and the printable inspection notice and result record.  What they share (templates, language, the session user, forms and CSRF, error pages) is
in :mod:`.common`; the words they show in :mod:`.names`.  :mod:`riskgrade.server` mounts the console
on the API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse

from .common import LoginRequired, PageError, error_page
from .pages import admin, alerts, auth, entities, home, plans, quality, reviews, work

router = APIRouter(include_in_schema=False)
for _page_router in (auth.router, home.router, work.router, entities.router, alerts.router, plans.router,
                     quality.router, admin.router, reviews.router):
    router.include_router(_page_router)


def mount(app: FastAPI) -> None:
    """Add the console's pages and static files to an application."""
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired):
        q = {"next": exc.next_url} if exc.next_url not in ("", "/") else {}
        if exc.expired:
            q["expired"] = "1"
        return RedirectResponse("/login" + ("?" + urlencode(q) if q else ""), status_code=303)

    @app.exception_handler(PageError)
    async def _error_page(request: Request, exc: PageError):
        return error_page(request, exc)


__all__ = ["mount", "router"]
