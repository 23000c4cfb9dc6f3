"""Pipelines: a DAG of notebooks and SQL files that re-runs only what its data changed (names only).

``graph`` (tasks and edges from workbench.toml), ``fingerprint`` (code, parameter, input
and output hashes), ``incremental`` (run or skip, and why), ``sqltask`` (a SQL task's
statement and atomic write), ``run`` (the runner), ``airflow`` (the DAG export).
"""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {"run_pipeline": ".run", "Runner": ".run", "PipelineResult": ".run",
                                      "TaskResult": ".run", "build": ".graph", "Graph": ".graph",
                                      "airflow_dag": ".airflow"})
__all__ = ["run_pipeline", "Runner", "PipelineResult", "TaskResult", "build", "Graph", "airflow_dag"]
