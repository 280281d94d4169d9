"""Reference numbers for tests/conv_reference.rs (Conv2D, max and average pooling), from PyTorch
in float64.

Keras's layout is converted to PyTorch's: input [n, h, w, c] -> [n, c, h, w], kernel
[kh, kw, in, out] -> weight [out, in, kh, kw]; "same" padding is Keras's (TensorFlow's): the
total zeros max((out - 1) * stride + span - in, 0) split with the odd one after, applied with
F.pad so strides other than 1 work too. The loss is sum(y * r) for a fixed r, so the gradients
are those of every output element with a different weight.
Run (PyTorch from PyPI in a virtual environment): python scripts/reference/conv2d.py
"""
import math
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def values(n, f):
    return torch.tensor([f(i) for i in range(n)])


def case(name, x_shape, k_shape, strides, dilation, same):
    n, h, w, c = x_shape
    kh, kw, _, out = k_shape
    x = values(n * h * w * c, lambda i: math.sin(0.37 * i + 0.1)).reshape(x_shape).requires_grad_()
    k = values(kh * kw * c * out, lambda i: 0.5 * math.cos(0.91 * i)).reshape(k_shape).requires_grad_()
    b = values(out, lambda i: 0.1 * i - 0.05).requires_grad_()
    xt = x.permute(0, 3, 1, 2)
    if same:
        pads = []
        for size, kk, s, d in ((w, kw, strides[1], dilation[1]), (h, kh, strides[0], dilation[0])):
            o = -(-size // s)
            total = max((o - 1) * s + d * (kk - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        xt = F.pad(xt, pads)
    y = F.conv2d(xt, k.permute(3, 2, 0, 1), b, stride=strides, dilation=dilation).permute(0, 2, 3, 1)
    r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
    (y * r).sum().backward()
    print(f"// {name}: y {list(y.shape)}")
    for label, t in (("y", y), ("dx", x.grad), ("dk", k.grad), ("db", b.grad)):
        print(f"const {name.upper()}_{label.upper()}: &[f64] = &[{', '.join(repr(v) for v in t.detach().flatten().tolist())}];")


case("valid", (2, 4, 5, 2), (3, 2, 2, 3), (1, 1), (1, 1), False)
case("same_strided", (1, 5, 4, 2), (3, 3, 2, 2), (2, 2), (1, 1), True)
case("dilated", (1, 6, 5, 1), (2, 2, 1, 2), (1, 2), (2, 1), False)


def pool_case(name, x_shape, pool, strides, same):
    """Max and average pooling; "same" pads as Keras (the odd zero after) and averages over the
    elements present: -inf padding for the max, sum over count of present elements for the mean."""
    n, h, w, c = x_shape
    for kind in ("max", "average"):
        x = values(n * h * w * c, lambda i: math.sin(0.37 * i + 0.1)).reshape(x_shape).requires_grad_()
        xt = x.permute(0, 3, 1, 2)
        pads = [0, 0, 0, 0]
        if same:
            pads = []
            for size, p, s in ((w, pool[1], strides[1]), (h, pool[0], strides[0])):
                o = -(-size // s)
                total = max((o - 1) * s + p - size, 0)
                pads += [total // 2, total - total // 2]
        if kind == "max":
            y = F.max_pool2d(F.pad(xt, pads, value=-math.inf), pool, strides)
        else:
            ones = torch.ones_like(xt)
            total = F.avg_pool2d(F.pad(xt, pads), pool, strides, divisor_override=1)
            count = F.avg_pool2d(F.pad(ones, pads), pool, strides, divisor_override=1)
            y = total / count
        y = y.permute(0, 2, 3, 1)
        r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
        (y * r).sum().backward()
        label = f"{kind}_{name}".upper()
        print(f"// {kind} pooling {name}: y {list(y.shape)}")
        print(f"const {label}_Y: &[f64] = &[{', '.join(repr(v) for v in y.detach().flatten().tolist())}];")
        print(f"const {label}_DX: &[f64] = &[{', '.join(repr(v) for v in x.grad.flatten().tolist())}];")


pool_case("overlapping", (2, 5, 4, 3), (3, 2), (2, 1), False)
pool_case("same", (1, 5, 5, 2), (2, 3), (2, 2), True)
