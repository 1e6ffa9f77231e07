"""The larger example tables the README's walk-through reads, made here rather than shipped.

    python make-tables.py     # in a copy of examples/: writes wide.csv, sensors.csv, sales/ and parts/

- wide.csv: 3 rows of 60,000 features and y (more parameters than rows);
- sensors.csv: 300,000 rows, y = 2a − 3.4b + 0.5c + 4.2 + N(0, 0.1²), about 12 MB;
- parts/: three CSV files of 20,000 rows each, 0.csv, 1.csv and 2.csv, with the columns of sensors.csv;
- sales/: four Parquet files of 250,000 rows each, revenue = 40 − 2.5·price + 6·ads − 1.2·rain + N(0, 3²).
The same files every time (seeded).
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

rng = np.random.default_rng(1)  # each table its own seed: a table added here changes no other
names = [f"x{i}" for i in range(1, 60001)] + ["y"]
np.savetxt("wide.csv", rng.random((3, 60001)).round(3), delimiter=",", header=",".join(names), comments="", fmt="%g")

rng = np.random.default_rng(2)
X = rng.normal(size=(300_000, 3))
y = X @ [2.0, -3.4, 0.5] + 4.2 + rng.normal(0, 0.1, len(X))
np.savetxt("sensors.csv", np.c_[X, y], delimiter=",", header="a,b,c,y", comments="", fmt="%.6f")

rng = np.random.default_rng(3)
Path("parts").mkdir(exist_ok=True)
for part in range(3):
    X = rng.normal(size=(20_000, 3))
    y = X @ [2.0, -3.4, 0.5] + 4.2 + rng.normal(0, 0.1, len(X))
    np.savetxt(f"parts/{part}.csv", np.c_[X, y], delimiter=",", header="a,b,c,y", comments="", fmt="%.6f")

rng = np.random.default_rng(4)
Path("sales").mkdir(exist_ok=True)
for month in range(1, 5):
    price, ads, rain = rng.uniform(5, 15, 250_000), rng.uniform(0, 3, 250_000), rng.exponential(2, 250_000)
    revenue = 40 - 2.5 * price + 6 * ads - 1.2 * rain + rng.normal(0, 3, 250_000)
    table = pa.table({"price": price, "ads": ads, "rain": rain, "revenue": revenue})
    pq.write_table(table, f"sales/2026-0{month}.parquet", row_group_size=50_000)

print("wrote wide.csv, sensors.csv, parts/ (3 CSV files) and sales/ (4 Parquet files)")
