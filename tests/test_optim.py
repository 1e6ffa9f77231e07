"""Minibatch SGD from scratch (linearnet.optim.sgd): the step and the zeroed gradients."""

import torch

from linearnet import linreg, sgd, squared_loss


def test_sgd_steps_along_the_mean_gradient_and_zeroes_it():
    w = torch.tensor([[1.0], [2.0]], requires_grad=True)
    X, y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.zeros(3, 1)
    squared_loss(linreg(X, w, 0.0), y).sum().backward()
    grad = w.grad.clone()  # Σ r x = [1+3, 2+3]
    torch.testing.assert_close(grad, torch.tensor([[4.0], [5.0]]))
    sgd([w], lr=0.3, batch_size=3)
    torch.testing.assert_close(w.detach(), torch.tensor([[1.0 - 0.4], [2.0 - 0.5]]))
    assert torch.count_nonzero(w.grad) == 0


def test_sgd_zeroes_the_gradients_so_the_next_step_uses_only_its_own():
    """Autograd adds each backward() to .grad: without sgd's zeroing, step 2 would also move along step 1's gradient."""
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    y = torch.tensor([[1.0], [-1.0], [0.5], [3.0]])
    w = torch.tensor([[1.0], [2.0]], requires_grad=True)
    b = torch.tensor([0.5], requires_grad=True)
    lr, n = 0.1, len(X)

    def by_hand(w, b):  # the mean gradient of ½(Xw + b − y)²: (Xᵀr, Σr) / n
        r = X @ w + b - y
        return w - lr * X.T @ r / n, b - lr * r.sum(0) / n

    w1, b1 = by_hand(w.detach(), b.detach())
    w2, b2 = by_hand(w1, b1)
    for expected_w, expected_b in ((w1, b1), (w2, b2)):
        squared_loss(linreg(X, w, b), y).sum().backward()
        sgd([w, b], lr=lr, batch_size=n)
        torch.testing.assert_close(w.detach(), expected_w)
        torch.testing.assert_close(b.detach(), expected_b)
        assert torch.count_nonzero(w.grad) == 0 and torch.count_nonzero(b.grad) == 0
