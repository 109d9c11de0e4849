"""The web service: FastAPI application (``app.py``), request context and permissions (``deps.py``)."""
