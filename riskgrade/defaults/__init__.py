"""Shipped configuration: indicator catalog, scorecard, grading, labels (YAML)."""
