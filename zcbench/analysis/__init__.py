"""Statistics, tables and plots over cached scores."""
from .stats import correlation_table, rank_metrics, score_summary

__all__ = ["correlation_table", "rank_metrics", "score_summary"]
