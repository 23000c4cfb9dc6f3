"""``wb.export``: stream a query's result to a Parquet or CSV file, never a partial one.

The file is written beside the target and renamed into place when complete; a failure
or a kill leaves no partial file under the final name. Memory stays bounded by a batch.
To ``s3://``, the file is written whole in a local temporary folder first and then
uploaded as one object (a PUT, or a multipart upload completed in its last call): S3
shows an object only once complete, so a reader never sees half of one.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import UsageError
from ..storage import atomic, remote
from .warehouse import WriteResult

if TYPE_CHECKING:
    from ..query.session import Session


def _progress(total: int | None, desc: str, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, disable=not enabled, file=sys.stderr)


def export(wb: "Session", query: str, path: str | os.PathLike[str], *, source: str | None = None,
           format: str | None = None, params: Mapping[str, Any] | None = None, progress: bool | None = None,
           _frame=None) -> WriteResult:
    """Stream the result of ``query`` to a Parquet or CSV file, without a DataFrame.

    Memory stays bounded by one batch. The file appears under its name only when
    complete; a failure removes the partial file.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if remote.is_remote(path):
        return _export_remote(wb, query, str(path), source=source, format=format, params=params,
                              progress=progress, _frame=_frame or sys._getframe(1))
    dest = Path(path)
    fmt = (format or dest.suffix.lstrip(".")).lower()
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"cannot tell the format of {dest.name!r}; name it .parquet or .csv, or pass format=")
    dest.parent.mkdir(parents=True, exist_ok=True)
    batches = wb.sql_batches(query, source, params=params, _frame=_frame or sys._getframe(1))
    rows = 0
    writer = None
    with atomic.writing(dest) as tmp, _progress(None, f"export {dest.name}", progress) as bar:
        try:
            for batch in batches:
                if writer is None:
                    schema = batch.schema
                    writer = (pq.ParquetWriter(str(tmp), schema, compression="zstd") if fmt == "parquet"
                              else pacsv.CSVWriter(str(tmp), schema))
                elif batch.schema != schema:
                    batch = batch.cast(schema)
                writer.write_batch(batch) if fmt == "csv" else writer.write_batch(batch, row_group_size=batch.num_rows)
                rows += batch.num_rows
                bar.update(batch.num_rows)
        except BaseException:
            if writer is not None:  # closed before the temp file is removed; its own error would hide ours
                with suppress(Exception):
                    writer.close()
            raise
        if writer is not None:
            writer.close()  # before the rename: the file is complete only then
    return WriteResult(str(dest), rows)


def _export_remote(wb: "Session", query: str, url: str, *, source, format, params, progress, _frame) -> WriteResult:
    """Export to a local temporary file, then upload it whole as the object ``url``."""
    import tempfile

    name = url.rstrip("/").rsplit("/", 1)[-1]
    fmt = (format or Path(name).suffix.lstrip(".")).lower()
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"cannot tell the format of {name!r}; name it .parquet or .csv, or pass format=")
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as folder:
        local = Path(folder) / f"export.{fmt}"
        result = export(wb, query, local, source=source, format=fmt, params=params, progress=progress, _frame=_frame)
        remote.put_file(local, url, remote.S3Options.from_config(wb.config))
    return WriteResult(url, result.rows)
