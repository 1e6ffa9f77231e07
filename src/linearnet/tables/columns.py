"""Which columns a table is read with: the header checked (every column named once), the target and the
features checked against it, and the default features (the numeric columns but the target) with a note
naming what they leave out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .cells import _KIND_WORDS, _kind, _not_a_number
from .messages import _listing, _quote, _where
from .source import _Source


def _check_header(path, names: list[str]) -> None:
    """Every column needs a name of its own (in time linear in the number of columns)."""
    for j, name in enumerate(names, start=1):
        if name == "":
            raise ValueError(f"{path}: column {j} has no name in the header; name every column")
    counts = Counter(names)
    for name in names:
        if counts[name] > 1:
            raise ValueError(
                f"{path}: column {_quote(name)} appears {counts[name]} times in the header; "
                f"give each column its own name"
            )


@dataclass
class _Choice:
    features: list[str]
    notes: list[str]
    left_out: list[str]


def _choose(
    src: _Source,
    names: list[str],
    kind: Callable[[str], tuple[str, int | None]],
    value: Callable[[str, int], Any],
    target,
    features,
    require_target,
    carry: Sequence[str] = (),
    index: Sequence[str] = (),
) -> _Choice:
    """Check the header, the target, the features and the columns carried with the rows; default features:
    the numeric columns but the target, the carried ones and the ``index`` (row labels pandas wrote).

    Whatever the default leaves out is named in a note; a numeric column with a typo is refused.
    """
    path = src.name
    labels = src.fmt == "csv" and len(names) > 1 and names[0] == ""
    if labels:
        names = names[1:]  # row labels: not a feature, not checked as a name
    notes = _label_notes(src, labels, index)
    columns = _listing(names)
    _check_header(path, names)
    if target is not None and target not in names:
        raise ValueError(f"{path}: has no column {_quote(target)} for the target; its columns are: {columns}")
    if target is None and require_target:
        raise ValueError(f"{path}: name the target column (--target); its columns are: {columns}")
    for name in carry:
        if name not in names and not (labels and name == ""):  # the row labels may be carried
            raise ValueError(f"{path}: has no column {_quote(name)}; its columns are: {columns}")
    if features is not None:
        _check_features(path, names, list(features), target)
        return _Choice(list(features), notes, [])
    chosen, left_out = _default_features(src, names, kind, value, target, [*carry, *index])
    if left_out:
        parts = [
            f"{'the ' + word + ' column' if len(cols) == 1 else 'the ' + word + ' columns'} {_listing(cols)}"
            for word, cols in left_out.items()
        ]
        notes.append(
            f"left out {' and '.join(parts)}: features are numeric columns; --features names the columns to use"
        )
    return _Choice(chosen, notes, [c for cols in left_out.values() for c in cols])


def _label_notes(src: _Source, labels: bool, index: Sequence[str]) -> list[str]:
    """What is read as row labels: a CSV's unnamed first column (``labels``), or the ``index`` pandas wrote."""
    notes = []
    if labels:
        notes.append(
            "the header is one field short: the first field of each row read as its row label (as R's "
            "write.table writes row names and read.table reads them), not as a feature"
            if src.header is not None
            else "column 1 has no name: read as row labels (as R's write.csv and pandas' to_csv write "
            "them), not as a feature"
        )
    if index:
        notes.append(
            f"{'column' if len(index) == 1 else 'columns'} {_listing(list(index))}: the index pandas wrote, read as "
            f"row labels, not as {'a feature' if len(index) == 1 else 'features'}"
        )
    return notes


def _default_features(
    src: _Source,
    names: list[str],
    kind: Callable[[str], tuple[str, int | None]],
    value: Callable[[str, int], Any],
    target,
    carry: Sequence[str] = (),
) -> tuple[list[str], dict[str, list[str]]]:
    """The numeric columns but the target and those carried, and the others by what they hold; a typo is
    refused."""
    features: list[str] = []
    left_out: dict[str, list[str]] = {}
    for name in names:
        if name == target or name in carry:
            continue
        what, at = kind(name)
        if what == "number":
            features.append(name)
        elif what == "typo":
            assert at is not None
            why = _not_a_number(value(name, at), src.decimal)
            raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, at + 1)}: {why}")
        else:
            left_out.setdefault(_KIND_WORDS[what], []).append(name)
    if not features:
        carried = f" and the carried column{'s' * (len(carry) > 1)} {_listing(list(carry))}" if carry else ""
        raise ValueError(
            f"{src.name}: has no numeric column besides the target {_quote(target)}{carried}; "
            f"its columns are: {_listing(names)}"
        )
    return features, left_out


def _check_features(path: str, names: list[str], features: list[str], target: str | None) -> None:
    """Features named: columns of the file, each named once, the target not among them."""
    present = set(names)
    missing = [f for f in features if f not in present]
    if missing:
        raise ValueError(
            f"{path}: has no column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(_quote(m) for m in missing[:20])}{', ...' if len(missing) > 20 else ''}; "
            f"its columns are: {_listing(names)}"
        )
    if target is not None and target in features:
        raise ValueError(f"{path}: column {_quote(target)} is the target and cannot also be a feature")
    counts = Counter(features)
    dupes = sorted(f for f, c in counts.items() if c > 1)
    if dupes:
        raise ValueError(f"{path}: feature column{'s' if len(dupes) > 1 else ''} {_listing(dupes)} named twice")


def _choose_from(
    columns,
    src: _Source,
    names: list[str],
    target,
    features,
    require_target,
    *,
    head: bool = False,
    carry: Sequence[str] = (),
) -> _Choice:
    """:func:`_choose` with the kinds and values of ``columns`` (a whole table, or, with ``head``, the
    first rows of a file read in chunks: a column empty there may hold numbers further on. Parquet says
    so in its schema; a CSV column empty in its first rows is left out with a note saying why)."""

    def kind(name: str) -> tuple[str, int | None]:
        import pyarrow as pa

        found = _kind(columns.column(name), src.decimal)
        if head and found[0] == "empty":
            t = columns.schema.field(name).type
            if src.fmt == "parquet" and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
                return "number", None
            return "empty so far", None
        return found

    index = [] if features is not None else [n for n in pandas_index(columns.schema) if n in names and n != target]
    index = [n for n in index if n not in carry]  # default features leave the index out, and say so
    return _choose(
        src,
        names,
        kind,
        lambda n, i: columns.column(n)[i].as_py(),
        target,
        features,
        require_target,
        carry,
        index,
    )


def pandas_index(schema) -> list[str]:
    """The columns of a Parquet file that hold the index pandas wrote (``__index_level_0__``, or the index's
    own names), as its metadata lists them; none for a file pandas did not write (or wrote a range index to)."""
    import json

    try:
        found = json.loads((schema.metadata or {}).get(b"pandas", b"{}")).get("index_columns", [])
    except (ValueError, AttributeError):
        return []
    return [name for name in found if isinstance(name, str)]  # a range index is a description, not a column
