"""Reference numbers for tests/layers_reference.rs (Conv1D, 1-D pooling, global pooling, batch
normalization), from PyTorch in float64.

Keras's layouts are converted to PyTorch's: input [n, steps, c] -> [n, c, steps], Conv1D kernel
[k, in, out] -> weight [out, in, k]. "causal" padding is dilation * (k - 1) zeros before the
sequence. Batch normalization: F.batch_norm in training mode (batch mean, biased variance for the
output), and the moving statistics as Keras 3 updates them (momentum 0.99, the biased variance;
PyTorch's own running_var would use the unbiased one), then the inference output with them.
The loss is sum(y * r) for a fixed r. Run: python scripts/reference/layers.py
"""
import math
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def values(n, f):
    return torch.tensor([f(i) for i in range(n)])


def emit(label, t):
    print(f"const {label}: &[f64] = &[{', '.join(repr(v) for v in t.detach().flatten().tolist())}];")


def conv1d_case(name, x_shape, k_shape, stride, dilation, padding):
    n, steps, c = x_shape
    k, _, out = k_shape
    x = values(n * steps * c, lambda i: math.sin(0.37 * i + 0.1)).reshape(x_shape).requires_grad_()
    w = values(k * c * out, lambda i: 0.5 * math.cos(0.91 * i)).reshape(k_shape).requires_grad_()
    b = values(out, lambda i: 0.1 * i - 0.05).requires_grad_()
    xt = x.permute(0, 2, 1)
    span = dilation * (k - 1) + 1
    if padding == "causal":
        xt = F.pad(xt, [span - 1, 0])
    elif padding == "same":
        o = -(-steps // stride)
        total = max((o - 1) * stride + span - steps, 0)
        xt = F.pad(xt, [total // 2, total - total // 2])
    y = F.conv1d(xt, w.permute(2, 1, 0), b, stride=stride, dilation=dilation).permute(0, 2, 1)
    r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
    (y * r).sum().backward()
    print(f"// conv1d {name}: y {list(y.shape)}")
    for label, t in (("Y", y), ("DX", x.grad), ("DK", w.grad), ("DB", b.grad)):
        emit(f"CONV1D_{name.upper()}_{label}", t)


conv1d_case("valid", (2, 6, 2), (3, 2, 3), 1, 1, "valid")
conv1d_case("causal", (1, 7, 2), (2, 2, 2), 1, 2, "causal")
conv1d_case("same_strided", (1, 7, 3), (3, 3, 2), 2, 1, "same")


def pool1d_case(name, x_shape, pool, stride):
    n, steps, c = x_shape
    for kind in ("max", "average"):
        x = values(n * steps * c, lambda i: math.sin(0.37 * i + 0.1)).reshape(x_shape).requires_grad_()
        xt = x.permute(0, 2, 1)
        y = (F.max_pool1d if kind == "max" else F.avg_pool1d)(xt, pool, stride).permute(0, 2, 1)
        r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
        (y * r).sum().backward()
        print(f"// {kind} pooling 1-D {name}: y {list(y.shape)}")
        emit(f"{kind.upper()}_POOL1D_{name.upper()}_Y", y)
        emit(f"{kind.upper()}_POOL1D_{name.upper()}_DX", x.grad)


pool1d_case("overlapping", (2, 7, 3), 3, 2)


def global_case(x_shape):
    n = x_shape[0]
    c = x_shape[-1]
    for kind in ("max", "average"):
        x = values(math.prod(x_shape), lambda i: math.sin(0.37 * i + 0.1)).reshape(x_shape).requires_grad_()
        flat = x.reshape(n, -1, c)
        y = flat.amax(1) if kind == "max" else flat.mean(1)
        r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
        (y * r).sum().backward()
        print(f"// global {kind} pooling 2-D: y {list(y.shape)}")
        emit(f"GLOBAL_{kind.upper()}_Y", y)
        emit(f"GLOBAL_{kind.upper()}_DX", x.grad)


global_case((2, 3, 4, 3))


def batch_norm_case():
    shape = (4, 3, 2, 3)
    c = shape[-1]
    x = values(math.prod(shape), lambda i: 2.0 + 3.0 * math.sin(0.37 * i + 0.1)).reshape(shape).requires_grad_()
    gamma = values(c, lambda i: 1.0 + 0.2 * i).requires_grad_()
    beta = values(c, lambda i: 0.3 - 0.1 * i).requires_grad_()
    eps, momentum = 1e-3, 0.99
    flat = x.reshape(-1, c)
    y = F.batch_norm(flat, None, None, gamma, beta, training=True, eps=eps).reshape(shape)
    r = values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)
    (y * r).sum().backward()
    mean = flat.mean(0).detach()
    var = flat.var(0, unbiased=False).detach()
    # Two training steps on the same batch from Keras's starting moving statistics (0 and 1).
    moving_mean, moving_var = torch.zeros(c), torch.ones(c)
    for _ in range(2):
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_var = momentum * moving_var + (1 - momentum) * var
    infer = ((x.detach() - moving_mean) / torch.sqrt(moving_var + eps) * gamma.detach() + beta.detach())
    print(f"// batch normalization, training: y {list(y.shape)}")
    for label, t in (("Y", y), ("DX", x.grad), ("DGAMMA", gamma.grad), ("DBETA", beta.grad),
                     ("MOVING_MEAN", moving_mean), ("MOVING_VARIANCE", moving_var), ("INFER_Y", infer)):
        emit(f"BN_{label}", t)


batch_norm_case()
