"""Pipelines: parameterized notebooks and SQL files that depend on one another and
re-run only when the data, code or parameters behind them changed."""
