"""What ``linearnet train --data`` compares SGD's loss with: the loss at the exact optimum of the same rows,
by least squares (:mod:`linearnet.leastsq`) for linear regression and by the multinomial logit
(:mod:`linearnet.logit`) for softmax regression."""

from __future__ import annotations

import warnings

from .common import note, refused

PROG = "linearnet train"

EXACT_FIT = 1e-12  # an optimum this small beside SGD's loss is an exact fit: a percentage above it says nothing


def exact_left_out(rows: int | None, parameters: int, budget: int, *, what: str = "least-squares") -> str | None:
    """Why the exact comparison is left out of a run, or None. The logit's optimum of more ``parameters``
    than ``rows`` is not unique (nor finite: such rows are separated); the least-squares loss at its optimum
    is, and is found from the SVD of the rows (:func:`exact_loss`). Either is left out when its solve would
    take more than the memory ``budget``: about 8·(6·n·k + 16·k²) bytes for k parameters on n rows read
    whole (``rows`` None: in chunks, whose passes add no n·k), or 32·n·k for the SVD of fewer rows than
    parameters; the time is in proportion (30 rows × 6,000 columns solved whole took 48 s and 1.85 GB)."""
    from ..memory import human_bytes

    wide = rows is not None and parameters > rows
    if wide and what == "logit":
        return (
            f"the exact logit optimum is left out of the comparison: {parameters:,} parameters on {rows:,} rows "
            f"have no unique optimum"
        )
    need = 32 * (rows or 0) * parameters if wide else 8 * (6 * (rows or 0) * parameters + 16 * parameters**2)
    if need > budget:
        return (
            f"the exact {what} optimum is left out of the comparison: solving for {parameters:,} parameters would "
            f"take about {human_bytes(need)}, over the memory budget of {human_bytes(budget)} (--memory-budget)"
        )
    return None


def above_exact(sgd_loss: float, exact: float) -> str:
    if exact <= EXACT_FIT * sgd_loss:
        return " (the data lie on a plane: an exact fit)"
    return f" (SGD is {100 * (sgd_loss / exact - 1):.2f}% above it)"


def exact_loss(
    config, table, chunks, columns, held_out: float | None, seed: int, group=None, weights=None, *, budget: int
) -> tuple[float | None, str | None]:
    """(the mean training loss at the least-squares optimum, in the loss SGD reports, or None; the note, said
    already, of why it was left out, or None). None for the l1 and Huber losses, whose optimum least squares is
    not, or a loss reported as a running mean; on the rows trained on, those early stopping did not hold out;
    with ``weights``, the weighted optimum's Σ w·loss / n over the n rows trained on."""
    if config.loss not in ("half_squared", "squared") or config.report != "full":
        return None, None
    rows = None if table is None else len(table.features)  # in chunks: the same answer in every process
    left_out = exact_left_out(rows, len(columns) + 1, budget)
    if left_out:
        note(PROG, left_out)
        return None, left_out
    return _least_squares_loss(config, table, chunks, columns, held_out, seed, group, weights), None


def _least_squares_loss(config, table, chunks, columns, held_out: float | None, seed: int, group, weights) -> float:
    from ..leastsq import solve, solve_chunks
    from ..training.stopping import held_out_rows

    if table is not None:
        X, y = table.features, table.target
        if held_out is not None:
            kept = held_out_rows(len(X), held_out, seed)[0]
            X, y = X[kept], y[kept]
            weights = None if weights is None else weights[kept]
        if X.shape[1] + 1 > len(X):  # more parameters than rows: the optimum is not unique, but its loss is
            return config.loss_factor * _rss_of_fewer_rows(X, y, weights) / len(X)

    with refused(PROG), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dependent or ill-conditioned columns: the optimum's loss holds all the same
        if chunks is not None:
            exact = solve_chunks(chunks, columns, allow_rank_deficient=True, group=group)  # passes more
        else:
            exact = solve(X, y, allow_rank_deficient=True, weights=weights)
    # σ̂² = RSS / (n − rank); with as many parameters as rows the optimum passes through every row: RSS 0
    rss = exact.sigma**2 * (exact.n - exact.rank) if exact.n > exact.rank else 0.0
    return config.loss_factor * rss / (exact.n + exact.zero_weights)  # every row trained on (weight 0 too)


def _rss_of_fewer_rows(X, y, weights=None) -> float:
    """The residual sum of squares (weighted by ``weights``) of the least-squares fit with an intercept to
    fewer rows than parameters, from the SVD of the n × (p + 1) rows (NumPy's lstsq): O(n²p) time, not the
    O(p³) of the exact solve and its statistics."""
    import numpy as np

    A = np.column_stack([np.ones(len(X)), np.asarray(X, dtype=np.float64)])  # (n, p + 1)
    y = np.asarray(y, dtype=np.float64)
    if weights is not None:
        root = np.sqrt(np.asarray(weights, dtype=np.float64))
        A, y = A * root[:, None], y * root
    beta, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    if rank == len(A):  # independent rows: the optimum passes through every one (as solve's RSS says, 0)
        return 0.0
    return float(np.sum((y - A @ beta) ** 2))


def exact_softmax_loss(
    data, held_out: float | None, seed: int, *, budget: int
) -> tuple[tuple[float, str | None] | None, str | None]:
    """(:func:`_logit_loss`, or None when left out; the note, said already, of why it was left out, or None)."""
    parameters = (len(data.feature_names) + 1) * (len(data.classes) - 1)  # the logit's: one class is the base
    left_out = exact_left_out(len(data.X_train), parameters, budget, what="logit")
    if left_out:
        note(PROG, left_out)
        return None, left_out
    return _logit_loss(data, held_out, seed), None


def _logit_loss(data, held_out: float | None, seed: int) -> tuple[float, str | None] | None:
    """The mean cross-entropy at the multinomial logit's optimum on the rows SGD trained on (those early
    stopping did not hold out), and what separates the classes when no finite optimum exists (the loss
    then approaches the value given, where the iteration stopped); None when the data have no classes to
    fit (an image set) or the logit cannot be fitted (a rank-deficient design is fitted without its
    dependent columns: the optimum's loss is the same)."""
    import numpy as np

    from ..logit import solve_logit
    from ..training.stopping import held_out_rows

    X, y = np.asarray(data.X_train, dtype=np.float64), np.asarray(data.y_train)
    if held_out is not None:
        kept = held_out_rows(len(X), held_out, seed)[0]
        X, y = X[kept], y[kept]
    try:  # a class with no row here has no finite optimum of its own: those present are fitted
        result = solve_logit(
            X,
            y,
            classes=[str(c) for c in data.classes],
            feature_names=data.feature_names,
            allow_rank_deficient=True,
            drop_empty_classes=True,
        )
    except ValueError:
        return None
    return -result.llf / result.n, result.separation
