"""The indicator system (指标体系): a catalog as data, computed point-in-time as of a month end."""

from .catalog import Catalog, Indicator, load_catalog
from .compute import compute_indicators

__all__ = ["Catalog", "Indicator", "compute_indicators", "load_catalog"]
