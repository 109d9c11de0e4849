"""The API's endpoints, one router per area; :func:`riskgrade.api.app.create_app` includes them all."""

from . import alerts, audit, auth, entities, exports, inspection, reviews, statistics, warnrules, work

ROUTERS = (auth.router, statistics.grades_router, entities.router, statistics.router, inspection.router,
           exports.router, audit.router, warnrules.router, alerts.router, reviews.router, work.router)  # rules before /api/alerts/{id}
