"""A table read whole into memory (:func:`read_table`): one file, or the files of a folder or a pattern as
one table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .carried import gaps, read_carried, verbatim
from .cells import _check_missing, _numbers, as_numpy, epoch_notes
from .coding import (
    all_levels_column,
    check_reference,
    formula_intercept,
    is_category_column,
)
from .columns import _check_header, _choose_from, pandas_index
from .design import (
    _apply_formula,
    _categorical,
    _dummies,
    _gaps,
    _transform_state,
    coded_features,
)
from .diagnose import _diagnosis
from .formula import _parse_formula
from .labels import encode_labels, is_class_numbers
from .levels import _category_levels, _ordered_notes
from .messages import _dropped_note, _listing, _quote, _reason
from .rformula import as_r_text, text_columns, translate, worded_columns
from .source import _csv_options, _files, _Source
from .transforms import offset_notes


@dataclass
class Table:
    path: str
    features: np.ndarray  # (n, p) float64
    target: np.ndarray | None  # (n,) float64, or int64 class codes when read as labels
    feature_names: list[str]
    target_name: str | None
    classes: list[str] | None = None  # class names, when the target was read as labels
    notes: list[str] = field(default_factory=list)  # what the defaults left out or dropped, one line each
    left_out: list[str] = field(default_factory=list)  # columns the default features left out
    dropped_rows: list[int] = field(default_factory=list)  # rows (from 1) dropped for missing values
    coding: dict[str, list[str]] = field(default_factory=dict)  # text column -> its levels, the first the reference
    columns: list[str] = field(default_factory=list)  # the file's columns behind feature_names
    formula: str | None = None  # the Wilkinson formula the design was made from
    intercept: bool = True  # whether the model has one (a formula may leave it out: "- 1")
    factors: dict[str, list] = field(default_factory=dict)  # a formula's categorical terms -> their levels
    header: list[str] = field(default_factory=list)  # every column of the file, in order
    carried: dict[str, np.ndarray] = field(default_factory=dict)  # columns carried with the rows (``carry``)
    _numbered: bool = field(default=False, repr=False)  # classes are class numbers (whole numbers >= 0)

    @property
    def num_rows(self) -> int:
        return len(self.features)


def _read_arrow(src: _Source, text: list[str] = []):  # noqa: B006 - never changed
    """The file as an arrow table; a CSV's columns ``text`` read as text, as written."""
    import pyarrow as pa

    try:
        if src.fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(src.arrow())
            _check_header(src.name, [str(n) for n in pf.schema_arrow.names])  # pyarrow fails on twins
            return pf.read()
        import pyarrow.csv as pcsv

        try:
            types = {name: pa.string() for name in text}
            return pcsv.read_csv(src.arrow(), **_csv_options(src, column_types=types))
        except pa.ArrowInvalid:  # perhaps a quoted value spanning lines across pyarrow's blocks: read again
            return pcsv.read_csv(src.arrow(), **_csv_options(src, newlines=True, column_types=types))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        found = _diagnosis(src) if src.fmt == "csv" else None
        raise ValueError(found or f"{src.name}: cannot be read as {src.fmt.upper()} ({_reason(exc)})") from None


# long: the one reader's entry, its docstring the reference of every option
def read_table(
    path,
    *,
    target: str | None = None,
    features: list[str] | None = None,
    require_target: bool = True,
    labels: bool = False,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    levels: dict[str, list[str]] | None = None,
    formula: str | None = None,
    carry: list[str] | None = None,
    carried_in_use: bool = False,
    factors: dict[str, list] | None = None,
    intercept: bool = True,
    reference: dict[str, str] | None = None,
    _one_class: bool = False,  # a file of several read as one table may hold a single class
) -> Table:
    """Read a CSV or Parquet file (or ``-``, standard input) into float64 arrays, validating every value.

    Features default to every numeric column but the target; what that leaves out is named in
    ``Table.notes``. With ``require_target=False`` and no ``target`` (prediction), only the
    features are read. With ``labels=True`` the target holds class labels (whole numbers or
    text), returned as int64 codes. ``missing="drop"`` drops the rows with a missing value in a
    column in use (and says so in a note) instead of refusing the file; ``missing="keep"`` keeps them,
    their gaps NaN (in a category's coded columns too, and in every term of a formula). ``sep`` (one of
    ``, ; tab |``) and ``decimal`` (``.`` or ``,``) override what is read off the file.

    A text or boolean column named in ``features`` is treatment-coded as R's ``lm`` codes a factor: its levels
    sorted by code point (a boolean's ``FALSE``, ``TRUE``), the first the reference (or the one ``reference``
    names: ``{"Origin": "non-USA"}``), one 0/1 column ``name[T.level]`` for each other level (``Table.coding``
    keeps the levels, the reference first). Without an ``intercept`` the first category keeps every level,
    ``name[level]``, as R's ``y ~ a + b - 1`` does. ``levels`` gives the levels instead (a fitted model's): a
    value outside them is refused with its row. A note says when R, sorting by the locale, would take another
    reference.

    ``formula`` (``"price ~ area + C(city) + np.log(age) + area:rooms"``) names the target and the
    columns in place of ``target`` and ``features``; formulaic builds the design from the columns
    read by these rules (categories keep their levels), and ``feature_names`` are its terms. ``factors`` gives
    the levels of its categorical terms (a fitted model's ``Table.factors``, ``{"C(g)": [1.0, 2.0]}``): a value
    outside them is refused with its row; without, they are those of the rows read.

    ``carry`` names columns read beside the features, not as features (the default features leave them
    out): ``Table.carried`` holds their values for the rows kept (float64 for a column of numbers, NaN
    where missing; else Python values, None where missing). With ``carried_in_use`` they are columns in
    use, as a fit's weights or clusters are: a gap is refused, or its row dropped under ``missing="drop"``,
    and a column of numbers is checked as a feature is.
    """
    _check_missing(missing)
    carry = list(dict.fromkeys(carry or []))
    options = dict(require_target=require_target, labels=labels, missing=missing, sep=sep, decimal=decimal)
    options.update(carry=carry, carried_in_use=carried_in_use)
    files = _files(path)
    if files is not None:
        options.update(intercept=intercept, reference=reference)
        from .folders import read_files  # which reads each file by this function

        return read_files(os.fspath(path), files, target, features, levels, formula, options, factors)
    parsed, target, features = _formula_columns(formula, target, features, require_target)
    src = _Source(path, sep=sep, decimal=decimal)
    text, given = verbatim(carry, carried_in_use, features), (parsed, target, features)
    table, as_text, (parsed, target, features) = _read_formula_columns(src, formula, given, options, levels, text)
    names = [str(n) for n in table.column_names]
    if table.num_rows == 0:
        raise ValueError(f"{src.name}: has a header but no rows")
    choice = _choose_from(table, src, names, target, features, require_target, carry=carry)
    chosen = choice.features
    _check_integers(src, table, chosen + ([target] if target and not labels else []))
    coding, categories, intercept = _categories(
        src, table, chosen, levels, features, parsed, reference, intercept, text=as_text
    )
    chosen_numbers = [name for name in chosen if name not in categories]
    numbers = {name: _numbers(src, name, table.column(name), 1, missing=missing) for name in chosen_numbers}
    y, label_values = _target_values(src, table, target, labels, missing)
    carried = read_carried(src, table, carry, in_use=carried_in_use, missing=missing)
    incomplete = _incomplete(src, table, categories, [*numbers.values(), y], label_values, missing)
    incomplete |= gaps(carried) if carried_in_use else False
    notes, dropped = _read_notes(choice.notes, table, chosen_numbers, target, labels), []
    keep = np.ones(table.num_rows, dtype=bool)
    if missing == "drop" and incomplete.any():
        in_use = chosen + ([target] if target else []) + (carry if carried_in_use else [])
        keep, dropped, y, label_values = _drop(src, incomplete, in_use, y, label_values)
        notes.append(_dropped_note(dropped, len(dropped), len(keep)))
    full = all_levels_column(chosen, categories, intercept)
    X, texts = _coded(src, table, chosen, categories, numbers, coding, keep, full, reference, notes)
    notes += _ordered_notes(table, categories, coding)
    read = dict(
        path=src.name,
        notes=notes,
        left_out=choice.left_out,
        dropped_rows=dropped,
        coding=coding,
        columns=chosen,
        header=names,
        carried={name: values[keep] for name, values in carried.items()},
    )
    if parsed is not None:
        complete = ~incomplete if missing == "keep" else keep  # "keep": the formula of the complete rows
        design = (src, formula or "", parsed, numbers, texts, coding)
        table = _formula_design(*design, target, y, read, complete, gaps_kept=missing == "keep", factors=factors)
        if label_values is not None:  # class labels: the formula gives the features, the labels the target
            least = 1 if _one_class else 2
            table.target, table.classes, table._numbered = _coded_labels(src, target, None, label_values, least=least)
            table.target_name = target
        return table
    y, classes, numbered = _coded_labels(src, target, y, label_values, least=1 if _one_class else 2)
    return Table(
        features=X,
        target=y,
        feature_names=coded_features(chosen, coding, intercept),
        target_name=target,
        intercept=intercept,
        classes=classes,
        _numbered=numbered,
        **read,
    )


def _read_notes(notes: list[str], table, numbers: list[str], target: str | None, labels: bool) -> list[str]:
    """The notes of the columns chosen, and one for each column of dates or times read as numbers."""
    return [*notes, *epoch_notes(table, [*numbers, None if labels else target])]


def _coded_labels(src: _Source, target, y, label_values, *, least: int):
    """The target as class codes, the class names and whether they are class numbers (whole numbers), when
    read as labels; else as it is, None and False."""
    if label_values is None:
        return y, None, False
    codes, classes = encode_labels(label_values, where=f"{src.name}: column {_quote(target or '')}", least=least)
    return codes, classes, is_class_numbers(label_values)


def _read_formula_columns(src: _Source, formula: str | None, given: tuple, options: dict, levels, text: list[str]):
    """The file as an arrow table, ``text`` read as text (for a formula, also the columns it uses only inside factor()
    or only inside C() holding a word: listed too); ``given`` found from the file's columns for R's '.'."""
    if formula is None:
        return _read_arrow(src, text), [], given
    as_text = text_columns(given[0].translation if given[0] is not None else translate(formula), levels)
    table = _read_arrow(src, text + as_text)
    if given[0] is None:  # R's '.': the file's columns
        header = [n for n in table.column_names if n not in options["carry"] and n not in pandas_index(table.schema)]
        given = _parse_formula(formula, options["require_target"], header)
    again = text_columns(given[0].translation, levels)  # a column of the '.' is also a plain term
    again += worded_columns(given[0].translation, table, src.decimal, levels, again)  # C(x) holding a word
    if again != as_text:
        as_text = again
        table = _read_arrow(src, text + as_text)
    return as_r_text(table, as_text), as_text, given


def _formula_columns(formula: str | None, target, features, require_target: bool):
    """The parsed formula (None without one), and the target and the columns it reads (else those given)."""
    if formula is None:
        return None, target, features
    if target is not None or features is not None:
        raise ValueError("give a formula, or a target and features, not both")
    return _parse_formula(formula, require_target)


def _target_values(
    src: _Source, table, target: str | None, labels: bool, missing: str
) -> tuple[np.ndarray | None, np.ndarray | list[Any] | None]:
    """The target as numbers (NaN where missing), or, with ``labels``, its values as they are."""
    if target is None:
        return None, None
    if labels:
        return None, _label_values(table.column(target))
    return _numbers(src, target, table.column(target), 1, missing=missing), None


def _label_values(column) -> np.ndarray | list[Any]:
    """A column's labels: a column of integers without a gap as an int64 array (class numbers, read in one
    step: a million labels in 5 ms, where a list of them takes 0.4 s to make and check), else its values."""
    import pyarrow as pa

    if pa.types.is_integer(column.type) and column.null_count == 0 and not pa.types.is_uint64(column.type):
        return as_numpy(column, np.int64)
    return column.to_pylist()


def _formula_table(src: _Source, formula: str, parsed, frame: dict, target, y, read: dict, rows, factors) -> Table:
    """The table of a formula's design, built from the columns read (``frame``, the file's ``rows``) and the
    target ``y``, its categorical terms coded with ``factors`` when given."""
    if y is not None and target is not None:
        frame[target] = y
    X, y, design, intercept, levels = _apply_formula(
        src, formula, parsed, frame, y is not None, rows=rows, factors=factors
    )
    name = parsed.target_name if y is not None else None
    notes = [parsed.named(n) for n in offset_notes(parsed, name)] if name is not None else []  # R's offset()
    notes += [parsed.scale_note] if y is None and parsed.scale_note else []  # predictions of log(y)
    notes += parsed.coding_notes if y is not None else []
    return Table(
        features=X,
        target=y,
        feature_names=design,
        target_name=name,
        formula=parsed.translation.written,  # R's '.' expanded: predict needs no header
        intercept=intercept,
        factors=levels,
        **{**read, "notes": [*read["notes"], *notes]},
    )


def _formula_design(
    src: _Source, formula: str, parsed, numbers, texts, coding, target, y, read, complete, *, gaps_kept: bool, factors
) -> Table:
    """The formula's design of the ``complete`` rows of ``numbers`` (the file's rows) and ``texts`` (the rows
    kept); with ``gaps_kept`` (``missing="keep"``: every row kept), NaN in the rows with a gap."""
    rows = np.flatnonzero(complete) + 1  # each design row's row in the file, for messages
    if factors is None and not complete.all():  # as R, transforms learn from every row, before rows are dropped
        factors = _transform_state(src, formula, parsed, numbers) or None
    if not gaps_kept:
        frame = {name: values[complete] for name, values in numbers.items()}
        frame.update({name: _categorical(values, coding[name]) for name, values in texts.items()})
        return _formula_table(src, formula, parsed, frame, target, y, read, rows, factors)
    frame = {name: values[complete] for name, values in numbers.items()}
    frame.update(
        {
            name: _categorical([v for v, c in zip(values, complete, strict=True) if c], coding[name])
            for name, values in texts.items()
        }
    )
    table = _formula_table(src, formula, parsed, frame, target, None if y is None else y[complete], read, rows, factors)
    X = np.full((len(complete), table.features.shape[1]), np.nan)
    X[complete] = table.features
    table.features = X
    if y is not None:
        table.target = y
    return table


def _check_integers(src: _Source, table, numeric: list[str]) -> None:
    """Refuse a typo that pyarrow read as an integer: it reads 0x5 as 5. Only integer columns can hide one,
    and read as decimal numbers (float64) they refuse it: those columns alone are parsed again."""
    import pyarrow as pa

    integers = [n for n in numeric if pa.types.is_integer(table.column(n).type)]
    if src.fmt != "csv" or not integers:
        return
    import pyarrow.csv as pcsv

    try:
        pcsv.read_csv(
            src.arrow(),
            **_csv_options(src, include_columns=integers, column_types=dict.fromkeys(integers, pa.float64())),
        )
    except pa.ArrowInvalid:
        found = _diagnosis(src, numeric)
        if found:
            raise ValueError(found) from None


def _categories(
    src: _Source,
    table,
    chosen: list[str],
    levels: dict[str, list[str]] | None,
    features,
    parsed,
    reference,
    intercept,
    text=(),
) -> tuple[dict[str, list[str]], list[str], bool]:
    """The coding known beforehand (a fitted model's ``levels``, which code exactly its categories), the
    columns coded as categories (those, or, without ``levels``, ``text`` (a formula's factor() columns) and the
    text and boolean columns among features named) and whether the model has an intercept (a formula's own); a
    reference level of another column is refused."""
    coding = {k: list(v) for k, v in (levels or {}).items() if k in chosen}
    named = features is not None
    categories = [
        name
        for name in chosen
        if name in coding
        or (levels is None and (name in text or (named and is_category_column(table.column(name), src.decimal))))
    ]
    check_reference(src.name, reference, categories)
    return coding, categories, intercept if parsed is None else formula_intercept(parsed)


def _incomplete(
    src: _Source,
    table,
    categories: list[str],
    numbers: list[np.ndarray | None],
    labels: np.ndarray | list | None,
    missing: str,
) -> np.ndarray:
    """The rows with a missing value in a category, a column of numbers (NaN where missing) or the labels."""
    incomplete = np.zeros(table.num_rows, dtype=bool)
    for name in categories:
        incomplete |= _gaps(src, name, table.column(name), missing=missing)
    for values in numbers:
        if values is not None:
            incomplete |= np.isnan(values)
    if labels is not None and not isinstance(labels, np.ndarray):  # an array of labels has no gap
        incomplete |= np.array([v is None or v == "" or (isinstance(v, float) and v != v) for v in labels])
    return incomplete


def _drop(src: _Source, incomplete: np.ndarray, in_use: list[str], y, label_values):
    """The rows kept under ``missing="drop"``, the rows dropped (from 1), and the target's kept values."""
    dropped = (np.flatnonzero(incomplete) + 1).tolist()
    if len(dropped) == len(incomplete):
        raise ValueError(
            f"{src.name}: every row has a missing value in the columns in use ({_listing(in_use)}); no row is left"
        )
    keep = ~incomplete
    y = None if y is None else y[keep]
    if isinstance(label_values, np.ndarray):
        label_values = label_values[keep]
    elif label_values is not None:
        label_values = [label_values[i] for i in np.flatnonzero(keep)]
    return keep, dropped, y, label_values


def _coded(
    src: _Source,
    table,
    chosen: list[str],
    categories: list[str],
    numbers: dict[str, np.ndarray],
    coding: dict[str, list[str]],
    keep: np.ndarray,
    full: str | None,
    reference: dict[str, str] | None,
    notes: list[str],
) -> tuple[np.ndarray, dict[str, list]]:
    """The kept rows' features, categories treatment-coded (their levels, when not given, those of the
    rows kept, added to ``coding``; the category ``full`` with every level), and the values of each category's
    kept rows; a note for a reference R would not take."""
    blocks = []
    texts: dict[str, list] = {}
    every = bool(keep.all())
    for name in chosen:
        if name in categories:
            kept = [v for v, k in zip(table.column(name).to_pylist(), keep, strict=True) if k]
            if name not in coding:
                ref = (reference or {}).get(name)
                found = _category_levels(src, name, table.column(name), kept, keep, name == full, ref)
                coding[name] = found.levels
                notes += [found.note] if found.note else []
            blocks.append(_dummies(src, name, kept, coding[name], keep, name == full))
            texts[name] = kept
        else:
            blocks.append((numbers[name] if every else numbers[name][keep])[:, None])
    return _side_by_side(blocks, int(keep.sum())), texts


def _side_by_side(blocks: list[np.ndarray], rows: int) -> np.ndarray:
    """The blocks' columns side by side in one C-ordered array, copied a few thousand rows at a time so that
    the rows being written stay in the cache (20 columns of a million rows: 0.14 s, against 0.64 s for
    ``np.hstack``, which writes each column down the whole array)."""
    X = np.empty((rows, sum(b.shape[1] for b in blocks)))
    step = 4096
    for s in range(0, rows, step):
        j = 0
        for b in blocks:
            X[s : s + step, j : j + b.shape[1]] = b[s : s + step]
            j += b.shape[1]
    return X
