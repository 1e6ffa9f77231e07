"""The generator of examples/houses.csv: made-up house prices, synthetic, for the README and tests.

price (thousands) = 50 + 2.5·area (m²) + 8·rooms − 0.6·age (years) + N(0, 15²), 200 houses.
"""

import csv
import io

import numpy as np

TRUE = {"intercept": 50.0, "area": 2.5, "rooms": 8.0, "age": -0.6}
NOISE = 15.0


def make_houses(n: int = 200, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    area = rng.integers(40, 250, n)
    rooms = np.clip(np.round(area / 40 + rng.normal(0, 0.8, n)), 1, 8).astype(int)
    age = rng.integers(0, 80, n)
    price = (
        TRUE["intercept"] + TRUE["area"] * area + TRUE["rooms"] * rooms + TRUE["age"] * age + rng.normal(0, NOISE, n)
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["area", "rooms", "age", "price"])
    for row in zip(area, rooms, age, np.round(price, 1), strict=True):
        w.writerow([int(row[0]), int(row[1]), int(row[2]), f"{row[3]:.1f}"])
    return buf.getvalue()


if __name__ == "__main__":
    import sys

    sys.stdout.write(make_houses())
