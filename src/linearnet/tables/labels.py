"""Class labels as int64 codes and class names."""

from __future__ import annotations

import numpy as np

MAX_SPARSE_CLASSES = 1000  # class numbers up to this may skip some, whatever the rows


def encode_labels(values, *, where: str = "labels", least: int = 2) -> tuple[np.ndarray, list[str]]:
    """Class labels as int64 codes and class names.

    Whole numbers >= 0 are class numbers themselves (classes 0..max); any other value (text,
    a date, a time, a boolean) makes every distinct value a class, named as it prints (dates as
    2024-01-05, booleans False and True), sorted. NaN, empty, negative or fractional numbers, and a single class are
    refused with a message naming the first offending row (counted from 1). So are class
    numbers that would make more classes than there are rows (and more than
    ``MAX_SPARSE_CLASSES``, so that small tables may skip numbers): most of those classes
    would have no row to learn from, and class 10⁹ would ask for 10⁹ classes of memory.
    """
    from decimal import Decimal
    from numbers import Real

    if not (isinstance(values, np.ndarray) and values.dtype.kind in "iu"):  # an array of integers is checked whole
        values = list(values)
    if not len(values):
        raise ValueError(f"{where}: no labels")
    fast = _plain_class_numbers(values, least)
    if fast is not None:
        return fast
    values = values.tolist() if isinstance(values, np.ndarray) else values  # Python ints, row by row below
    for i, v in enumerate(values, start=1):
        if v is None or (isinstance(v, float) and v != v) or v == "":
            raise ValueError(f"{where}: row {i}: missing label")
    booleans = all(isinstance(v, (bool, np.bool_)) for v in values)  # False and True: named, as R's factor
    if booleans or not all(isinstance(v, (Real, Decimal)) for v in values):  # text, dates, times: names
        text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
        classes = sorted(set(text))
        index = {c: k for k, c in enumerate(classes)}
        codes = np.array([index[t] for t in text], dtype=np.int64)
    else:
        codes, classes = _class_numbers(values, where)
    if len(np.unique(codes)) < least:
        raise ValueError(
            f"{where}: every row has the same class {classes[int(codes[0])]!r}; "
            f"classification needs at least two classes"
        )
    return codes, classes


def _plain_class_numbers(values: list | np.ndarray, least: int) -> tuple[np.ndarray, list[str]] | None:
    """Class numbers of an integer array, or of plain Python ints and floats, all whole, >= 0 and few enough,
    checked as arrays (a million labels in 0.05 s, where the rules value by value take 0.8 s); None for
    anything else, which :func:`encode_labels` then reads value by value (and refuses with the row)."""
    if isinstance(values, np.ndarray):
        if not len(values) or values.min() < 0:
            return None
        codes = values.astype(np.int64, copy=False)
    else:
        if not set(map(type, values)) <= {int, float}:  # bool is a type of its own: not class numbers
            return None
        numbers = np.asarray(values, dtype=np.float64)
        if not (np.isfinite(numbers).all() and (numbers >= 0).all() and (numbers == np.floor(numbers)).all()):
            return None
        if numbers.max() >= 2**53:
            return None
        codes = numbers.astype(np.int64)
    top = int(codes.max())
    if top + 1 > max(len(codes), MAX_SPARSE_CLASSES):
        return None
    if np.count_nonzero(np.bincount(codes, minlength=top + 1)) < least:
        return None
    return codes, [str(c) for c in range(top + 1)]


def is_class_numbers(values: list | np.ndarray) -> bool:
    """Whether labels are class numbers (whole numbers, not booleans), as :func:`encode_labels` reads them."""
    from decimal import Decimal
    from numbers import Real

    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return True
    types = set(map(type, values))
    if types <= {int, float}:
        return True
    return all(isinstance(v, (Real, Decimal)) and not isinstance(v, (bool, np.bool_)) for v in values)


def _class_numbers(values: list, where: str) -> tuple[np.ndarray, list[str]]:
    """Whole numbers >= 0 as the class numbers they are, classes 0..max; refused with the first bad row."""
    numbers = []
    for i, v in enumerate(values, start=1):
        f = float(v)
        if not np.isfinite(f) or f != int(f):
            raise ValueError(f"{where}: row {i}: class {v!r} is not a whole number")
        if f < 0:
            raise ValueError(f"{where}: row {i}: class {int(f)} is negative; classes are numbered from 0")
        numbers.append(int(f))
    top = max(numbers)  # checked before an int64 array is made: 1e300 is a whole number too
    if top + 1 > max(len(numbers), MAX_SPARSE_CLASSES):
        many = (lambda k: f"{k:,}") if top < 10**15 else (lambda k: f"{float(k):.3g}")
        raise ValueError(
            f"{where}: row {numbers.index(top) + 1}: class {many(top)} would make {many(top + 1)} classes "
            f"(numbered from 0) for {len(numbers):,} rows; number the classes 0, 1, 2, ..., or write "
            f"them as text, where each distinct value is a class"
        )
    return np.array(numbers, dtype=np.int64), [str(c) for c in range(top + 1)]
