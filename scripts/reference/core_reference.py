"""Reference numbers for tests/reference.rs, computed in float64 with the Python standard library.

The formulas are PyTorch's and Keras's documented definitions (torch.nn.functional.gelu,
keras.losses.*: probabilities clipped to [1e-7, 1 - 1e-7], MSE as the plain mean of squares).
Run: python3 scripts/reference/core_reference.py
"""
import math

def sigmoid(x): return 1 / (1 + math.exp(-x))
xs = [-2.0, -0.5, 0.0, 0.5, 2.0]
print("sigmoid(-6)", repr(sigmoid(-6.0)))
print("gelu", [repr(0.5 * x * (1 + math.erf(x / math.sqrt(2)))) for x in xs])
print("gelu_tanh", [repr(0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))) for x in xs])
print("silu", [repr(x * sigmoid(x)) for x in xs])
print("softplus", [repr(math.log1p(math.exp(x))) for x in xs])
print("elu(1.0)", [repr(x if x > 0 else math.expm1(x)) for x in xs])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # torch.nn.SELU's constants
print("selu", [repr(SELU_SCALE * (x if x > 0 else SELU_ALPHA * math.expm1(x))) for x in xs])
print("mish", [repr(x * math.tanh(math.log1p(math.exp(x)))) for x in xs])

# Losses on a fixed batch.
pred = [[0.2, 0.7], [0.9, 0.1], [0.4, 0.5]]
targ = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
flat = [(p, t) for pr, tr in zip(pred, targ) for p, t in zip(pr, tr)]
print("mse", repr(sum((p - t) ** 2 for p, t in flat) / len(flat)))
print("mae", repr(sum(abs(p - t) for p, t in flat) / len(flat)))
def huber(e, d=1.0):
    a = abs(e); return 0.5 * a * a if a <= d else d * (a - 0.5 * d)
print("huber(delta=0.5)", repr(sum(huber(p - t, 0.5) for p, t in flat) / len(flat)))
eps = 1e-7
clip = lambda p: min(max(p, eps), 1 - eps)
print("bce", repr(-sum(t * math.log(clip(p)) + (1 - t) * math.log(1 - clip(p)) for p, t in flat) / len(flat)))
# keras.losses.kl_divergence: both clipped to [1e-7, 1], summed over the last axis, mean over rows.
kclip = lambda v: min(max(v, eps), 1.0)
dist_p = [[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]
dist_t = [[0.1, 0.6, 0.3], [1.0, 0.0, 0.0]]
print("kl_divergence", repr(sum(sum(kclip(t) * math.log(kclip(t) / kclip(p)) for p, t in zip(pr, tr)) for pr, tr in zip(dist_p, dist_t)) / 2))
# keras.losses.hinge: 0/1 targets become -1/1; mean of max(1 - y p, 0).
print("hinge", repr(sum(max(1 - (2 * t - 1) * p, 0.0) for p, t in flat) / len(flat)))
logits = [[2.0, -1.0, 0.5], [-0.3, 0.8, 1.5]]
labels = [0, 2]
def log_softmax(row):
    m = max(row); s = math.log(sum(math.exp(v - m) for v in row)) + m
    return [v - s for v in row]
print("sparse_cce_logits", repr(-sum(log_softmax(r)[l] for r, l in zip(logits, labels)) / 2))
probs = [[math.exp(v) for v in log_softmax(r)] for r in logits]
print("cce_probs", repr(-sum(math.log(clip(p[l])) for p, l in zip(probs, labels)) / 2))
# Stability: logits of +-1000.
big = [[1000.0, -1000.0, 0.0]]
print("log_softmax big", log_softmax(big[0]))
def bce_logits(x, y): return max(x, 0) - x * y + math.log1p(math.exp(-abs(x)))
print("bce_logits(+-1000)", repr((bce_logits(1000.0, 0.0) + bce_logits(-1000.0, 1.0) + bce_logits(1000.0, 1.0)) / 3))
