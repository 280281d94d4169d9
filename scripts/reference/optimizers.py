"""Reference trajectories for tests/optimizers.rs: each update rule as PyTorch's documentation
writes it (torch.optim.SGD, Adam, AdamW, NAdam, RMSprop, Adagrad, Adadelta), implemented here
independently of strata, on the quadratic L(w) = 0.5 * sum(a * w^2) - sum(b * w), so
g = a * w - b. Five steps from w0; prints w after each run. Keras's default hyper-parameters
unless stated. Run: python3 scripts/reference/optimizers.py
"""
import math

a = [1.0, 3.0, 0.5]
b = [0.5, -1.0, 2.0]
w0 = [1.0, -2.0, 0.3]
STEPS = 5

def grad(w): return [ai * wi - bi for ai, wi, bi in zip(a, w, b)]

def sgd(lr=0.01, momentum=0.0, nesterov=False):
    w = list(w0); buf = None
    for t in range(STEPS):
        g = grad(w)
        if momentum:
            buf = g if buf is None else [momentum * bi + gi for bi, gi in zip(buf, g)]
            g = [gi + momentum * bi for gi, bi in zip(g, buf)] if nesterov else buf
        w = [wi - lr * gi for wi, gi in zip(w, g)]
    return w

def adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, weight_decay=0.0):
    w = list(w0); m = [0.0] * 3; v = [0.0] * 3; vmax = [0.0] * 3
    for t in range(1, STEPS + 1):
        g = grad(w)
        w = [wi - lr * weight_decay * wi for wi in w]  # AdamW: decoupled decay
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        if amsgrad:  # as torch.optim.Adam's code (and Keras): max of the raw v, then bias-corrected
            vmax = [max(x, y) for x, y in zip(vmax, v)]
            vhat = [vi / (1 - b2 ** t) for vi in vmax]
        else:
            vhat = [vi / (1 - b2 ** t) for vi in v]
        w = [wi - lr * (mi / (1 - b1 ** t)) / (math.sqrt(vh) + eps) for wi, mi, vh in zip(w, m, vhat)]
    return w

def nadam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7, psi=0.004):
    w = list(w0); m = [0.0] * 3; v = [0.0] * 3; prod = 1.0
    for t in range(1, STEPS + 1):
        g = grad(w)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi)); mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod *= mu; prod_next = prod * mu_next
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        w = [wi - lr * (mu_next * mi / (1 - prod_next) + (1 - mu) * gi / (1 - prod)) / (math.sqrt(vi / (1 - b2 ** t)) + eps)
             for wi, mi, gi, vi in zip(w, m, g, v)]
    return w

def rmsprop(lr=0.001, rho=0.9, eps=1e-7, momentum=0.0, centered=False):
    w = list(w0); v = [0.0] * 3; avg = [0.0] * 3; buf = [0.0] * 3
    for t in range(STEPS):
        g = grad(w)
        v = [rho * vi + (1 - rho) * gi * gi for vi, gi in zip(v, g)]
        vt = v
        if centered:
            avg = [rho * ai + (1 - rho) * gi for ai, gi in zip(avg, g)]
            vt = [vi - ai * ai for vi, ai in zip(v, avg)]
        step = [gi / (math.sqrt(x) + eps) for gi, x in zip(g, vt)]
        if momentum:
            buf = [momentum * bi + s for bi, s in zip(buf, step)]; step = buf
        w = [wi - lr * s for wi, s in zip(w, step)]
    return w

def adagrad(lr=0.001, init=0.1, eps=1e-7):
    w = list(w0); s = [init] * 3
    for t in range(STEPS):
        g = grad(w)
        s = [si + gi * gi for si, gi in zip(s, g)]
        w = [wi - lr * gi / (math.sqrt(si) + eps) for wi, gi, si in zip(w, g, s)]
    return w

def adadelta(lr=0.001, rho=0.95, eps=1e-7):
    w = list(w0); v = [0.0] * 3; u = [0.0] * 3
    for t in range(STEPS):
        g = grad(w)
        v = [rho * vi + (1 - rho) * gi * gi for vi, gi in zip(v, g)]
        d = [math.sqrt(ui + eps) / math.sqrt(vi + eps) * gi for ui, vi, gi in zip(u, v, g)]
        u = [rho * ui + (1 - rho) * di * di for ui, di in zip(u, d)]
        w = [wi - lr * di for wi, di in zip(w, d)]
    return w

def adamax(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    # torch.optim.Adamax: u = max(b2 u, |g| + eps); w -= lr / (1 - b1^t) * m / u
    w = list(w0); m = [0.0] * 3; u = [0.0] * 3
    for t in range(1, STEPS + 1):
        g = grad(w)
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        u = [max(b2 * ui, abs(gi) + eps) for ui, gi in zip(u, g)]
        w = [wi - lr / (1 - b1 ** t) * mi / ui for wi, mi, ui in zip(w, m, u)]
    return w

def lion(lr=0.001, b1=0.9, b2=0.99):
    # Chen et al. 2023, Algorithm 2 (keras.optimizers.Lion): sign of the interpolation, then momentum.
    sign = lambda x: (x > 0) - (x < 0)
    w = list(w0); m = [0.0] * 3
    for t in range(STEPS):
        g = grad(w)
        w = [wi - lr * sign(b1 * mi + (1 - b1) * gi) for wi, mi, gi in zip(w, m, g)]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, g)]
    return w

cases = {
    "sgd": sgd(lr=0.1),
    "sgd_momentum": sgd(lr=0.1, momentum=0.9),
    "sgd_nesterov": sgd(lr=0.1, momentum=0.9, nesterov=True),
    "adam": adam(lr=0.1),
    "adam_amsgrad": adam(lr=0.1, b2=0.5, amsgrad=True),  # small beta_2 so v can shrink
    "adamw": adam(lr=0.1, weight_decay=0.004),
    "nadam": nadam(lr=0.1),
    "rmsprop": rmsprop(lr=0.1),
    "rmsprop_centered_momentum": rmsprop(lr=0.1, centered=True, momentum=0.5),
    "adagrad": adagrad(lr=0.1),
    "adadelta": adadelta(lr=1.0),
    "adamax": adamax(lr=0.1),
    "lion": lion(lr=0.4, b1=0.5, b2=0.9),  # large enough steps that signs flip
}
for k, w in cases.items():
    print(f'("{k}", [{", ".join(repr(x) for x in w)}]),')
