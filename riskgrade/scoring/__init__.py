"""Scoring: expert scorecard (and, next, trained scorecard and challenger), grades, labels."""

from .expert import ExpertScorecard, load_scorecard
from .grading import grade_sql, labels_sql, load_grading, load_labels

__all__ = ["ExpertScorecard", "grade_sql", "labels_sql", "load_grading", "load_labels", "load_scorecard"]
