"""Explore in JupyterLab with the work done in the database: ``wb.explore``, ``wb.browse``, ``wb.chart``."""

from .charts import chart, chart_sql
from .profiling import Profile, profile
from .widgets import Browser, Explorer, browse, explore

__all__ = ["chart", "chart_sql", "profile", "Profile", "explore", "browse", "Explorer", "Browser"]
