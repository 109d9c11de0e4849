"""Scoring: the expert and the trained scorecard (one output protocol, :mod:`.base`), grades, labels."""

from .base import SCORE_SQL_KEYS, RiskModel, ScoreSQL
from .expert import ExpertScorecard, ScorecardConfig, expert_for, load_scorecard
from .grading import grade_sql, labels_sql, load_grading, load_labels

__all__ = ["SCORE_SQL_KEYS", "ExpertScorecard", "RiskModel", "ScoreSQL", "ScorecardConfig", "expert_for", "grade_sql",
           "labels_sql", "load_grading", "load_labels", "load_scorecard"]
