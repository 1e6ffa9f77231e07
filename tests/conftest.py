"""Fixtures shared by the test modules. Plain helpers (cli, IMPLS, HOUSES, ...) are in helpers.py."""

import pytest


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8 x 8 digits, split as linearnet.datasets.load_digits does; loaded once per run."""
    from linearnet.datasets import load_digits

    return load_digits()
