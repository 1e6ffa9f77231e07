"""``--weights COL`` of ``solve`` and ``train --data``: the column read with the rows as a column in use, its
values checked by the file's row numbers, and the notes that say what the weights did."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def add_weights_flag(parser, what: str) -> None:
    parser.add_argument(
        "--weights",
        metavar="COL",
        help=f"weight each row by this column's value (finite, >= 0; a row of weight 0 is left out): {what}",
    )


def carry_options(args) -> dict:
    """The reader's keywords that read the weight column beside the rows (a column in use: a gap is refused,
    or its row dropped under --missing drop), or none without --weights."""
    weights = getattr(args, "weights", None)
    return {"carry": [weights], "carried_in_use": True} if weights else {}


def table_weights(path: str, column: str, table) -> np.ndarray:
    """The weight column of a table read whole, refused (ValueError naming the file, the column and the
    row of the file) unless every weight is a finite number ≥ 0."""
    import numpy as np

    w = np.asarray(table.carried[column], dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        raise ValueError(_bad(path, column, _file_row(int(bad[0]), table.dropped_rows), float(w[bad[0]])))
    return w


def training_weights(path: str, column: str, table) -> np.ndarray:
    """:func:`table_weights` for SGD, which needs a row of positive weight to train on."""
    w = table_weights(path, column, table)
    if not w.any():
        raise ValueError(f"{path}: every weight in column {column!r} is zero: no row is left to train on")
    return w


def _file_row(kept: int, dropped: list[int]) -> int:
    """The file's row number (from 1) of the kept row ``kept`` (from 0), rows ``dropped`` (from 1) left out."""
    row = kept + 1
    for d in sorted(dropped):
        if d <= row:
            row += 1
    return row


def _bad(path: str, column: str, row: int, value: float) -> str:
    from ..leastsq.weighted import bad_weight

    return f"{path}: {bad_weight(f'weights column {column!r}', row, value)}"


def weighted_note(column: str, zero: int, *, sgd: bool = False) -> str:
    """What the weights did, said once: R's conventions for the exact fit, the loss for SGD."""
    if sgd:
        said = (
            f"rows weighted by column {column!r}: each row's loss is multiplied by its weight "
            f"(the loss reported is Σ w·loss / n)"
        )
    else:
        said = (
            f"rows weighted by column {column!r}, as R's lm(weights=): σ̂ = √(Σ w·e² / (n − k)), R² about the "
            f"weighted mean, the log-likelihood adds Σ log(w) / 2"
        )
    if zero:
        rows = f"{zero:,} row{'s' * (zero != 1)}"
        said += (
            f"; {rows} of weight 0 left out of n and the residual degrees of freedom (as R does)"
            if not sgd
            else f"; {rows} of weight 0 count in n but not in the loss"
        )
    return said
