"""Tables in and out: CSV and Parquet files, checked once where they enter, by one set of rules.

One reader serves every command and both paths, the whole file in memory (:func:`read_table`)
or a pass at a time in chunks (:func:`table_chunks`):

- **Where from**: a file, a ``.gz``/``.bz2``/``.xz``/``.zst`` file (by its extension), or ``-``
  (standard input, held in memory). CSV or Parquet is told by content.
- **CSV dialect**: the separator is found among ``, ; TAB |`` from the first lines (or given);
  with ``;`` a decimal comma is recognised (or given). R's and pandas' missing-value tokens
  (``NA``, ``NaN``, ``null``, empty, ...) read as missing. A first column with an empty name is
  row labels (as R's ``write.csv`` and pandas' ``to_csv`` write them), left out with a note;
  :func:`row_labels` names it (``""``; a Parquet file's pandas index, ``__index_level_0__``), so that
  ``carry`` can take it along with the rows.
- **Types from the values**: a column whose values are all numbers (or true/false) is numeric; a
  column of text is text; a column of numbers with some text in it is a typo, refused with its
  row and value wherever that row is (numbers written with thousands separators, currency or
  percent signs are named as such). Dates are not numbers. Default features are the numeric
  columns but the target; whatever they leave out is named in :attr:`Table.notes`.
- **Missing values**: refused with their row (``missing="error"``), or their rows dropped
  (``missing="drop"``, R's ``na.omit``), counted and named in a note, or kept with NaN in their
  features (``missing="keep"``, for predictions left empty, R's ``na.exclude``).
- **Columns carried with the rows** (``carry``): a fit's weights or clusters (columns in use, checked
  and dropped with their gaps as the features are) or ids to write beside predictions (as they are),
  read with the rows kept, whole (``Table.carried``) or in chunks (:meth:`TableChunks.carrying`).
- **Class labels**: a target read as labels (``labels=True`` whole; in chunks ``classes=``, the classes
  :func:`target_classes` finds in one pass over the target column, of a process's share too) is coded by
  one rule: whole numbers >= 0 are class numbers (classes 0 to the largest), any other value makes
  every distinct value a class, sorted; a whole read and chunks code alike.

Every problem is one ``ValueError`` naming the file, the column and the first bad row ("row 7
(line 8)": data rows count from 1, lines include the header). Reading is done by pyarrow; when
pyarrow refuses a file, a line-by-line scan finds the row to name.

The package, one concern a module (each imports only those above it):

- :mod:`.messages`: how messages name a column, a value, a row of a file;
- :mod:`.cells`: numbers as CSV writes them, missing-value tokens, column kinds, conversion to float64;
- :mod:`.source`: files, standard input, compression, format, separator and decimal sniffing;
- :mod:`.diagnose`: the line-by-line scan naming the row pyarrow refused;
- :mod:`.columns`: the header, the target and the features;
- :mod:`.labels`: class labels as codes; :mod:`.design`: categories and formulas; :mod:`.carried`: columns
  carried with the rows;
- :mod:`.chunk_labels`: class labels a chunk at a time, gathered (:class:`TargetLabels`) or coded;
- :mod:`.levels`: the levels of the categories of a table read in chunks, found by one first pass
  (:func:`category_levels`, :class:`CategoryLevels`); :mod:`.chunk_design`: a chunk's categories and formula;
- :mod:`.whole`: :func:`read_table`; :mod:`.pieces`, :mod:`.shares`, :mod:`.chunks`: :func:`table_chunks`,
  and :func:`target_classes`, the classes of a target found in one pass;
- :mod:`.plan`: whole or in chunks, by the memory budget, as a value (:func:`plan_read`); the chunk size;
- :mod:`.write`: :func:`write_table`, the one CSV writer.
"""

from __future__ import annotations

from .cells import MISSING, NA_TOKENS
from .chunk_labels import TargetLabels, target_classes, target_labels
from .chunks import TableChunks, table_chunks
from .labels import MAX_SPARSE_CLASSES, encode_labels
from .levels import CategoryLevels, category_levels
from .plan import (
    CHUNK_ROWS,
    MAX_DEFAULT_BUDGET,
    ReadPlan,
    column_kind,
    default_budget,
    plan_read,
    row_labels,
    table_values,
    whole_read_bytes,
)
from .source import SEPARATORS, detect_format
from .whole import Table, read_table
from .write import csv_text, write_csv, write_table

__all__ = [
    "Table",
    "TableChunks",
    "read_table",
    "table_chunks",
    "target_classes",
    "target_labels",
    "TargetLabels",
    "category_levels",
    "CategoryLevels",
    "column_kind",
    "row_labels",
    "whole_read_bytes",
    "table_values",
    "write_table",
    "write_csv",
    "csv_text",
    "detect_format",
    "encode_labels",
    "plan_read",
    "ReadPlan",
    "default_budget",
    "CHUNK_ROWS",
    "MAX_DEFAULT_BUDGET",
    "MAX_SPARSE_CLASSES",
    "MISSING",
    "NA_TOKENS",
    "SEPARATORS",
]
