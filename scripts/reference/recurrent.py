"""Reference numbers for tests/recurrent_reference.rs (SimpleRNN, LSTM, GRU, Bidirectional,
masked sequences, Embedding), from PyTorch in float64.

Keras's layouts are mapped to PyTorch's: the kernel [in, gates*units] is PyTorch's weight_ih
transposed, the recurrent kernel [units, gates*units] weight_hh transposed. LSTM gates are in the
same order in both (i, f, c/g, o); Keras's bias is bias_ih with bias_hh = 0. GRU: Keras's gates
z, r, h are PyTorch's r, z, n reordered, Keras's bias [2, 3u] is (bias_ih, bias_hh) reordered the
same way, and reset_after=True is PyTorch's formulation. go_backwards is the RNN on the reversed
sequence; masked sequences of lengths 4, 2, 3 are packed (pack_padded_sequence). The loss is
sum(y * r) (+ the final states times fixed weights) for fixed r.
Run: python scripts/reference/recurrent.py > /tmp/out.rs (constants for the test file's end).
"""
import math
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def values(n, f):
    return torch.tensor([f(i) for i in range(n)])


def emit(label, t):
    print(f"const {label}: &[f64] = &[{', '.join(repr(v) for v in t.detach().flatten().tolist())}];")


def weights(inputs, units, gates, gru=False):
    """The Keras-layout weights every case uses: deterministic, varied, not symmetric."""
    w = values(inputs * gates * units, lambda i: 0.4 * math.sin(0.73 * i + 0.2)).reshape(inputs, gates * units)
    u = values(units * gates * units, lambda i: 0.35 * math.cos(0.61 * i + 0.4)).reshape(units, gates * units)
    nb = (2 if gru else 1) * gates * units
    b = values(nb, lambda i: 0.1 * math.sin(1.7 * i) + 0.05)
    if gru:
        b = b.reshape(2, gates * units)
    return w.requires_grad_(), u.requires_grad_(), b.requires_grad_()


def gru_order(t, units):
    """Keras's z, r, h blocks (last axis) to PyTorch's r, z, n."""
    z, r, h = t[..., :units], t[..., units:2 * units], t[..., 2 * units:]
    return torch.cat([r, z, h], dim=-1)


def module(kind, inputs, units, w, u, b, bidirectional=False, wb=None):
    cls = {"simple": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    m = cls(inputs, units, batch_first=True, bidirectional=bidirectional)
    def assign(suffix, w, u, b):
        if kind == "gru":
            setattr(m, "weight_ih_l0" + suffix, None)
            m._parameters["weight_ih_l0" + suffix] = gru_order(w, units).t()
            m._parameters["weight_hh_l0" + suffix] = gru_order(u, units).t()
            m._parameters["bias_ih_l0" + suffix] = gru_order(b[0], units)
            m._parameters["bias_hh_l0" + suffix] = gru_order(b[1], units)
        else:
            m._parameters["weight_ih_l0" + suffix] = w.t()
            m._parameters["weight_hh_l0" + suffix] = u.t()
            m._parameters["bias_ih_l0" + suffix] = b
            m._parameters["bias_hh_l0" + suffix] = torch.zeros_like(b)
    assign("", w, u, b)
    if bidirectional:
        assign("_reverse", *wb)
    m._flat_weights = [m._parameters[n] for n in m._flat_weights_names]
    return m


def case(name, kind, batch, steps, inputs, units, go_backwards=False, lengths=None):
    gates = {"simple": 1, "lstm": 4, "gru": 3}[kind]
    x = values(batch * steps * inputs, lambda i: math.sin(0.37 * i + 0.1)).reshape(batch, steps, inputs).requires_grad_()
    w, u, b = weights(inputs, units, gates, kind == "gru")
    m = module(kind, inputs, units, w, u, b)
    xin = torch.flip(x, [1]) if go_backwards else x
    if lengths is not None:
        packed = nn.utils.rnn.pack_padded_sequence(xin, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        _, state = m(packed)
        y = None
    else:
        y, state = m(xin)
    h = state[0][0] if kind == "lstm" else state[0]
    c = state[1][0] if kind == "lstm" else None
    loss = (h * values(h.numel(), lambda i: math.cos(0.9 * i)).reshape(h.shape)).sum()
    if y is not None:
        loss = loss + (y * values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)).sum()
    if c is not None:
        loss = loss + (c * values(c.numel(), lambda i: math.sin(0.5 * i + 1)).reshape(c.shape)).sum()
    loss.backward()
    print(f"// {name}: {kind}, x [{batch}, {steps}, {inputs}], units {units}")
    if y is not None:
        emit(f"{name}_Y", y)
    emit(f"{name}_H", h)
    if c is not None:
        emit(f"{name}_C", c)
    for label, t in (("DX", x.grad), ("DW", w.grad), ("DU", u.grad), ("DB", b.grad)):
        emit(f"{name}_{label}", t)


case("SIMPLE", "simple", 2, 4, 3, 2)
case("LSTM", "lstm", 2, 4, 3, 2)
case("LSTM_BACKWARDS", "lstm", 1, 5, 2, 3, go_backwards=True)
case("GRU", "gru", 2, 4, 3, 2)
case("GRU_BACKWARDS", "gru", 1, 5, 2, 3, go_backwards=True)
case("LSTM_MASKED", "lstm", 3, 4, 2, 2, lengths=[4, 2, 3])
case("GRU_MASKED", "gru", 3, 4, 2, 2, lengths=[4, 2, 3])

# Bidirectional LSTM, return_sequences, concat: PyTorch's bidirectional output (the backward
# direction's outputs in time order) is Keras's.
batch, steps, inputs, units = 2, 3, 2, 2
x = values(batch * steps * inputs, lambda i: math.sin(0.37 * i + 0.1)).reshape(batch, steps, inputs).requires_grad_()
wf, uf, bf = weights(inputs, units, 4)
wb = (values(inputs * 4 * units, lambda i: 0.3 * math.cos(0.47 * i)).reshape(inputs, 4 * units).requires_grad_(),
      values(units * 4 * units, lambda i: 0.25 * math.sin(0.83 * i + 0.3)).reshape(units, 4 * units).requires_grad_(),
      values(4 * units, lambda i: 0.07 * math.cos(1.1 * i)).requires_grad_())
m = module("lstm", inputs, units, wf, uf, bf, bidirectional=True, wb=wb)
y, _ = m(x)
(y * values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)).sum().backward()
print("// BIDIRECTIONAL: lstm both ways, return_sequences, concat")
emit("BI_Y", y)
for label, t in (("DX", x.grad), ("DWF", wf.grad), ("DUF", uf.grad), ("DBF", bf.grad), ("DWB", wb[0].grad), ("DUB", wb[1].grad), ("DBB", wb[2].grad)):
    emit(f"BI_{label}", t)
print("const BI_WB: &[f64] = &[" + ", ".join(repr(v) for v in wb[0].detach().flatten().tolist()) + "];")
print("const BI_UB: &[f64] = &[" + ", ".join(repr(v) for v in wb[1].detach().flatten().tolist()) + "];")
print("const BI_BB: &[f64] = &[" + ", ".join(repr(v) for v in wb[2].detach().flatten().tolist()) + "];")

# Embedding with repeated indices: the gradient of a row read k times is the sum of k rows.
table = values(15, lambda i: math.sin(0.3 * i)).reshape(5, 3).requires_grad_()
idx = torch.tensor([[1, 3, 1], [0, 1, 4]])
y = nn.functional.embedding(idx, table)
(y * values(y.numel(), lambda i: math.sin(1.3 * i)).reshape(y.shape)).sum().backward()
print("// EMBEDDING: [5, 3] table, indices [[1, 3, 1], [0, 1, 4]]")
emit("EMB_Y", y)
emit("EMB_D", table.grad)
