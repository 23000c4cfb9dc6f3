"""The lake: folders of Parquet, CSV and JSON-lines files, shown in the hub as views.

Each ``[lake.NAME]`` dataset becomes one view over its files (hive partitions become
columns); the lake source itself answers through the hub, where the views live.
"""

from __future__ import annotations

from ..config import LakeDataset
from ..errors import UsageError
from ..sqltext import quote_literal
from .base import HubBacked, Source
from .warehouse import HUB_COLUMNS


def reader_sql(ds: LakeDataset, path: str) -> str:
    """The DuckDB table function that reads dataset ``ds`` at ``path``."""
    where = quote_literal(path)
    hive = "true" if ds.hive_partitioning else "false"
    fmt = ds.file_format()
    if fmt == "parquet":
        return f"read_parquet({where}, hive_partitioning = {hive}, union_by_name = true)"
    if fmt == "csv":
        return f"read_csv({where}, hive_partitioning = {hive}, union_by_name = true)"
    return f"read_json({where}, format = 'newline_delimited', hive_partitioning = {hive}, union_by_name = true)"


class LakeSource(HubBacked, Source):
    kind = "lake"
    has_schemas = False
    datasets: dict[str, LakeDataset] = {}  # set by the Session from [lake.*]

    def catalog_tables(self):
        import pandas as pd

        rows = [{"schema": "main", "table": name, "kind": "view", "rows": None} for name in self.datasets]
        return pd.DataFrame(rows, columns=["schema", "table", "kind", "rows"])

    def catalog_columns(self, schema, table):
        if table not in self.datasets:
            raise UsageError(f"lake {self.name!r} has no dataset {table!r}; it has: {', '.join(self.datasets)}")
        return self.frame(HUB_COLUMNS, db="memory", table=table, schema=None)
