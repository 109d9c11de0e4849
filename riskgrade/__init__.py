"""riskgrade: credit risk classification management (信用风险分类管理) for market regulators."""

__version__ = "0.1.0"
