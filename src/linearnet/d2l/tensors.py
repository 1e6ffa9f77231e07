"""The tensor aliases the book's text uses (``d2l.normal``, ``d2l.reshape``, ...), bound to PyTorch.

The book writes its code once for several frameworks and reaches the framework through these names;
here they are PyTorch's functions, or small functions calling the tensor method of the same meaning.
"""

from __future__ import annotations

import torch

__all__ = [
    "ones",
    "zeros",
    "zeros_like",
    "ones_like",
    "tensor",
    "arange",
    "meshgrid",
    "sin",
    "sinh",
    "cos",
    "cosh",
    "tanh",
    "linspace",
    "exp",
    "log",
    "normal",
    "rand",
    "randn",
    "matmul",
    "int32",
    "int64",
    "float32",
    "concat",
    "stack",
    "abs",
    "eye",
    "numpy",
    "size",
    "reshape",
    "to",
    "reduce_sum",
    "reduce_mean",
    "argmax",
    "astype",
    "transpose",
]

ones = torch.ones
zeros = torch.zeros
zeros_like = torch.zeros_like
ones_like = torch.ones_like
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
randn = torch.randn
matmul = torch.matmul
int32 = torch.int32
int64 = torch.int64
float32 = torch.float32
concat = torch.cat
stack = torch.stack
abs = torch.abs
eye = torch.eye


def numpy(x, *args, **kwargs):
    """The tensor as a NumPy array, detached from autograd."""
    return x.detach().numpy(*args, **kwargs)


def size(x, *args, **kwargs):
    """The number of elements."""
    return x.numel(*args, **kwargs)


def reshape(x, *args, **kwargs):
    return x.reshape(*args, **kwargs)


def to(x, *args, **kwargs):
    return x.to(*args, **kwargs)


def reduce_sum(x, *args, **kwargs):
    return x.sum(*args, **kwargs)


def reduce_mean(x, *args, **kwargs):
    return x.mean(*args, **kwargs)


def argmax(x, *args, **kwargs):
    return x.argmax(*args, **kwargs)


def astype(x, *args, **kwargs):
    """The tensor converted to another dtype (``Tensor.type``)."""
    return x.type(*args, **kwargs)


def transpose(x, *args, **kwargs):
    return x.t(*args, **kwargs)
