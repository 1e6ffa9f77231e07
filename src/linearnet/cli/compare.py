"""What ``linearnet train --data`` compares SGD's loss with: the loss at the exact optimum of the same rows,
by least squares (:mod:`linearnet.leastsq`) for linear regression and by the multinomial logit
(:mod:`linearnet.logit`) for softmax regression."""

from __future__ import annotations

import warnings

from .common import refused

PROG = "linearnet train"

EXACT_FIT = 1e-12  # an optimum this small beside SGD's loss is an exact fit: a percentage above it says nothing


def above_exact(sgd_loss: float, exact: float) -> str:
    if exact <= EXACT_FIT * sgd_loss:
        return " (the data lie on a plane: an exact fit)"
    return f" (SGD is {100 * (sgd_loss / exact - 1):.2f}% above it)"


def exact_loss(
    config, table, chunks, columns, held_out: float | None, seed: int, group=None, weights=None
) -> float | None:
    """The mean training loss at the least-squares optimum, in the loss SGD reports (None for the l1 and
    Huber losses, whose optimum least squares is not, or a loss reported as a running mean); on the
    rows trained on, those early stopping did not hold out; with ``weights``, the weighted optimum's
    Σ w·loss / n over the n rows trained on."""
    if config.loss not in ("half_squared", "squared") or config.report != "full":
        return None
    from ..leastsq import solve, solve_chunks
    from ..training.stopping import held_out_rows

    if table is not None:
        X, y = table.features, table.target
        if held_out is not None:
            kept = held_out_rows(len(X), held_out, seed)[0]
            X, y = X[kept], y[kept]
            weights = None if weights is None else weights[kept]

    with refused(PROG), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dependent or ill-conditioned columns: the optimum's loss holds all the same
        if chunks is not None:
            exact = solve_chunks(chunks, columns, allow_rank_deficient=True, group=group)  # passes more
        else:
            exact = solve(X, y, allow_rank_deficient=True, weights=weights)
    # σ̂² = RSS / (n − rank); with as many parameters as rows the optimum passes through every row: RSS 0
    rss = exact.sigma**2 * (exact.n - exact.rank) if exact.n > exact.rank else 0.0
    return config.loss_factor * rss / (exact.n + exact.zero_weights)  # every row trained on (weight 0 too)


def exact_softmax_loss(data, held_out: float | None, seed: int) -> tuple[float, str | None] | None:
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
