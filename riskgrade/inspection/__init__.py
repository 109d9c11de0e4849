"""Risk-weighted double-random inspection (双随机、一公开): tasks, plans, inspectors, results, effectiveness."""

from .config import SamplingConfig, load_sampling
from .plan import ALGORITHM, draw_key, make_plan, plan_query

__all__ = ["ALGORITHM", "SamplingConfig", "draw_key", "load_sampling", "make_plan", "plan_query"]
