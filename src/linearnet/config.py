"""What to make and how to train it: settings checked once, where they enter.

Torch-free on purpose: the CLI validates its flags through these classes before
anything heavy is imported, so a bad flag is answered in a fraction of a second.
Every message says what was expected, what came, and how to fix it; the CLI
prints the same message as one line.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from . import memory

__all__ = [
    "IMPLS",
    "MODELS",
    "LOSSES",
    "NOISE_DISTS",
    "REDUCTIONS",
    "REPORTS",
    "SHUFFLES",
    "SyntheticSpec",
    "TrainConfig",
    "Experiment",
    "check_choice",
    "check_finite",
    "check_int",
    "check_seed",
    "LABEL_MAX",
    "LABEL_MIN",
    "F32_TINY",
    "check_float32",
    "check_not_tiny",
    "SameEverywhereError",
    "SameEverywhereTypeError",
    "MAX_EPOCHS",
    "PATIENCE",
    "TOL",
    "VALIDATION_FRACTION",
    "standardized_lr",
    "auto_impl",
]

IMPLS = ("scratch", "concise", "fast")
MODELS = ("linear", "softmax")  # linear regression, or softmax regression (classification)
# ½(ŷ−y)² (d2l 3.2), (ŷ−y)² (nn.MSELoss), |ŷ−y| (MLE under Laplace noise), Huber's, and softmax's
LOSSES = ("half_squared", "squared", "l1", "huber", "cross_entropy")
REDUCTIONS = ("mean", "sum")  # the SGD step uses the batch's mean or summed gradient
NOISE_DISTS = ("normal", "laplace")
REPORTS = ("full", "running")  # loss over the whole training set after each epoch, or mean of batch losses
# an epoch's order: one random permutation of all rows (the book's), or the rows cut into consecutive blocks
# visited in a random order, each block's rows shuffled within it (reads that stay in cache; see batches.py)
SHUFFLES = ("rows", "blocks")
LR_SCHEDULES = ("constant", "step", "inverse-time")  # lr, lr·decay^(e−1), lr / (1 + decay·(e−1)) in epoch e

# Synthetic data (the book's experiments) of this many values (rows × features) or more, with no preset
# named, train on the compiled engine.
AUTO_FAST_VALUES = 1_000_000
# A user's data of this many values or more train on the compiled engine, unless an engine or a preset is
# named (auto_impl): it follows the scratch engine's trajectory to float32 rounding, and pays for itself
# once the data are past a few thousand values (loading its kernels takes a fraction of a second).
AUTO_FAST_DATA_VALUES = 10_000

# Training on the user's data (train --data, fit_arrays and fit_classifier given no config, the scikit-learn
# estimators) runs until the loss settles, by scikit-learn's rule:
MAX_EPOCHS = 200  # the most epochs a run waits for the loss to settle
PATIENCE = 5  # epochs without improvement after which the loss has settled (scikit-learn's n_iter_no_change)
TOL = {"linear": 1e-4, "softmax": 1e-3}  # settled: improving on its best by less than TOL·|best| (scikit-learn's)
VALIDATION_FRACTION = 0.1  # scikit-learn's default share held out for early stopping


_DATA_MAX = 1e30  # a first bound on each setting; the labels they make are bounded below
_F32_MAX = 3.4028234663852886e38  # the largest float32
LABEL_MAX = math.sqrt(_F32_MAX)  # 1.84e19: the loss squares a label's error, and the square must stay a float32
F32_TINY = 1.1754943508222875e-38  # the smallest normal float32: below it a value keeps fewer than 24 bits, or none
LABEL_MIN = math.sqrt(F32_TINY)  # 1.08e-19: labels all smaller square to less than a normal float32, or to 0
_SIGMAS = 6.0  # the reach of the labels: |b| plus this many standard deviations of Xw and of the noise
# memory of a synthetic run: 4 bytes a float32 feature + 1 of the finiteness check on it, and about 32 a row
# for the labels, the noise and the order of an epoch
_BYTES_PER_VALUE, _BYTES_PER_ROW = 5, 32


class SameEverywhereError(ValueError):
    """A bad value or setting that every process of a distributed run raises alike
    (:meth:`linearnet.distributed.Group.everyone` sends the lowest rank's to all of them): rank 0 alone
    need say it. Defined here, torch-free, so that the CLI can tell it without importing torch."""


class SameEverywhereTypeError(SameEverywhereError, TypeError):
    """A :class:`SameEverywhereError` that is a TypeError where the process that met it raised one."""


def check_finite(
    name: str,
    value,
    *,
    low: float | None = None,
    low_inclusive: bool = True,
    hint: str = "",
    magnitude: float | None = None,
) -> float:
    """Return ``value`` as a float, or raise with a message naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}{_hint(hint)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}{_hint(hint)}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = f">= {low:g}" if low_inclusive else f"> {low:g}"
        raise ValueError(f"{name} must be {bound}, got {value:g}{_hint(hint)}")
    if magnitude is not None and abs(value) > magnitude:
        raise ValueError(f"{name} must be at most {magnitude:g} in size (the data are float32), got {value:g}")
    return value


def check_int(name: str, value, *, low: int, hint: str = "") -> int:
    """Return ``value`` as an int >= ``low``, or raise with a message naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if not isinstance(value, bool) and isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(float(value))
        else:
            raise TypeError(f"{name} must be a whole number >= {low}, got {value!r}{_hint(hint)}")
    if value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value}{_hint(hint)}")
    return int(value)


SEED_LIMIT = 2**63  # torch.Generator.manual_seed takes seeds below this


def check_seed(value, name: str = "seed") -> int:
    """Return ``value`` as a seed, a whole number 0 <= seed < 2**63, or raise naming ``name``."""
    seed = check_int(name, value, low=0, hint="e.g. 0")
    if seed >= SEED_LIMIT:
        raise ValueError(f"{name} must be below 2**63, got {seed}")
    return seed


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_float32(
    a,
    name: str,
    *,
    fix: str = "rescale them, or use solve",
    columns=None,
    where: str = "",
    smallest: float | None = None,
) -> None:
    """Refuse values float32 training cannot take: NaN or inf, or beyond ``LABEL_MAX``, whose square
    is inf in float32. ``a`` is a NumPy array named ``name`` ("features", "y"); given the names of its
    ``columns`` (and ``where``, the file), a value too large is named by its column and row.

    Given ``smallest``, refuse too a column (of a 2-D ``a``; else the whole array) whose values are not all
    0 but all below ``smallest`` in size: in float32 they would round to 0 or lose their precision
    (``LABEL_MIN`` for labels, whose errors the loss squares; ``F32_TINY`` for features trained as they are)."""
    import numpy as np

    if columns is not None:
        beyond = ~(np.abs(a) <= LABEL_MAX)
        if beyond.any():
            i, j = (int(k) for k in np.argwhere(beyond)[0])
            raise ValueError(
                f"{where}: column {columns[j]!r}, row {i + 1}: {a[i, j]:g} is too large for float32 training "
                f"(at most {LABEL_MAX:.3g}); rescale the column"
            )
    else:
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite; found NaN or inf")
        if a.size and not np.abs(a).max() <= LABEL_MAX:
            hold = "hold" if name.endswith("s") else "holds"
            raise ValueError(
                f"{name} {hold} values up to {np.abs(a).max():g}, too large for float32 training "
                f"(at most {LABEL_MAX:.3g}); {fix}"
            )
    if smallest is not None and a.size:
        largest = np.abs(a).max(axis=0) if a.ndim == 2 else np.abs(a).max(keepdims=True)
        for j, value in enumerate(largest.tolist()):
            column = None if a.ndim != 2 else repr(columns[j]) if columns is not None else str(j + 1)
            check_not_tiny(value, name if column is None else f"{name}: column {column}", smallest=smallest, fix=fix)


def check_not_tiny(largest: float, name: str, *, smallest: float = LABEL_MIN, fix: str = "rescale them") -> None:
    """Refuse values whose ``largest`` size is above 0 but below ``smallest``: float32 training would take
    them for 0 (or for values of a few bits), and fit nothing while reporting an exact fit."""
    if 0 < largest < smallest:
        why = "the loss squares them" if smallest == LABEL_MIN else "below it float32 keeps a few bits of them, or none"
        raise ValueError(
            f"{name}: the largest value is {largest:.3g} in size, too small for float32 training, which needs at "
            f"least {smallest:.3g} ({why}); {fix}"
        )


def standardized_lr(lr: float, num_features: int) -> float:
    """The learning rate for standardized features: ``lr``, or 1/(d + 1) where that is smaller.

    On standardized features the Hessian of the mean squared loss, E[x xᵀ] with the intercept's
    constant 1, has trace d + 1, so its largest eigenvalue is at most d + 1: a rate of 1/(d + 1)
    stays below the 2/λ where SGD diverges whatever the correlations (d2l's 0.03 where smaller)."""
    return min(lr, 1 / (num_features + 1))


def auto_impl(num_values: int) -> str:
    """The engine for a user's data of ``num_values`` values (rows × features), none named: the compiled
    one (``fast``, the scratch engine's trajectory to float32 rounding) from ``AUTO_FAST_DATA_VALUES`` on,
    where it is the fastest, and ``scratch`` below, where loading compiled kernels would take longer than
    training."""
    return "fast" if num_values >= AUTO_FAST_DATA_VALUES else "scratch"


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


@dataclass(frozen=True)
class SyntheticSpec:
    """Synthetic regression data y = Xw + b + ε, X ~ N(0, 1) (d2l section 3.2)."""

    true_w: tuple[float, ...] | None = (2.0, -3.4)  # None: drawn N(0, 1) from the run's seed
    true_b: float = 4.2
    num_examples: int = 1000
    num_features: int | None = None  # None: len(true_w)
    noise: float = 0.01  # scale of ε: σ for normal noise, b for Laplace noise
    noise_dist: str = "normal"
    noise_repeats: int = 1  # the same ε added this many times (the MXNet lesson adds it twice)

    def __post_init__(self):
        if self.true_w is not None:
            if isinstance(self.true_w, (str, bytes)) or not hasattr(self.true_w, "__iter__"):
                raise TypeError(f"true_w must be a sequence of numbers, got {self.true_w!r}; e.g. true_w=(2, -3.4)")
            w = tuple(check_finite("true_w", v, magnitude=_DATA_MAX) for v in self.true_w)
            if not w:
                raise ValueError("true_w must have at least one weight, got none; e.g. true_w=(2, -3.4)")
            object.__setattr__(self, "true_w", w)
        object.__setattr__(self, "true_b", check_finite("true_b", self.true_b, magnitude=_DATA_MAX))
        object.__setattr__(self, "num_examples", check_int("num_examples", self.num_examples, low=1))
        if self.num_features is not None:
            d = check_int("num_features", self.num_features, low=1)
            if self.true_w is not None and len(self.true_w) != d:
                raise ValueError(
                    f"true_w has {len(self.true_w)} weights but num_features is {d}; "
                    f"give {d} weights, or leave out true_w to draw them from the seed"
                )
            object.__setattr__(self, "num_features", d)
        elif self.true_w is None:
            raise ValueError("num_features is needed when true_w is not given; e.g. num_features=2")
        object.__setattr__(
            self, "noise", check_finite("noise", self.noise, low=0.0, hint="e.g. 0.01", magnitude=_DATA_MAX)
        )
        check_choice("noise_dist", self.noise_dist, NOISE_DISTS)
        object.__setattr__(self, "noise_repeats", check_int("noise_repeats", self.noise_repeats, low=1))
        self.check_labels(self.label_reach)

    @property
    def label_reach(self) -> float:
        """How large the labels get: |b| plus six standard deviations of Xw and of the noise
        (drawn weights count as one each)."""
        w2 = math.fsum(v * v for v in self.true_w) if self.true_w is not None else float(self.dim)
        return abs(self.true_b) + _SIGMAS * (math.sqrt(w2) + math.sqrt(self.noise_variance))

    def check_labels(self, reach: float) -> None:
        """Refuse labels of size ``reach`` (expected, or drawn) that float32 training cannot square,
        naming the setting that makes them so large."""
        if reach <= LABEL_MAX:
            return
        w = max((abs(v) for v in self.true_w), default=1.0) if self.true_w is not None else 1.0
        parts = {
            f"true_b {self.true_b:g}": abs(self.true_b),
            f"true_w (up to {w:g})": math.sqrt(math.fsum(v * v for v in self.true_w or ())),
            f"noise {self.noise:g}": math.sqrt(self.noise_variance),
        }
        culprit = max(parts, key=lambda k: parts[k])
        raise ValueError(
            f"{culprit} makes labels of about {reach:.3g}, too large for float32 training (the loss squares "
            f"them; at most {LABEL_MAX:.3g}); choose a smaller {culprit.split()[0]}"
        )

    @property
    def nbytes(self) -> int:
        """About the memory a run on these data holds at once: the float32 features, a byte a value
        to check them, and some 32 bytes a row for the labels, the noise and each epoch's order."""
        return self.num_examples * (_BYTES_PER_VALUE * self.dim + _BYTES_PER_ROW)

    def check_fits(self) -> None:
        """Refuse, before anything is allocated, data that do not fit in the memory available now."""
        need, have = self.nbytes, memory.available_bytes()
        if need > have:
            raise ValueError(
                f"{self.num_examples:,} rows × {self.dim:,} features need about {memory.human_bytes(need)} of "
                f"memory and {memory.human_bytes(have)} is available; ask for fewer rows or features"
            )

    @property
    def dim(self) -> int:
        if self.num_features is not None:
            return self.num_features
        assert self.true_w is not None  # __post_init__ requires one of them
        return len(self.true_w)

    @property
    def noise_variance(self) -> float:
        """Variance of the total noise added to y (Laplace(b) has variance 2b²)."""
        per = self.noise**2 * (2.0 if self.noise_dist == "laplace" else 1.0)
        return per * self.noise_repeats**2


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the step, the loss and the implementation (nanoGPT-style config)."""

    lr: float = 0.03  # SGD step size
    batch_size: int = 10  # rows per step; the last partial batch is kept
    epochs: int = 3  # passes over the data, each in a fresh random order
    impl: str = "scratch"  # scratch (tensors + autograd), concise (torch.nn), fast (compiled)
    loss: str = "half_squared"  # half_squared = ½(ŷ−y)²; squared = (ŷ−y)²
    grad_reduction: str = "mean"  # mean: divide the summed gradient by the batch size; sum: don't
    init_std: float = 0.01  # initial weights ~ N(0, init_std²)
    init_bias_std: float = 0.0  # initial bias ~ N(0, init_bias_std²); 0 means b = 0
    report: str = "full"  # full: loss over all rows after each epoch; running: mean of batch losses
    huber_delta: float = 1.0  # where the Huber loss turns from quadratic to linear
    lr_schedule: str = "constant"  # constant, step (lr·decay^(e−1)) or inverse-time (lr / (1 + decay·(e−1)))
    lr_decay: float = 0.5  # the decay of the step and inverse-time schedules, per epoch
    model: str = "linear"  # linear regression, or softmax regression over class labels
    weight_decay: float = 0.0  # λ: each step adds λ·w to the gradient of the weights (not the bias)
    shuffle: str = "rows"  # each epoch's order: rows (one random permutation) or blocks (batches.block_order)

    def __post_init__(self):
        object.__setattr__(self, "lr", check_finite("lr", self.lr, low=0.0, low_inclusive=False, hint="e.g. 0.03"))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, low=1, hint="e.g. 10"))
        object.__setattr__(self, "epochs", check_int("epochs", self.epochs, low=1, hint="e.g. 3"))
        check_choice("impl", self.impl, IMPLS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("grad_reduction", self.grad_reduction, REDUCTIONS)
        object.__setattr__(self, "init_std", check_finite("init_std", self.init_std, low=0.0))
        object.__setattr__(self, "init_bias_std", check_finite("init_bias_std", self.init_bias_std, low=0.0))
        check_choice("report", self.report, REPORTS)
        check_choice("model", self.model, MODELS)
        if (self.model == "softmax") != (self.loss == "cross_entropy"):
            raise ValueError(
                f"loss {self.loss!r} does not fit model {self.model!r}: softmax regression "
                f"uses cross_entropy, linear regression half_squared, squared, l1 or huber"
            )
        object.__setattr__(
            self, "weight_decay", check_finite("weight_decay", self.weight_decay, low=0.0, hint="e.g. 0.001")
        )
        object.__setattr__(
            self,
            "huber_delta",
            check_finite("huber_delta", self.huber_delta, low=0.0, low_inclusive=False, hint="e.g. 1.0"),
        )
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("shuffle", self.shuffle, SHUFFLES)
        object.__setattr__(self, "lr_decay", check_finite("lr_decay", self.lr_decay, low=0.0, hint="e.g. 0.5"))

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (counted from 1) under the schedule."""
        if self.lr_schedule == "step":
            return self.lr * self.lr_decay ** (epoch - 1)
        if self.lr_schedule == "inverse-time":
            return self.lr / (1.0 + self.lr_decay * (epoch - 1))
        return self.lr

    @property
    def loss_factor(self) -> float:
        """c in the per-example loss c·(ŷ−y)² (linear regression)."""
        return 0.5 if self.loss == "half_squared" else 1.0


@dataclass(frozen=True)
class Experiment:
    """One reproducible run: data, training and the seed that fixes every random draw."""

    data: SyntheticSpec
    train: TrainConfig
    seed: int = 0
    preset: str | None = None

    def __post_init__(self):
        if not isinstance(self.data, SyntheticSpec):
            raise TypeError(f"data must be a SyntheticSpec, got {type(self.data).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a TrainConfig, got {type(self.train).__name__}")
        object.__setattr__(self, "seed", check_seed(self.seed))

    @property
    def noise_floor(self) -> float | None:
        """Expected loss of the true parameters: c · Var(ε) for squared losses, E|ε| for l1 (None for Huber)."""
        if self.train.loss == "l1":
            total = self.data.noise * self.data.noise_repeats
            return total * (1.0 if self.data.noise_dist == "laplace" else math.sqrt(2 / math.pi))
        if self.train.loss == "huber":
            return None
        return self.train.loss_factor * self.data.noise_variance
