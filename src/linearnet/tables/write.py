"""Tables out: CSV (every float as its repr, which reads back exactly; tab-separated for a ``.tsv``
file) and Parquet, written atomically: the one table writer of linearnet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import numpy as np

from ..outputs import atomic_write


def write_table(path, columns: dict | Iterable[dict]) -> None:
    """Write columns to CSV or Parquet (by extension: .parquet/.pq; .tsv: CSV separated by tabs), atomically.

    ``columns`` maps names to values, or is an iterable of such maps, written one after another
    as they come (a Parquet row group each): predictions are streamed so, a chunk at a time. A value
    masked (a NumPy masked array) or None is an empty cell in a CSV, a null in Parquet.
    """
    parts: Iterable[dict] = [columns] if isinstance(columns, dict) else columns
    if str(path).lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        def write(tmp):
            writer = None
            try:
                for part in parts:
                    table = pa.table({k: _arrow(v) for k, v in part.items()})
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()

    else:

        def write(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                write_csv(fh, parts, sep=separator_for(path))

    atomic_write(path, write)


def _arrow(values):
    """A column as a pyarrow array: masked values null; a column of None alone is text (as the class names
    or carried text it stands for in other chunks)."""
    import pyarrow as pa

    if np.ma.isMaskedArray(values):
        return pa.array(np.ma.getdata(values), mask=np.ma.getmaskarray(values))
    array = pa.array(np.asarray(values) if not isinstance(values, list) else values)
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def separator_for(path) -> str:
    """The separator a CSV written to ``path`` takes: a tab for a ``.tsv`` file, else a comma."""
    return "\t" if str(path).lower().endswith(".tsv") else ","


def write_csv(fh, parts: Iterable[dict], *, sep: str = ",") -> None:
    """Write each map of columns in ``parts`` to the text stream ``fh`` as CSV rows, the header once.

    The rows are those of :func:`csv_text`; columns of float64 numbers alone are joined as text (each
    value its repr) instead of a ``csv.writer`` row with a ``repr`` a value, 2-3x as fast.
    """
    for i, part in enumerate(parts):
        values = [np.asarray(v) for v in part.values()]
        plain = not any(np.ma.isMaskedArray(v) for v in part.values())
        if not (plain and all(v.dtype == np.float64 and v.ndim == 1 for v in values)):
            text = csv_text(part, sep=sep)  # class names and other values, quoted where they must be
            fh.write(text if i == 0 else text[text.index("\n") + 1 :])
            continue
        if i == 0:
            fh.write(csv_text({name: np.empty(0) for name in part}, sep=sep))  # the header, quoted where it must be
        if len(values) == 1:  # one repr a value, joined: 15% faster than a % a row
            rows = values[0].tolist()
            fh.write("\n".join(map(repr, rows)) + "\n" if rows else "")
        else:
            row = sep.join(["%r"] * len(values)) + "\n"
            fh.write("".join(map(row.__mod__, zip(*(v.tolist() for v in values), strict=True))))


def csv_text(columns: dict[str, np.ndarray], *, sep: str = ",") -> str:
    """CSV with every float written so that it reads back exactly (repr)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    names = list(columns)
    w.writerow(names)
    cells = (columns[n].tolist() if np.ma.isMaskedArray(columns[n]) else np.asarray(columns[n]).tolist() for n in names)
    for row in zip(*cells, strict=True):  # a masked value is None: an empty cell
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()
