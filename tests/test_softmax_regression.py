"""Softmax regression's pieces (linearnet.softmax_regression) against torch, even for huge logits."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet.softmax_regression import SoftmaxRegression, accuracy, cross_entropy, evaluate_accuracy, softmax


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([1.0, 100.0, 1e4]), seed=st.integers(0, 1000))
def test_softmax_and_cross_entropy_match_torch_even_for_huge_logits(scale, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(16, 5, generator=g, dtype=torch.float64) * scale
    y = torch.randint(5, (16,), generator=g)
    p = softmax(z)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, torch.softmax(z, dim=1))
    torch.testing.assert_close(cross_entropy(z, y), F.cross_entropy(z, y, reduction="none"))


def test_cross_entropy_does_not_underflow():
    z = torch.tensor([[0.0, -1e4]])
    assert cross_entropy(z, torch.tensor([1])).item() == pytest.approx(1e4)
    assert softmax(torch.tensor([[1e4, -1e4]])).tolist() == [[1.0, 0.0]]


def test_accuracy_counts_right_predictions():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert accuracy(y_hat, torch.tensor([0, 2])) == 1.0
    net = SoftmaxRegression(torch.eye(2), torch.zeros(2))
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert evaluate_accuracy(net, [(X, torch.tensor([0, 1, 1]))]) == pytest.approx(2 / 3)


def test_predict_is_the_class_of_the_largest_logit():
    W = torch.tensor([[1.0, -1.0, 0.0], [0.0, 2.0, -2.0]])  # (d=2, q=3)
    net = SoftmaxRegression(W, torch.tensor([0.0, 0.0, 1.0]))
    X = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 0.0]])
    assert net.predict(X).tolist() == [0, 1, 2, 2]
    assert torch.equal(net.predict(X), softmax(net(X)).argmax(dim=1))
