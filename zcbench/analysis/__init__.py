"""Statistics, tables and plots over cached scores."""
from .stats import correlation_table, rank_metrics

__all__ = ["correlation_table", "rank_metrics"]
