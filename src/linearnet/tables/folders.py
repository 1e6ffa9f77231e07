"""The files of a folder or a pattern read whole as one table (:func:`read_table` given a folder): each file
read by the same rules with the first file's columns, categories coded with the levels of all the files, a
formula's terms coded alike."""

from __future__ import annotations

import os

import numpy as np

from .coding import is_category_column
from .columns import _choose_from, pandas_index
from .design import _one_coding
from .formula import _parse_formula
from .labels import encode_labels
from .levels import _levels_of_files
from .messages import _listing, _quote
from .rformula import text_columns, worded_columns
from .source import _Source
from .transforms import transform_state_needed, whole_column_refusal
from .whole import Table, _read_arrow, read_table


def read_files(path: str, files: list[str], target, features, levels, formula, options: dict, factors=None) -> Table:
    """Several files with the same columns as one table: each read by the rules of :func:`read_table`
    with the first file's columns, categories coded with the levels of all the files; errors name the file."""
    src = _Source(files[0], sep=options["sep"], decimal=options["decimal"])
    first_arrow = _read_arrow(src)
    names = [str(n) for n in first_arrow.column_names]
    defaults: list[str] = []
    left_out: list[str] = []
    as_text: list[str] = []  # a formula's columns read as text
    if formula is None:
        choice = _choose_from(
            first_arrow, src, names, target, features, options["require_target"], carry=options["carry"]
        )
        candidates = choice.features if features is not None else []  # default features are numbers only
        defaults, left_out, features = choice.notes, choice.left_out, choice.features
    else:
        formula, candidates, as_text = _files_formula(path, src, first_arrow, formula, options, levels, factors)
    text = [c for c in candidates if c in as_text or is_category_column(first_arrow.column(c), src.decimal)]
    coded_notes: list[str] = []
    if levels is None and text:  # the levels of every file, so that all are coded alike
        levels, coded_notes = _levels_of_files(path, target, features, formula, text, options)
    tables: list[Table] = []
    for name in files:
        table = read_table(
            name,
            target=target,
            features=features,
            levels=levels,
            formula=formula,
            factors=factors,
            _one_class=True,
            **options,
        )
        if tables and table.header != tables[0].header:
            raise ValueError(
                f"{name}: its columns ({_listing(table.header)}) differ from those of {files[0]} "
                f"({_listing(tables[0].header)}); files read as one table need the same columns"
            )
        tables.append(table)
    if factors is None and (union := _one_coding(files, [t.factors for t in tables])) is not None:
        return read_files(path, files, target, features, levels, formula, options, union)  # coded alike
    notes = list(defaults) + coded_notes  # what the default features leave out, said once
    notes += [
        f"{name}: {n}" for name, t in zip(files, tables, strict=True) for n in t.notes if n.startswith("dropped ")
    ]
    notes.append(f"read {len(files)} files as one table: {_listing([os.path.basename(f) for f in files], 5)}")
    return _joined(path, tables, notes, left_out)


def _files_formula(path: str, src: _Source, first, formula: str, options: dict, levels, factors):
    """A formula over several files: R's '.' as the first file's columns, the columns its right side reads,
    and those read as text (factor()'s, and C()'s holding a word); refused when a transform of it would learn
    from each file apart (``factors``, a model's, holds their state)."""
    names = [str(n) for n in first.column_names]
    header = [n for n in names if n not in options["carry"] and n not in pandas_index(first.schema)]
    parsed = _parse_formula(formula, options["require_target"], header)[0]
    if factors is None and (needed := transform_state_needed(parsed)):
        raise whole_column_refusal(path, needed, "a file at a time")
    as_text = text_columns(parsed.translation, levels)
    as_text += worded_columns(parsed.translation, first, src.decimal, levels, as_text)
    return parsed.translation.written, [c for c in _parse_formula(formula, False, names)[2] if c in names], as_text


def _joined(path: str, tables: list[Table], notes: list[str], left_out: list[str]) -> Table:
    """The tables of several files as one: their rows in order, class labels coded alike."""
    first = tables[0]
    y, classes = None, None
    if first.classes is not None:  # class labels: one coding for all the files, class numbers kept numbers
        numbered = all(t._numbered for t in tables)
        values = [
            int(t.classes[c]) if numbered else t.classes[c]
            for t in tables
            if t.classes and t.target is not None
            for c in t.target.tolist()
        ]
        y, classes = encode_labels(values, where=f"{path}: column {_quote(first.target_name or '')}")
    elif first.target is not None:
        y = np.concatenate([t.target for t in tables if t.target is not None])
    return Table(
        path=path,
        features=np.vstack([t.features for t in tables]),
        target=y,
        feature_names=first.feature_names,
        target_name=first.target_name,
        classes=classes,
        notes=notes,
        left_out=left_out,
        dropped_rows=[],
        coding=first.coding,
        columns=first.columns,
        formula=first.formula,
        intercept=first.intercept,
        factors=first.factors,
        header=first.header,
        carried={name: np.concatenate([t.carried[name] for t in tables]) for name in first.carried},
    )
