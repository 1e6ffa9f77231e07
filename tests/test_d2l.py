"""linearnet.d2l: the book's chapter-3 names behave as the book's code relies on them (d2l 0.17, PyTorch)."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from linearnet import d2l


def test_importing_linearnet_loads_neither_d2l_nor_matplotlib():
    code = "import sys, linearnet; print('linearnet.d2l' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_book_import_line_works_and_top_level_names_keep_their_meaning():
    import linearnet

    namespace: dict = {}
    exec("from linearnet import d2l", namespace)
    assert namespace["d2l"] is d2l
    assert linearnet.accuracy is not d2l.accuracy and linearnet.load_array is not d2l.load_array
    assert linearnet.cross_entropy is not d2l.cross_entropy
    for name in d2l.__all__:
        assert getattr(d2l, name) is not None, name


def test_synthetic_data_draws_from_the_global_generator_in_the_books_order():
    w, b = torch.tensor([2, -3.4]), 4.2
    torch.manual_seed(0)
    features, labels = d2l.synthetic_data(w, b, 1000)
    assert features.shape == (1000, 2) and labels.shape == (1000, 1)
    assert features.dtype == labels.dtype == torch.float32
    torch.manual_seed(0)
    X = torch.normal(0, 1, (1000, 2))
    noise = torch.normal(0, 0.01, (1000,))
    assert torch.equal(features, X)
    assert torch.equal(labels, (X @ w + b + noise).reshape(-1, 1))
    assert 0.005 < float((labels - (features @ w + b).reshape(-1, 1)).std()) < 0.015  # noise σ = 0.01


def test_load_array_is_a_dataloader_of_list_batches():
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10.0).reshape(10, 1)
    loader = d2l.load_array((X, y), 4, is_train=False)
    assert isinstance(loader, torch.utils.data.DataLoader)
    batches = list(loader)
    assert all(isinstance(batch, list) and len(batch) == 2 for batch in batches)
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([by for _, by in batches]), y)  # in order when not training
    torch.manual_seed(0)
    shuffled = torch.cat([by for _, by in d2l.load_array((X, y), 4)])
    assert not torch.equal(shuffled, y) and torch.equal(shuffled.sort(0).values, y)


def test_accuracy_is_a_count_as_a_float_and_takes_the_argmax_only_of_2d_predictions():
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert d2l.accuracy(y_hat, y) == 1.0 and isinstance(d2l.accuracy(y_hat, y), float)
    assert d2l.accuracy(torch.tensor([0, 2, 1]), torch.tensor([0, 2, 2])) == 2.0  # class numbers as they are
    assert d2l.accuracy(torch.tensor([[1.0], [0.0]]), torch.tensor([[1.0], [1.0]])) == 1.0  # one column: no argmax


class Counting(nn.Module):
    """A net that remembers the mode it was called in."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.modes: list[bool] = []

    def forward(self, X):
        self.modes.append(self.training)
        return self.linear(X)


def test_evaluate_accuracy_is_a_fraction_and_puts_a_module_in_eval_mode():
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0])
    net = Counting()
    with torch.no_grad():
        net.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        net.linear.bias.zero_()
    assert net.training
    assert d2l.evaluate_accuracy(net, d2l.load_array((X, y), 3, is_train=False)) == 0.75
    assert net.modes == [False, False]
    assert d2l.evaluate_accuracy(lambda X: X, [(X, y)]) == 0.75  # a plain function is called as it is


def test_accumulator_adds_resets_and_indexes():
    metric = d2l.Accumulator(2)
    metric.add(1, torch.tensor(2.5))
    metric.add(2.0, 1)
    assert metric[0] == 3.0 and metric[1] == 3.5 and metric[:] == [3.0, 3.5]
    metric.reset()
    assert metric.data == [0.0, 0.0]


def test_linreg_squared_loss_and_sgd_are_the_books():
    X, w, b = torch.ones(3, 2), torch.tensor([[1.0], [2.0]], requires_grad=True), torch.zeros(1, requires_grad=True)
    y_hat = d2l.linreg(X, w, b)
    assert y_hat.shape == (3, 1)
    l = d2l.squared_loss(y_hat, torch.tensor([1.0, 3.0, 5.0]))  # y is reshaped to ŷ's shape
    assert l.shape == (3, 1) and torch.equal(l.detach(), torch.tensor([[2.0], [0.0], [2.0]]))
    l.sum().backward()
    d2l.sgd([w, b], 0.5, 3)
    assert torch.allclose(w.detach(), torch.tensor([[1.0], [2.0]]))  # the gradients cancel: 2 - 2 = 0
    assert torch.equal(w.grad, torch.zeros_like(w)) and torch.equal(b.grad, torch.zeros_like(b))


def test_softmax_and_cross_entropy_take_probabilities_as_the_books_text():
    X = torch.tensor([[0.0, 0.0], [0.0, float(np.log(3.0))]])
    probs = d2l.softmax(X)
    assert torch.allclose(probs, torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert torch.allclose(d2l.cross_entropy(y_hat, torch.tensor([0, 2])), -torch.log(torch.tensor([0.1, 0.5])))


def _data():
    torch.manual_seed(1)
    X = torch.randn(60, 2)
    y = (X[:, 0] > 0).long()
    return d2l.load_array((X, y), 20)


def test_train_epoch_ch3_with_an_optimizer_steps_on_the_mean_loss():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2))
    net.eval()
    loss = nn.CrossEntropyLoss(reduction="none")
    train_iter = _data()
    with torch.no_grad():
        loss_before = sum(float(loss(net(X), y).sum()) for X, y in train_iter) / 60
    mean_loss, acc = d2l.train_epoch_ch3(net, train_iter, loss, torch.optim.SGD(net.parameters(), lr=0.5))
    assert net.training  # train mode
    assert 0 < mean_loss < loss_before + 0.1 and 0 <= acc <= 1
    assert acc * 60 == round(acc * 60)  # a fraction of the 60 examples


def test_train_epoch_ch3_with_a_function_calls_it_with_the_batch_size_after_the_summed_loss():
    W = torch.zeros(2, 2, requires_grad=True)
    sizes, grads = [], []

    def updater(batch_size):
        sizes.append(batch_size)
        grads.append(W.grad.clone())
        d2l.sgd([W], 0.1, batch_size)

    def net(X):
        return d2l.softmax(X @ W)

    mean_loss, acc = d2l.train_epoch_ch3(net, _data(), d2l.cross_entropy, updater)
    assert sizes == [20, 20, 20]
    assert mean_loss == pytest.approx(np.log(2), rel=0.1) and 0 <= acc <= 1
    assert float(grads[0].abs().sum()) > 1  # the summed loss's gradient, not the mean's


def test_timer_is_the_books():
    timer = d2l.Timer()
    assert timer.stop() >= 0
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() == pytest.approx(sum(timer.times))
    assert timer.avg() == pytest.approx(timer.sum() / 2) and timer.cumsum()[-1] == pytest.approx(timer.sum())


def test_the_tensor_aliases_are_torchs():
    x = d2l.arange(6, dtype=d2l.float32)
    assert d2l.size(x) == 6 and d2l.reshape(x, (2, 3)).shape == (2, 3)
    assert isinstance(d2l.numpy(x.requires_grad_()), np.ndarray)
    assert d2l.astype(d2l.tensor([1.5]), d2l.int32).dtype == torch.int32
    assert int(d2l.argmax(d2l.tensor([[1, 3, 2]]), axis=1)) == 1
    assert float(d2l.reduce_sum(d2l.ones(2, 3))) == 6 and float(d2l.reduce_mean(d2l.zeros(2))) == 0
    assert d2l.concat((d2l.ones(1, 2), d2l.zeros(1, 2)), dim=0).shape == (2, 2)
    assert d2l.stack([d2l.ones(2), d2l.ones(2)]).shape == (2, 2)
    assert d2l.transpose(d2l.ones(2, 3)).shape == (3, 2) and d2l.to(x, torch.float64).dtype == torch.float64
    assert d2l.matmul(d2l.eye(2), d2l.ones(2, 1)).shape == (2, 1)
    assert d2l.normal(0, 1, (3, 4)).shape == (3, 4) and d2l.exp(d2l.log(d2l.tensor(2.0))) == pytest.approx(2.0)
