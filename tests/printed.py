"""Numbers as a program prints them, compared as another machine may print them (the stored outputs of the
notebooks and of the README's examples against a fresh run).

Whole numbers (epochs, counts, rows) must be equal. Other numbers agree when within 1e-4 relative, 1e-6
absolute, or one unit of the last digit printed. Why: training runs in float32 (ε = 1.2e-7) on values of
order 1 to 10, and another BLAS kernel sums in another order: weights move by a float32 unit or two
(measured 2.4e-7 between OpenBLAS' Haswell and SkylakeX kernels), and a loss near the noise floor,
½(ŷ − y)² with residuals 1e-3 of ŷ, moves by that change over the residual (measured 3.6e-6 relative).
A different seed, learning rate or algorithm moves them by percents; a number rounded for printing may
flip its last digit.
"""

import re

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
NUMBERS_AGREE = {"rel": 1e-4, "abs": 1e-6}


def last_digit(token: str) -> float:
    """The unit of the last digit written in a number token: 0.000253 -> 1e-6, 12 -> 1, 2.5e-05 -> 1e-6."""
    mantissa, _, exponent = token.lower().partition("e")
    return 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))


def same_number(a: str, b: str) -> bool:
    """Whether two printed numbers agree as the module's docstring says."""
    if not re.search(r"[.eE]", a + b):  # whole numbers are exact
        return a == b
    x, y = float(a), float(b)
    slack = max(NUMBERS_AGREE["rel"] * max(abs(x), abs(y)), NUMBERS_AGREE["abs"], last_digit(a), last_digit(b))
    return abs(x - y) <= slack * (1 + 1e-9)
