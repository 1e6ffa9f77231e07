"""The generator of examples/stores.csv: made-up weekly sales of 30 stores, for robust standard errors.

sales = 20 + 3·price_cut + 1.5·ads + u_store + (1 + ads/2)·N(0, 2²), 20 weeks of 30 stores: the noise grows
with the advertising (heteroskedastic) and each store has its own level u_store ~ N(0, 4²), shared by its
weeks (clustered).
"""

import numpy as np


def make_stores(stores: int = 30, weeks: int = 20, seed: int = 4) -> str:
    rng = np.random.default_rng(seed)
    store = np.repeat([f"S{i + 1:02d}" for i in range(stores)], weeks)
    level = np.repeat(rng.normal(0, 4, stores), weeks)
    price_cut = rng.uniform(0, 3, stores * weeks).round(2)
    ads = rng.integers(0, 10, stores * weeks)
    noise = (1 + ads / 2) * rng.normal(0, 2, stores * weeks)
    sales = (20 + 3 * price_cut + 1.5 * ads + level + noise).round(1)
    lines = ["store,price_cut,ads,sales"] + [
        ",".join(map(str, r)) for r in zip(store, price_cut, ads, sales, strict=True)
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(make_stores(), end="")
