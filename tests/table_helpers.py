"""What the tests of linearnet.tables share: a file written, and a table read whole and in chunks."""

import numpy as np

from linearnet.tables import read_table, table_chunks


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return str(path)


PRICES = [400.0, 250.0, 480.0, 190.0]


def both_ways(path, **options):
    """(feature names, X, y, notes) read whole and read in chunks of one row: the same by the one reader."""
    table = read_table(path, target="price", **options)
    chunks, names = table_chunks(path, target="price", chunk_rows=1, **options)
    parts = list(chunks())
    X, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    notes = [*chunks.notes, *([chunks.dropped_note] if chunks.dropped_note else [])]
    assert names == table.feature_names and notes == table.notes
    np.testing.assert_array_equal(X, table.features)
    np.testing.assert_array_equal(y, table.target)
    return table.feature_names, X, y, table.notes


def stacked(parts):
    X = np.concatenate([X for X, _ in parts]) if parts else np.empty((0, 1))
    y = np.concatenate([y for _, y in parts]) if parts else np.empty(0)
    return X, y
