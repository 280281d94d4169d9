"""PyTorch versions of strata's workloads W1-W7 (crates/strata/benches/workloads.rs), for
scripts/bench_vs_pytorch.py. Same data, sizes, initialisation (Glorot uniform, zero bias),
optimizer settings (Keras defaults) and batch order policy (reshuffled every epoch).

Usage: python bench_pytorch.py WORKLOAD THREADS   -> one JSON object per line on stdout.
"""
import gzip, json, os, re, sys, time
import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FASHION = os.path.join(ROOT, "..", "shared", "data", "fashion-mnist")


def emit(name, **fields):
    fields.update(workload=name, threads=torch.get_num_threads())
    print(json.dumps(fields), flush=True)


def iris():
    rows = [l.strip().split(",") for l in open(os.path.join(ROOT, "examples", "iris_species.csv")).read().splitlines()[1:]]
    data = np.array([[float(v) for v in r[:4]] for r in rows], dtype=np.float32)
    src = open(os.path.join(ROOT, "crates", "strata", "src", "data", "iris.rs")).read()
    grab = lambda name: [int(v) for v in re.findall(r"\d+", re.search(name + r": \[usize; \d+\] = \[([^\]]*)\]", src, re.S).group(1))]
    train, test = grab("LECTURE_TRAIN_ROWS"), grab("LECTURE_TEST_ROWS")
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return t(data[train, :2]), t(data[train, 2:]), t(data[test, :2]), t(data[test, 2:])


def fashion():
    def read(name):
        with gzip.open(os.path.join(FASHION, name)) as f:
            raw = f.read()
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
    if os.path.isdir(FASHION):
        xs = [torch.from_numpy(read(f"{s}-images-idx3-ubyte.gz").astype(np.float32) / 255.0) for s in ("train", "t10k")]
        ys = [torch.from_numpy(read(f"{s}-labels-idx1-ubyte.gz").astype(np.int64)) for s in ("train", "t10k")]
        return xs[0], ys[0], xs[1], ys[1]
    g = torch.Generator().manual_seed(0)
    return (torch.rand(60000, 28, 28, generator=g), torch.arange(60000) % 10, torch.rand(10000, 28, 28, generator=g), torch.arange(10000) % 10)


def mlp(sizes, softmax):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def sparse_cce_from_probs(p, y):
    # Keras's sparse_categorical_crossentropy on probabilities: clip, log, pick.
    return -torch.log(p.clamp(1e-7, 1 - 1e-7)).gather(1, y[:, None]).mean()


def fit(model, x, y, loss_fn, opt, batch, epochs, val=None):
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        if val is not None:
            with torch.no_grad():
                loss_fn(model(val[0]), val[1])


def w1():
    x, y, xt, yt = iris()
    model = mlp([2, 32, 64, 32, 2], False)
    start = time.perf_counter()
    fit(model, x, y, nn.functional.mse_loss, torch.optim.SGD(model.parameters(), lr=0.01), 32, 100, (xt, yt))
    seconds = time.perf_counter() - start
    with torch.no_grad():
        mse = nn.functional.mse_loss(model(xt), yt).item()
    emit("W1", fit_seconds=seconds, test_mse=mse)


def w2():
    x, y, xt, yt = fashion()
    model = nn.Sequential(nn.Flatten(), mlp([784, 128, 10], True))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    start = time.perf_counter()
    fit(model, x, y, sparse_cce_from_probs, opt, 32, 5)
    per_epoch = (time.perf_counter() - start) / 5
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    emit("W2", seconds_per_epoch=per_epoch, test_accuracy=acc)


def w3():
    x, y, xt, _ = fashion()
    model = nn.Sequential(nn.Flatten(), mlp([784, 512, 512, 10], True))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    start = time.perf_counter()
    fit(model, x, y, sparse_cce_from_probs, opt, 256, 1)
    train_rate = x.shape[0] / (time.perf_counter() - start)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, xt.shape[0], 1024):
            model(xt[i:i + 1024])
    emit("W3", train_samples_per_second=train_rate, inference_samples_per_second=xt.shape[0] / (time.perf_counter() - start))


def w4():
    model = mlp([2, 32, 64, 32, 2], False)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 2, generator=g) * 4 + 4, torch.rand(32, 2, generator=g) * 7

    def step():
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    for _ in range(1000):
        step()
    start = time.perf_counter()
    for _ in range(1000):
        step()
    emit("W4", microseconds_per_step=(time.perf_counter() - start) * 1e3)


def w5():
    for m, k, n, name in [(1024, 1024, 1024, "1024^3"), (32, 784, 128, "32x784x128"), (32, 128, 10, "32x128x10"), (784, 32, 128, "784x32x128 (t)"), (32, 128, 784, "32x128x784 (t)")]:
        a, b = torch.randn(m, k), torch.randn(k, n)
        if name.endswith("(t)"):  # the transposed operand of the backward pass, as a view
            a = torch.randn(k, m).t() if m > k else a
            b = torch.randn(n, k).t() if n > k else b
        best = float("inf")
        for _ in range(5):
            start, iters = time.perf_counter(), 0
            while time.perf_counter() - start < 0.2:
                torch.mm(a, b)
                iters += 1
            best = min(best, (time.perf_counter() - start) / iters)
        emit(f"W5 {name}", gflops=2 * m * k * n / best / 1e9)


def w6():
    # Keras's simple convnet, as examples/fashion_mnist_cnn.toml builds it: Glorot-uniform
    # kernels (PyTorch's xavier_uniform_ counts fans over the receptive field, as Keras does),
    # zero biases, Adam with Keras's epsilon, batch 128, one epoch; inference at batch 1,000.
    x, y, xt, yt = fashion()
    x, xt = x[:, None], xt[:, None]  # NCHW, PyTorch's native layout
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10), nn.Softmax(dim=1),
    )
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    start = time.perf_counter()
    model.train()
    fit(model, x, y, sparse_cce_from_probs, opt, 128, 1)
    per_epoch = time.perf_counter() - start
    model.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        preds = torch.cat([model(xt[i:i + 1000]) for i in range(0, xt.shape[0], 1000)])
    infer_rate = xt.shape[0] / (time.perf_counter() - start)
    acc = (preds.argmax(1) == yt).float().mean().item()
    emit("W6", seconds_per_epoch=per_epoch, test_accuracy=acc, inference_samples_per_second=infer_rate)


class RowLstm(nn.Module):
    """W7: an LSTM(128) over the 28 rows of an image, then Dense 10 with softmax (Keras's
    layers: examples/fashion_mnist_lstm.toml)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.out = nn.Linear(128, 10)
        # Keras's start: Glorot-uniform kernels, orthogonal recurrent kernels, zero biases with
        # the forget gate's at 1 (PyTorch has two biases; the second stays 0).
        for gate in range(4):
            nn.init.xavier_uniform_(self.lstm.weight_ih_l0.data[gate * 128:(gate + 1) * 128])
        nn.init.orthogonal_(self.lstm.weight_hh_l0)
        nn.init.zeros_(self.lstm.bias_ih_l0)
        nn.init.zeros_(self.lstm.bias_hh_l0)
        self.lstm.bias_ih_l0.data[128:256] = 1.0
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return torch.softmax(self.out(h[0]), dim=1)


def w7():
    x, y, xt, yt = fashion()
    model = RowLstm()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    start = time.perf_counter()
    model.train()
    fit(model, x, y, sparse_cce_from_probs, opt, 128, 1)
    per_epoch = time.perf_counter() - start
    model.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        preds = torch.cat([model(xt[i:i + 1000]) for i in range(0, xt.shape[0], 1000)])
    infer_rate = xt.shape[0] / (time.perf_counter() - start)
    acc = (preds.argmax(1) == yt).float().mean().item()
    emit("W7", seconds_per_epoch=per_epoch, test_accuracy=acc, inference_samples_per_second=infer_rate)


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[2]))
    torch.manual_seed(0)
    {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7}[sys.argv[1]]()
