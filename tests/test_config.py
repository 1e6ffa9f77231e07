"""Training settings (linearnet.config): learning-rate schedules."""

import pytest

from linearnet.config import TrainConfig


def test_schedules():
    c = TrainConfig(lr=0.4, lr_schedule="step", lr_decay=0.5)
    assert [c.lr_at(e) for e in (1, 2, 3)] == [0.4, 0.2, 0.1]
    c = TrainConfig(lr=0.4, lr_schedule="inverse-time", lr_decay=1.0)
    assert [c.lr_at(e) for e in (1, 2, 4)] == pytest.approx([0.4, 0.2, 0.1])
    assert TrainConfig(lr=0.4).lr_at(9) == 0.4
