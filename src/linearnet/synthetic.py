"""Synthetic regression data y = Xw + b + ε (d2l 3.2): one draw, whoever asks for it."""

from __future__ import annotations

import torch

from .config import SyntheticSpec
from .memory import advise_huge_pages

__all__ = ["synthetic_data", "draw"]


def synthetic_data(
    w, b, num_examples, *, noise=0.01, noise_dist="normal", noise_repeats=1, generator: torch.Generator | None = None
):
    """Generate y = Xw + b + ε (d2l 3.2), ε added ``noise_repeats`` times.

    Args:
        w: true weights, a sequence or 1-D tensor of length d.
        b: true bias.
        num_examples: rows n.
        noise: scale of ε, σ for ``"normal"``, b for ``"laplace"`` (variance 2b²).
        generator: a ``torch.Generator`` that fixes every draw; ``None`` uses torch's global one.

    Returns:
        features (n, d) float32 with entries N(0, 1), and labels (n, 1) float32.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> X, y = synthetic_data([2, -3.4], 4.2, 1000, generator=g)
        >>> X.shape, y.shape
        (torch.Size([1000, 2]), torch.Size([1000, 1]))
    """
    if isinstance(w, torch.Tensor):
        w = w.detach().reshape(-1).tolist()
    spec = SyntheticSpec(
        true_w=tuple(w) if hasattr(w, "__iter__") else w,
        true_b=b,
        num_examples=num_examples,
        noise=noise,
        noise_dist=noise_dist,
        noise_repeats=noise_repeats,
    )
    _, X, y = draw(spec, generator)
    return X, y


def draw(spec: SyntheticSpec, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(true_w, features, labels) of ``spec``, drawn in this order from ``generator``.

    The true weights are drawn N(0, 1) first when ``spec.true_w`` is None; then the
    features, then the noise. A seeded run (:func:`linearnet.run`) and ``plot data
    --preset`` both call this, so they see the same rows.

    Raises:
        ValueError: the data would not fit in the memory available (said before anything is
            allocated), or the labels drawn are too large for float32 training.
    """
    spec.check_fits()
    if spec.true_w is None:
        w = torch.normal(0.0, 1.0, (spec.dim,), generator=generator)
    else:
        w = torch.tensor(spec.true_w, dtype=torch.float32)
    n = spec.num_examples
    X = torch.empty(n, len(w))  # (n, d); large ones get huge pages before the first write
    advise_huge_pages(X.data_ptr(), X.nbytes, collapse=False)
    X.normal_(0.0, 1.0, generator=generator)
    y = X @ w + spec.true_b  # (n,)
    if spec.noise > 0:
        if spec.noise_dist == "normal":
            eps = torch.normal(0.0, spec.noise, (n,), generator=generator)
        else:  # Laplace(0, b) as b·(E1 − E2) with E1, E2 ~ Exp(1)
            e = torch.empty(2, n).exponential_(1.0, generator=generator)
            eps = spec.noise * (e[0] - e[1])
        for _ in range(spec.noise_repeats):
            y += eps
    spec.check_labels(float(y.abs().max()))  # the reach the settings promised, checked on the draw
    return w, X, y.reshape(-1, 1)
