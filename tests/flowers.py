"""The generator of examples/flowers.csv: made-up flower measurements with a text label, synthetic.

Three species, 50 rows each; sepal and petal length (cm) drawn around a mean per species.
"""

import random

SPECIES = {"setosa": (4.5, 1.4), "versicolor": (5.4, 3.5), "virginica": (6.3, 5.6)}


def make_flowers(seed: int = 1) -> str:
    rng = random.Random(seed)
    rows = ["sepal,petal,species"]
    for i in range(150):
        name = list(SPECIES)[i % 3]
        sepal, petal = SPECIES[name]
        rows.append(f"{sepal + rng.gauss(0, 0.35):.1f},{petal + rng.gauss(0, 0.4):.1f},{name}")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(make_flowers())
