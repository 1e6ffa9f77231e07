"""The generator of examples/homes.csv: made-up home prices with a city and a gap, for formulas.

price = 30 + 2.4·area + 8·rooms − 12·log(age) + 90 in Paris, 30 in Nice + 0.02·area·rooms + N(0, 8²),
40 homes; the price of row 4 is missing (NA).
"""

import numpy as np


def make_homes(n: int = 40, seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Nice", "Paris"], n)
    area, rooms, age = rng.uniform(40, 200, n).round(1), rng.integers(1, 6, n), rng.integers(1, 80, n)
    price = 30 + 2.4 * area + 8 * rooms - 12 * np.log(age) + np.select([city == "Paris", city == "Nice"], [90, 30], 0)
    price = (price + 0.02 * area * rooms + rng.normal(0, 8, n)).round(1)
    lines = ["area,rooms,age,city,price"] + [
        ",".join(map(str, r)) for r in zip(area, rooms, age, city, price, strict=True)
    ]
    lines[4] = lines[4].rsplit(",", 1)[0] + ",NA"
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(make_homes(), end="")
