"""Ingest: read a delivery, normalise, validate, attribute, de-duplicate, quarantine, store."""

from .pipeline import IngestResult, TableResult, ingest

__all__ = ["IngestResult", "TableResult", "ingest"]
