//! Reference numbers: activations and losses against values computed in float64 from PyTorch's
//! and Keras's documented formulas by `scripts/reference/core_reference.py` (pasted below), and
//! stability at logits of ±1000.

// The values are pasted verbatim from the reference script, ln 2 among them.
#![allow(clippy::approx_constant)]

use strata::{loss, Tensor};

fn t(values: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_f64(values, shape.to_vec()).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: got {got:?}, want {want:?}");
    }
}

const XS: [f64; 5] = [-2.0, -0.5, 0.0, 0.5, 2.0];

#[test]
fn activations_match_reference_values() {
    let x = t(&XS, &[5]);
    // scripts/reference/core_reference.py
    let gelu = [-0.04550026389635842, -0.15426876936299344, 0.0, 0.34573123063700656, 1.9544997361036416];
    let gelu_tanh = [-0.04540230591222494, -0.15428599017485606, 0.0, 0.34571400982514394, 1.954597694087775];
    let silu = [-0.2384058440442351, -0.1887703343990727, 0.0, 0.3112296656009273, 1.7615941559557646];
    let softplus = [0.1269280110429725, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067, 2.1269280110429727];
    let elu = [-0.8646647167633873, -0.3934693402873666, 0.0, 0.5, 2.0];
    assert_close(&x.gelu().unwrap().to_vec(), &gelu, 1e-12, "gelu");
    assert_close(&x.gelu_tanh().unwrap().to_vec(), &gelu_tanh, 1e-12, "gelu_tanh");
    assert_close(&x.silu().unwrap().to_vec(), &silu, 1e-12, "silu");
    assert_close(&x.softplus().unwrap().to_vec(), &softplus, 1e-12, "softplus");
    assert_close(&x.elu(1.0).unwrap().to_vec(), &elu, 1e-12, "elu");
    let selu = [-1.520166468595695, -0.6917581878028713, 0.0, 0.5253504936777402, 2.101401974710961];
    let mish = [-0.2525014826957089, -0.22074377465173, 0.0, 0.3752452113048951, 1.9439589595339946];
    assert_close(&x.selu().unwrap().to_vec(), &selu, 1e-12, "selu");
    assert_close(&x.mish().unwrap().to_vec(), &mish, 1e-12, "mish");
    assert_close(&x.relu().unwrap().to_vec(), &[0.0, 0.0, 0.0, 0.5, 2.0], 0.0, "relu");
    assert_close(&x.leaky_relu(0.1).unwrap().to_vec(), &[-0.2, -0.05, 0.0, 0.5, 2.0], 1e-15, "leaky_relu");
    assert_close(&x.hard_tanh().unwrap().to_vec(), &[-1.0, -0.5, 0.0, 0.5, 1.0], 0.0, "hard_tanh");
    assert_close(&x.step().unwrap().to_vec(), &[0.0, 0.0, 1.0, 1.0, 1.0], 0.0, "step");
}

/// ReLU's derivative at exactly 0 is 0 (lecture 004); the unit step passes no gradient.
#[test]
fn relu_derivative_at_zero_is_zero() {
    let x = t(&[0.0, 1.0, -1.0], &[3]).with_requires_grad(true);
    let g = x.relu().unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![0.0, 1.0, 0.0]);
    let g = x.step().unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![0.0, 0.0, 0.0]);
}

#[test]
fn losses_match_reference_values() {
    let pred = t(&[0.2, 0.7, 0.9, 0.1, 0.4, 0.5], &[3, 2]);
    let target = t(&[0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[3, 2]);
    // scripts/reference/core_reference.py
    assert_close(&[loss::mse(&pred, &target).unwrap().item().unwrap()], &[0.12666666666666668], 1e-14, "mse");
    assert_close(&[loss::mae(&pred, &target).unwrap().item().unwrap()], &[0.3], 1e-14, "mae");
    assert_close(&[loss::huber(&pred, &target, 0.5).unwrap().item().unwrap()], &[0.0625], 1e-14, "huber");
    assert_close(&[loss::hinge(&pred, &target).unwrap().item().unwrap()], &[0.6333333333333334], 1e-14, "hinge");
    let dist_p = t(&[0.2, 0.5, 0.3, 0.6, 0.3, 0.1], &[2, 3]);
    let dist_t = t(&[0.1, 0.6, 0.3, 1.0, 0.0, 0.0], &[2, 3]);
    let kl = loss::kl_divergence(&dist_p, &dist_t).unwrap().item().unwrap();
    assert_close(&[kl], &[0.27545048341151424], 1e-12, "kl_divergence");
    assert_close(
        &[loss::binary_crossentropy(&pred, &target).unwrap().item().unwrap()],
        &[0.3999962398337826],
        1e-12,
        "bce",
    );
    let logits = t(&[2.0, -1.0, 0.5, -0.3, 0.8, 1.5], &[2, 3]);
    let labels = t(&[0.0, 2.0], &[2]);
    let want = 0.37463165538337284;
    let sparse = loss::sparse_categorical_crossentropy_from_logits(&logits, &labels).unwrap().item().unwrap();
    assert_close(&[sparse], &[want], 1e-12, "sparse cce logits");
    let probs = logits.softmax(-1).unwrap();
    let sparse_p = loss::sparse_categorical_crossentropy(&probs, &labels).unwrap().item().unwrap();
    assert_close(&[sparse_p], &[want], 1e-12, "sparse cce probs");
    let onehot = Tensor::one_hot(&[0, 2], 3).unwrap();
    let cce = loss::categorical_crossentropy_from_logits(&logits, &onehot).unwrap().item().unwrap();
    assert_close(&[cce], &[want], 1e-12, "cce logits");
    let cce_p = loss::categorical_crossentropy(&probs, &onehot).unwrap().item().unwrap();
    assert_close(&[cce_p], &[want], 1e-12, "cce probs");
}

/// No overflow or log(0) at logits of ±1000, in f32 as in f64; gradients stay finite.
#[test]
fn logits_of_a_thousand_stay_finite() {
    let big = Tensor::<f32>::from_f64(&[1000.0, -1000.0, 0.0], [1, 3]).unwrap().with_requires_grad(true);
    let log_softmax = big.log_softmax(-1).unwrap();
    assert_eq!(log_softmax.to_vec(), vec![0.0, -2000.0, -1000.0]);
    let softmax = big.softmax(-1).unwrap();
    assert_eq!(softmax.to_vec(), vec![1.0, 0.0, 0.0]);
    let labels = Tensor::<f32>::from_f64(&[1.0], [1]).unwrap();
    let l = loss::sparse_categorical_crossentropy_from_logits(&big, &labels).unwrap();
    assert_eq!(l.item().unwrap(), 2000.0);
    let g = l.backward().unwrap();
    assert!(g.get(&big).unwrap().all_finite());

    let x = Tensor::<f32>::from_f64(&[1000.0, -1000.0, 1000.0], [3]).unwrap().with_requires_grad(true);
    let y = Tensor::<f32>::from_f64(&[0.0, 1.0, 1.0], [3]).unwrap();
    let l = loss::binary_crossentropy_from_logits(&x, &y).unwrap();
    // scripts/reference/core_reference.py: 666.6666666666666
    assert!((l.item().unwrap() - 666.6667).abs() < 1e-3);
    assert!(l.backward().unwrap().get(&x).unwrap().all_finite());
    let sig = x.sigmoid().unwrap();
    assert_eq!(sig.to_vec(), vec![1.0, 0.0, 1.0]);
    // Probabilities of exactly 0 and 1 are clipped before log.
    let p = Tensor::<f32>::from_f64(&[0.0, 1.0], [2]).unwrap();
    let bce = loss::binary_crossentropy(&p, &Tensor::from_f64(&[1.0, 0.0], [2]).unwrap()).unwrap();
    assert!(bce.item().unwrap().is_finite());
}

/// NaN propagates through every activation and comparison-based op (as in PyTorch), so it is
/// never silently replaced by a bound or by 0.
#[test]
fn nan_is_never_swallowed() {
    let x = Tensor::<f32>::from_f64(&[f64::NAN], [1]).unwrap();
    let ops: Vec<(&str, Tensor<f32>)> = vec![
        ("relu", x.relu().unwrap()),
        ("leaky_relu", x.leaky_relu(0.1).unwrap()),
        ("clamp", x.clamp(-1.0, 1.0).unwrap()),
        ("hard_tanh", x.hard_tanh().unwrap()),
        ("sigmoid", x.sigmoid().unwrap()),
        ("softplus", x.softplus().unwrap()),
        ("maximum", x.maximum(&Tensor::zeros([1])).unwrap()),
        ("minimum", Tensor::<f32>::zeros([1]).minimum(&x).unwrap()),
        ("max", x.max().unwrap()),
        ("softmax", x.softmax(-1).unwrap()),
    ];
    for (name, y) in ops {
        assert!(y.data()[0].is_nan(), "{name} turned NaN into {}", y.data()[0]);
    }
}

/// A confident row keeps its digits: log_softmax([1000, 984]) = [-log1p(e^-16), -16 - log1p(e^-16)]
/// exactly, and the from-logits cross-entropies inherit it. `x - (max + log Σ)` (the formula
/// before) was off by a relative 1.9e-7 at the first entry in f64; `(x - max) - log Σ` is off by
/// 1.3e-10 there (the rounding of `1 + e^-16` itself, as in PyTorch), so 1e-9 tells the two apart.
#[test]
fn log_softmax_of_a_confident_row_is_exact_in_f64() {
    let logits = Tensor::<f64>::from_f64(&[1000.0, 984.0], [1, 2]).unwrap();
    let small = (-16f64).exp().ln_1p();
    let want = [-small, -16.0 - small];
    let got = logits.log_softmax(-1).unwrap().to_vec();
    for (g, w) in got.iter().zip(want) {
        assert!(((g - w) / w).abs() < 1e-9, "log_softmax {g} vs {w}: relative error {}", ((g - w) / w).abs());
    }
    let labels = Tensor::<f64>::from_f64(&[0.0], [1]).unwrap();
    let sparse = loss::sparse_categorical_crossentropy_from_logits(&logits, &labels).unwrap().item().unwrap();
    assert!(((sparse - small) / small).abs() < 1e-9, "sparse cce {sparse} vs {small}");
    let onehot = Tensor::one_hot(&[0], 2).unwrap();
    let cce = loss::categorical_crossentropy_from_logits(&logits, &onehot).unwrap().item().unwrap();
    assert!(((cce - small) / small).abs() < 1e-9, "cce {cce} vs {small}");
}
