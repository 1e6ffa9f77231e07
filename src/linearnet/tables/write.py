"""Tables out: CSV (every float as its repr, which reads back exactly) and Parquet, written atomically;
the one CSV writer of linearnet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import numpy as np

from ..outputs import atomic_write


def write_table(path, columns: dict | Iterable[dict]) -> None:
    """Write columns to CSV or Parquet (by extension: .parquet/.pq), atomically.

    ``columns`` maps names to values, or is an iterable of such maps, written one after another
    as they come (a Parquet row group each): predictions are streamed so, a chunk at a time.
    """
    parts: Iterable[dict] = [columns] if isinstance(columns, dict) else columns
    if str(path).lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        def write(tmp):
            writer = None
            try:
                for part in parts:
                    table = pa.table({k: np.asarray(v) for k, v in part.items()})
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()

    else:

        def write(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                write_csv(fh, parts)

    atomic_write(path, write)


def write_csv(fh, parts: Iterable[dict]) -> None:
    """Write each map of columns in ``parts`` to the text stream ``fh`` as CSV rows, the header once."""
    for i, part in enumerate(parts):
        text = csv_text(part)
        fh.write(text if i == 0 else text[text.index("\n") + 1 :])


def csv_text(columns: dict[str, np.ndarray]) -> str:
    """CSV with every float written so that it reads back exactly (repr)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    w.writerow(names)
    for row in zip(*(np.asarray(columns[n]).tolist() for n in names), strict=True):
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()
