"""A table read a pass at a time (:func:`table_chunks`), by the rules :func:`~linearnet.tables.read_table`
reads it whole; of one file, several, or this process's share of them."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..memory import release_arrow_unused, return_freed_blocks
from . import ahead, plan
from .carried import gaps, is_number_column, read_carried, verbatim
from .cells import _check_missing, _kind, _numbers, epoch_notes, number_matrix
from .chunk_design import ChunkDesign, category_kinds, formula_columns
from .chunk_labels import _Coder, _coder, _Collector
from .columns import _choose_from
from .diagnose import _diagnosis
from .levels import CategoryLevels, _LevelCollector, most_levels, unknown_level
from .messages import _DROPPED_SHOWN, _dropped_note, _listing, _reason
from .pieces import _csv_first_rows, _integers, _parquet_head, _Part, _Parts, _piece_types
from .shares import _check_share, _file_parts, _shares
from .source import _files, _Source


@dataclass
class TableChunks:
    """A table read a pass at a time: calling it starts a pass that yields ``(X, y)`` float64 chunks.

    The table is a file, or the files of a folder or a pattern read one after another (in sorted
    order), and with ``share=(rank, size)`` this process's share of them (see :func:`table_chunks`).
    The columns, types, notes and messages are those :func:`read_table` gives for the same file;
    messages name the file and the row in that file. ``dropped_rows`` counts the rows the last pass
    dropped for missing values (``missing="drop"``), ``rows_read`` the rows it read, ``dropped_note``
    says which. Without a target (``target_name`` None) ``y`` is an empty array; with :attr:`classes`
    (the target read as class labels) it holds int64 codes, each row's index in ``classes``. ``on_read(done,
    size)``, when set, is called after each chunk of a pass with the bytes read and ``share_bytes``
    (None where unknown; through a Parquet file, in proportion to the rows read).

    After one pass in file order, :meth:`shuffled` visits the chunks (CSV pieces, Parquet row
    groups, of every file) in a random order, where the files can be read out of order (plain CSV
    or Parquet files, not standard input or a compressed CSV: those are visited in file order).
    """

    path: str
    feature_names: list[str]
    target_name: str | None
    notes: list[str]
    left_out: list[str]
    _pieces: _Parts
    missing: str = "error"
    dropped_rows: int = 0  # in the last pass
    rows_read: int = 0  # in the last pass, dropped ones included
    on_read: Callable[[int, int | None], object] | None = None  # a progress bar
    share: tuple[int, int] | None = None  # (rank, size): this process reads share rank of size
    _several: bool = False  # a folder or a pattern: notes name the file of a row
    carry: list[str] = field(default_factory=list)  # columns carried with the rows (see :meth:`carrying`)
    carried_in_use: bool = False  # whether they are columns in use (a fit's weights or clusters)
    _carried_numbers: frozenset[str] = frozenset()  # the carried columns of numbers, from the first rows
    _dropped: list[tuple[_Part, int]] = field(default_factory=list)  # the first few dropped rows, by part
    _labels: _Coder | _Collector | None = None  # the target read as class labels: coded, or gathered
    _design: ChunkDesign | None = None  # categories coded, or a formula applied (else columns of numbers)
    _collector: _LevelCollector | None = None  # a first pass, finding the categories' levels
    _ahead: bool = False  # a pass is being read ahead of its caller (see :meth:`_ahead_of_caller`)
    _release_every: int = 0  # bytes read between two releases of pyarrow's unused memory (0: every chunk)

    @property
    def columns(self) -> list[str]:
        """The file's columns the features come from."""
        return self._design.columns if self._design is not None else self.feature_names

    @property
    def coding(self) -> dict[str, list[str]]:
        """Each category and its levels, the first the reference (as :attr:`Table.coding`)."""
        design, coding = self._design, self.levels or {}
        return {c: [str(v) for v in coding[c]] for c in design.categories} if design and coding else {}

    @property
    def levels(self) -> dict[str, list] | None:
        """The levels the chunks are coded by (of a formula's columns of numbers in ``C()`` too), or None."""
        return self._design.coding if self._design is not None else None

    formula = property(lambda self: self._design.formula if self._design is not None else None)

    @property
    def factors(self) -> dict[str, list | dict]:
        """A formula's categorical terms and their levels, and its transforms' state (as :attr:`Table.factors`)."""
        return self._design.factors if self._design is not None else {}

    @property
    def intercept(self) -> bool:
        """Whether the model has an intercept (a formula may leave it out)."""
        return self._design.intercept if self._design is not None else True

    @property
    def classes(self) -> list[str] | None:
        """The class names the target's codes index, when it is read as labels (``classes=``)."""
        return self._labels.classes if isinstance(self._labels, _Coder) else None

    def __call__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for X, y, _ in self._pass():
            yield X, y

    def carrying(self) -> Callable[[], Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]]:
        """Passes like this one's whose chunks are ``(X, y, carried)``: ``carried`` maps each column of
        ``carry`` to its values in the chunk's rows (as :attr:`linearnet.tables.Table.carried` holds them)."""
        return self._pass

    def _pass(self) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        for chunk, done in self._ahead_of_caller():
            if self.on_read is not None:
                self.on_read(*done)
            if chunk is not None:
                yield chunk

    def _ahead_of_caller(self) -> Iterator[tuple[tuple | None, tuple[int, int | None]]]:
        """The chunks of a pass (see :meth:`_read`), read one ahead in a thread while the caller works on the
        one before: chunks of :data:`~.ahead.AHEAD_BYTES` or more, where a pass of these chunks is not being read so
        already (else in turn)."""
        if self._ahead or self._pieces.chunk_rows * len(self._pieces.wanted) * 8 < ahead.AHEAD_BYTES:
            yield from self._read()
            return
        self._ahead = True
        try:
            yield from ahead.read_ahead(self._read())
        finally:
            self._ahead = False

    def _read(self) -> Generator[tuple[tuple | None, tuple[int, int | None]], None, None]:
        """A pass: each piece read, as its chunk (None where it leaves no row) and the bytes read by then
        out of the pass's (for :attr:`on_read`)."""
        self.dropped_rows, self._dropped, self.rows_read = 0, [], 0
        with self._reading():
            for part, first, table in self._pieces.in_order():
                chunk = self._convert(part, first, table)
                self.rows_read += table.num_rows
                yield chunk, (self._pieces.done, self._pieces.size)
        if self.rows_read and self.dropped_rows == self.rows_read and self.share is None:
            raise ValueError(  # a share may lose all its rows, and the others keep theirs
                f"{self.path}: every row has a missing value in the columns in use "
                f"({_listing(self._columns)}); no row is left"
            )

    @property
    def share_bytes(self) -> int | None:
        """The bytes a pass reads: the files' (this process's share of them), None where unknown."""
        return self._pieces.size

    @property
    def ordered(self) -> bool:
        """Whether :meth:`shuffled` can visit the chunks out of order (known after one pass)."""
        return self._pieces.index is not None

    def shuffled(self, generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A pass visiting the chunks in an order drawn from ``generator`` (a ``torch.Generator``);
        in file order where the files cannot be read out of order."""
        import torch

        index = self._pieces.index
        if index is None:
            yield from self()
            return
        self.dropped_rows, self._dropped = 0, []  # counted again by this pass, as by a pass in order
        for i in torch.randperm(len(index), generator=generator).tolist():
            with self._reading():
                for part, first, table in self._pieces.read(i):
                    chunk = self._convert(part, first, table)
                    if chunk is not None:
                        yield chunk[:2]

    @property
    def _columns(self) -> list[str]:
        """The columns in use."""
        target = [self.target_name] if self.target_name is not None else []
        return [*self.columns, *target, *(self.carry if self.carried_in_use else [])]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Say what is wrong with the file, by row where a scan finds it, when pyarrow cannot read it."""
        import pyarrow as pa

        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            part = self._pieces.current
            assert part is not None
            src = part.src
            found = None
            if src.fmt == "csv":  # the first bad row of this process's part: in the piece pyarrow refused
                found = _diagnosis(src, self._columns, self._pieces.booleans, lambda: self._pieces.first_row(part))
            raise ValueError(found or f"{src.name}: cannot be read as {src.fmt.upper()} ({_reason(exc)})") from None

    def _convert(self, part: _Part, first: int, table) -> tuple[np.ndarray, np.ndarray, dict] | None:
        """A chunk's columns as float64 (rows with gaps dropped, and counted, under ``missing="drop"``).

        ``first`` counts from the part's first row; where that row's number in the file is not known
        yet (a share of a CSV starting past its first row), it is counted only when a message needs it.
        """
        src, n = part.src, table.num_rows
        row = first if part.first_row is None else part.first_row + first - 1
        try:
            target = self.target_name
            X, y, gap, unknown = self._features(src, table, row)
            carried = read_carried(
                src,
                table,
                self.carry,
                in_use=self.carried_in_use,
                missing=self.missing,
                first_row=row,
                numbers=self._carried_numbers,
            )
            y = self._codes(src, table, row, X, carried) if self._labels is not None else y
        except ValueError:
            if part.first_row is not None:
                raise
            self._pieces.first_row(part)
            return self._convert(part, first, table)  # the same refusal, naming the row in the file
        kept = np.ones(n, dtype=bool)
        if unknown is not None and unknown.any():
            self._refuse_unknown(part, first, table, X, y, unknown)
        if self.missing == "drop" or self._collector is not None:
            incomplete = np.isnan(X).any(axis=1) | (_gaps_in(y) if target else False)
            incomplete |= gaps(carried) if self.carried_in_use else False
            incomplete |= gap if gap is not None else False
            if incomplete.any():
                self.dropped_rows += int(incomplete.sum())
                room = _DROPPED_SHOWN + 1 - len(self._dropped)
                self._dropped += [(part, first + int(i)) for i in np.flatnonzero(incomplete)[:room]]
                kept = ~np.asarray(incomplete, dtype=bool)
                X = X[kept]
                y = y[kept] if target else y
                carried = {name: values[kept] for name, values in carried.items()}
        if isinstance(self._labels, _Collector) and target:
            self._labels.seen(src, table.column(target), kept, lambda i: self._pieces.file_row(part, first + i))
        if self._collector is not None:
            self._collector.seen(src, table, kept, n)
            return None
        release_arrow_unused(table.nbytes, self._release_every)
        return (X, y, carried) if len(X) else None

    def _features(self, src: _Source, table, row: int):
        """A chunk's ``(X, y, gaps, unknown)``: see :meth:`ChunkDesign.chunk` (columns of numbers: no gaps
        apart from their NaN, no unknown value)."""
        target = self.target_name
        y = np.empty(0)
        if target is not None and self._labels is None:
            y = _numbers(src, target, table.column(target), row, missing=self.missing)
        if self._design is not None:
            X, formula_y, gap, unknown = self._design.chunk(src, table, row, self.missing, y if target else None)
            return X, formula_y if target and formula_y is not None else y, gap, unknown
        return number_matrix(src, table, self.feature_names, row, missing=self.missing), y, None, None

    def _refuse_unknown(self, part: _Part, first: int, table, X, y, unknown: np.ndarray) -> None:
        """Refuse a category's value outside its levels, unless its row is dropped for a gap elsewhere."""
        if self.missing == "drop":
            unknown = unknown & ~(np.isnan(X).any(axis=1) | (_gaps_in(y) if self.target_name else False))
        if not unknown.any():
            return
        from .levels import level_texts

        design = self._design
        assert design is not None and design.coding is not None
        i = int(np.argmax(unknown))
        name = next(c for c in design.categories if level_texts(table.column(c))[i].as_py() not in design.coding[c])
        row = self._pieces.file_row(part, first + i)
        raise unknown_level(part.src, name, table.column(name), i, row, design.coding[name])

    def _codes(self, src: _Source, table, row: int, X: np.ndarray, carried: dict) -> np.ndarray:
        """The target's labels as codes (-1 where missing); a label of a row dropped for a gap in another
        column in use (``missing="drop"``) is not refused."""
        assert self._labels is not None and self.target_name is not None
        skip = np.isnan(X).any(axis=1) | (gaps(carried) if self.carried_in_use else False)
        return self._labels.codes(
            src, self.target_name, table.column(self.target_name), row, missing=self.missing, skip=skip
        )

    @property
    def first_dropped(self) -> list[int]:
        """The first few rows the last pass dropped, numbered in their files (from 1)."""
        return [self._pieces.file_row(part, row) for part, row in self._dropped]

    @property
    def dropped_note(self) -> str | None:
        """The note about the rows the last pass dropped, or None; of several files, it names the file of each."""
        if not self.dropped_rows:
            return None
        if not self._several:
            return _dropped_note(self.first_dropped, self.dropped_rows, self.rows_read)
        count, shown = self.dropped_rows, []
        for name, rows in itertools.groupby(
            zip((part.src.name for part, _ in self._dropped[:_DROPPED_SHOWN]), self.first_dropped, strict=False),
            key=lambda pair: pair[0],
        ):
            numbers = [str(row) for _, row in rows]
            shown.append(f"{name} row{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}")
        return (
            f"dropped {count:,} of {self.rows_read:,} rows with missing values in the columns in use "
            f"({'; '.join(shown)}{', ...' if count > _DROPPED_SHOWN else ''})"
        )


# long: the chunked reader's entry, its docstring the reference of every option
def table_chunks(
    path,
    *,
    target: str | None = None,
    features: list[str] | None = None,
    chunk_rows: int | None = None,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    share: tuple[int, int] | None = None,
    carry: list[str] | None = None,
    carried_in_use: bool = False,
    classes: list[str] | None = None,
    formula: str | None = None,
    levels: CategoryLevels | dict[str, list] | None = None,
    intercept: bool = True,
    reference: dict[str, str] | None = None,
    memory_budget: int | None = None,
    _labels: _Collector | None = None,
    _collect: int | None = None,
) -> tuple[TableChunks, list[str]]:
    """Stream a file, or the files of a folder or a pattern as one table, in chunks of about
    ``chunk_rows`` rows (None: :data:`~linearnet.tables.plan.CHUNK_ROWS`), validating each by
    :func:`read_table`'s rules.

    Column types are decided from the first chunk of the first file (Parquet: from its schema, and
    from the first row group's values where the schema says text); later chunks must agree, and a
    value that does not is refused with its file and row. Every other file must have the same columns
    (checked before the first chunk). Returns ``(chunks, feature_names)``: each call of ``chunks``
    reads the files again, so memory holds one chunk, and ``chunks.notes`` says what the default
    features left out. ``target=None`` reads features only (to predict), and then needs ``features``.

    ``share=(rank, size)`` reads the share ``rank`` of ``size`` processes only: about a ``size``-th of
    the bytes of all the files, contiguous in file order (rank 0 first), so that the shares in rank
    order are the whole table in order. A Parquet file is shared by whole row groups, a CSV by byte
    ranges cut at the start of a line (a quoted value spanning lines across a cut is refused); a
    compressed CSV and standard input cannot be shared. A share may be empty: its passes yield nothing.
    Every process types the columns alike, from the first rows of the first file.

    ``missing="keep"`` keeps the rows with gaps, NaN in their features (to predict).
    ``carry`` and ``carried_in_use`` as in :func:`read_table`: :meth:`TableChunks.carrying` gives passes
    whose chunks carry those columns' values (typed from the first rows).

    With ``classes`` (the class names, as :func:`target_classes` finds them) the target is read as class
    labels, by :func:`read_table`'s rules (``labels=True``): each chunk's ``y`` holds int64 codes, the
    index of each row's class in ``classes``; a label that is none of them is refused with its file, row
    and value. Without, a target of text is refused.

    A text, boolean or dictionary column among ``features`` is a category, coded as :func:`read_table` codes
    it (``intercept`` and ``reference`` as there): its levels are ``levels`` (a model's, or those
    :func:`~linearnet.tables.levels.category_levels` found; a shared table needs them), else found by one
    first pass over the category columns (:mod:`.levels`; ``memory_budget`` bounds a category's levels).
    ``formula`` names the target and the columns as :func:`read_table`'s does, its categorical terms coded
    alike in every chunk; the names returned are then the formula's terms.
    """
    parsed, target, features = formula_columns(formula, target, features, path, sep, carry or ())
    chunks, choice, kinds, wanted = _open(
        path,
        target,
        features,
        dict(chunk_rows=chunk_rows, missing=missing, sep=sep, decimal=decimal, share=share, classes=classes)
        | dict(budget=memory_budget),
        dict(carry=carry, carried_in_use=carried_in_use, labels=_labels, collect=_collect is not None),
        parsed,
        named=features is not None and (target is not None or levels is not None),
    )
    if not kinds and parsed is None:
        return chunks, choice.features
    chunk_rows = chunks._pieces.chunk_rows
    written = parsed.translation.written if parsed is not None else None  # R's '.' expanded
    chunks._design = ChunkDesign([c for c in choice.features if c in wanted], kinds, written, parsed, target=target)
    chunks._design.intercept, chunks._design.reference = intercept, reference
    if _collect is not None:
        chunks._collector = _LevelCollector(chunks.path, kinds, most_levels(_collect, chunk_rows)) if kinds else None
        return chunks, choice.features
    first_pass: dict[str, Any] = dict(missing=missing, sep=sep, decimal=decimal, carry=chunks.carry)
    first_pass.update(carried_in_use=carried_in_use, target=None if parsed else target, formula=formula)
    first_pass.update(budget=memory_budget)
    return chunks, _coded(chunks, path, levels, None if parsed else choice.features, chunk_rows, first_pass)


# long: every step of opening a table in chunks, in order
def _open(path, target, features, options: dict[str, Any], carrying: dict[str, Any], parsed, *, named: bool):
    """The chunks of ``path`` (before their categories are coded), the columns chosen, the categories among
    them and the columns read (a first pass, ``collect``, reads the categories alone)."""
    chunk_rows, missing, sep, decimal = (options[k] for k in ("chunk_rows", "missing", "sep", "decimal"))
    carry, carried_in_use = carrying["carry"], carrying["carried_in_use"]

    _check_missing(missing)
    rank, size = _check_share(options["share"])
    if size > 1 and os.fspath(path) == "-":
        raise ValueError("-: standard input cannot be shared between processes; save it to a file first")
    files = _files(path)
    return_freed_blocks()  # so that the chunks freed one after another do not stay resident
    if target is None and features is None:
        raise ValueError("table_chunks without a target needs the feature columns")
    chunk_rows = plan.CHUNK_ROWS if chunk_rows is None else chunk_rows
    src = _Source(files[0] if files else path, sep=sep, decimal=decimal)
    first, names, partial = _parquet_head(src, chunk_rows) if src.fmt == "parquet" else _csv_first_rows(src)
    carry = list(dict.fromkeys(carry or []))
    choice = _choose_from(first, src, names, target, features, target is not None, head=partial, carry=carry)
    collect = carrying["collect"]
    kinds, wanted, target, carry = _columns_read(
        src, first, choice.features, parsed, named, target, carry, collect, missing
    )
    labels = carrying["labels"] or _coder(options["classes"], target)
    types = _piece_types(first, wanted, _as_written(src, carry, carried_in_use, choice.features, labels and target))
    numbers = frozenset(c for c in carry if is_number_column(first.column(c), src.decimal))
    integers = _integers(src, first, types)
    parts = _file_parts(src, files, names, sep=sep, decimal=decimal, shared=size > 1)
    notes = list(choice.notes) + epoch_notes(first, [*choice.features, target])  # dates as R's numbers
    if files is not None:
        notes.append(f"read {len(files)} files as one table: {_listing([os.path.basename(f) for f in files], 5)}")
    row_bytes = sum(first.column(c).nbytes for c in wanted) / max(1, first.num_rows)
    del first
    pieces = _Parts(
        _shares(parts, rank, size) if size > 1 else parts,
        names=names,
        wanted=wanted,
        types=types,
        chunk_rows=chunk_rows,
        integers=integers,
        unit_rows=plan.unit_rows(options["budget"], chunk_rows, row_bytes),  # Parquet's
    )
    chunks = TableChunks(
        path=os.fspath(path) if files is not None else src.name,
        feature_names=choice.features,
        target_name=target,
        notes=notes,
        left_out=choice.left_out,
        _pieces=pieces,
        missing=missing,
        share=(rank, size) if size > 1 else None,
        _several=files is not None,
        carry=carry,
        carried_in_use=carried_in_use,
        _carried_numbers=numbers,
        _labels=labels,
        _release_every=plan.release_interval(options["budget"], chunk_rows * row_bytes),
    )
    return chunks, choice, kinds, wanted


def _columns_read(src: _Source, first, chosen: list[str], parsed, named: bool, target, carry, collect, missing: str):
    """The categories among the columns ``chosen`` (a text feature refused where there can be none), the
    columns read, the target and the columns carried: a first pass (``collect``) reads the categories alone,
    unless a gap in another column drops a row (``missing="drop"``; not class labels, read as numbers here)."""
    kinds = category_kinds(src, first, chosen, parsed, named)
    if not kinds and parsed is None:
        _refuse_text(src, first, chosen, missing)
    if collect and target and (missing != "drop" or not is_number_column(first.column(target), src.decimal)):
        target = None
    wanted = list(dict.fromkeys([*chosen, *([target] if target else []), *carry]))
    if collect and missing != "drop":
        return kinds, [c for c in wanted if c in kinds], None, []
    return kinds, wanted, target, carry


def _coded(chunks: TableChunks, path, levels, features, chunk_rows: int, first_pass: dict[str, Any]) -> list[str]:
    """Code the chunks' categories by ``levels``, else by those a first pass over them finds (not of a
    share: the processes join theirs); the features' names."""
    design = chunks._design
    assert design is not None
    if levels is None and design.kinds:
        if chunks.share is not None:
            raise ValueError(f"{chunks.path}: the levels of its categories are found over every share: give them")
        from .levels import category_levels

        levels = category_levels(path, features=features, chunk_rows=chunk_rows, **first_pass)
    chunks.notes += design.code(chunks.path, levels or {})
    return design.names


def _as_written(src: _Source, carry: list[str], carried_in_use: bool, features: list[str], labels) -> list[str]:
    """The columns of a CSV read as text, as written: carried ones (see ``verbatim``) and the ``labels``."""
    if src.fmt != "csv":
        return []
    return verbatim(carry, carried_in_use, features) + ([labels] if labels else [])


def _gaps_in(y: np.ndarray) -> np.ndarray:
    """Where a chunk's target is missing: NaN, or, as class codes, -1."""
    return np.asarray(y < 0) if y.dtype == np.int64 else np.isnan(y)


def _refuse_text(src: _Source, first, chosen: list[str], missing: str) -> None:
    """Refuse a text column among columns read as numbers (the features a model without categories names),
    naming its first value that is not a number and its row."""
    for column in chosen:
        if _kind(first.column(column))[0] == "text":
            _numbers(src, column, first.column(column), 1, missing=missing)
