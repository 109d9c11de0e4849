"""The API face: the FastAPI application (``app.py``), its request and response bodies (``schemas.py``),
the request context (``deps.py``) and one router per area (``routes/``), all over :mod:`riskgrade.service`."""
