"""Fixtures shared by the test modules. Plain helpers (cli, IMPLS, HOUSES, ...) are in helpers.py."""

import pytest
from hypothesis import settings

# Hypothesis draws the same examples on every machine and keeps no database of failures between runs:
# a run on a clean checkout (CI) tests what a developer's run tested.
settings.register_profile("linearnet", derandomize=True, database=None)
settings.load_profile("linearnet")


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8 x 8 digits, split as linearnet.datasets.load_digits does; loaded once per run."""
    from linearnet.datasets import load_digits

    return load_digits()
