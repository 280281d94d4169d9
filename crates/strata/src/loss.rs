//! Loss functions (mean over the batch) and the [`Loss`] enum that `compile` and the spec use.
//!
//! Conventions follow Keras: arguments are `(prediction, target)`; `mse` is the plain mean of
//! squares `mean((y - ŷ)^2)` as in lecture 000 (not lecture 003's `1/2` form, which halves the
//! gradient); cross-entropies on probabilities clip them to `[1e-7, 1 - 1e-7]`; "from logits"
//! variants never take `log` of a probability and stay finite for logits of ±1000.

use crate::autograd::gradcheck::{cyclic_labels, op_check, OpCheck, PROB, R};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Keras's `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before `log`.
pub const EPSILON: f64 = 1e-7;

fn ensure_same_shape<T: Element>(op: &str, pred: &Tensor<T>, target: &Tensor<T>) -> Result<()> {
    if pred.shape() != target.shape() {
        return Err(Error::mismatch(op, pred.shape(), target.shape(), "prediction and target shapes must match"));
    }
    if pred.numel() == 0 {
        return Err(Error::shape(op, pred.shape(), "empty batch"));
    }
    Ok(())
}

/// Mean squared error `mean((target - pred)^2)` over all elements (Keras's `mse`).
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn mse<T: Element>(pred: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("mse", pred, target)?;
    pred.mean_squared_difference(target)
}

/// Mean absolute error `mean(|target - pred|)`.
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn mae<T: Element>(pred: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("mae", pred, target)?;
    pred.sub(target)?.abs()?.mean()
}

/// Huber loss: `e^2 / 2` for `|e| <= delta`, `delta (|e| - delta / 2)` beyond, averaged
/// (computed as `q^2 / 2 + delta (|e| - q)` with `q = min(|e|, delta)`: one expression, no branch).
///
/// # Errors
/// When the shapes differ, the batch is empty or `delta <= 0`.
pub fn huber<T: Element>(pred: &Tensor<T>, target: &Tensor<T>, delta: f64) -> Result<Tensor<T>> {
    ensure_same_shape("huber", pred, target)?;
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::invalid("huber", format!("delta must be > 0, got {delta}")));
    }
    let abs = pred.sub(target)?.abs()?;
    let quadratic = abs.clamp(0.0, delta)?;
    let linear = abs.sub(&quadratic)?;
    quadratic.square()?.mul_scalar(0.5)?.add(&linear.mul_scalar(delta)?)?.mean()
}

/// Binary cross-entropy on probabilities: `-mean(y log p + (1 - y) log(1 - p))`, `p` clipped.
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn binary_crossentropy<T: Element>(prob: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("binary_crossentropy", prob, target)?;
    let p = prob.clamp(EPSILON, 1.0 - EPSILON)?;
    let positive = target.mul(&p.log()?)?;
    let negative = target.neg()?.add_scalar(1.0)?.mul(&p.neg()?.add_scalar(1.0)?.log()?)?;
    positive.add(&negative)?.mean()?.neg()
}

/// Binary cross-entropy on logits: `mean(max(x, 0) - x y + log(1 + e^-|x|))`, the stable form
/// of `-[y log σ(x) + (1 - y) log(1 - σ(x))]`.
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn binary_crossentropy_from_logits<T: Element>(logits: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("binary_crossentropy", logits, target)?;
    let log_term = logits.abs()?.neg()?.softplus()?;
    logits.relu()?.sub(&logits.mul(target)?)?.add(&log_term)?.mean()
}

/// Categorical cross-entropy on probabilities and one-hot (or soft) targets `[n, c]`:
/// `-mean_n sum_c y log p`, with `p` renormalised to sum 1 and clipped (as Keras does).
///
/// # Errors
/// When the shapes differ, are not rank 2, or the batch is empty.
pub fn categorical_crossentropy<T: Element>(prob: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("categorical_crossentropy", prob, target)?;
    prob.shape().dims2("categorical_crossentropy")?;
    let p = prob.div(&prob.sum_axis(-1, true)?)?.clamp(EPSILON, 1.0 - EPSILON)?;
    target.mul(&p.log()?)?.sum_axis(-1, false)?.mean()?.neg()
}

/// Categorical cross-entropy on logits `[n, c]`: `-mean_n sum_c y log_softmax(x)`.
///
/// # Errors
/// When the shapes differ, are not rank 2, or the batch is empty.
pub fn categorical_crossentropy_from_logits<T: Element>(logits: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("categorical_crossentropy", logits, target)?;
    logits.shape().dims2("categorical_crossentropy")?;
    target.mul(&logits.log_softmax(-1)?)?.sum_axis(-1, false)?.mean()?.neg()
}

/// Class indices from a target tensor of shape `[n]` or `[n, 1]` holding whole numbers in `0..classes`.
///
/// # Errors
/// When the shape is wrong or a value is not a class index (names the value and its row).
pub fn class_indices<T: Element>(op: &str, target: &Tensor<T>, n: usize, classes: usize) -> Result<Vec<usize>> {
    let ok_shape = target.dims() == [n] || target.dims() == [n, 1];
    if !ok_shape {
        return Err(Error::mismatch(
            op,
            &Shape::new([n, classes]),
            target.shape(),
            format!("targets must be class indices of shape [{n}] or [{n}, 1]"),
        ));
    }
    target
        .data()
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            let f = v.f64();
            if f >= 0.0 && f.fract() == 0.0 && f < classes as f64 {
                Ok(f as usize)
            } else {
                Err(Error::invalid(
                    op,
                    format!("label {f} in row {row} is not a class index: {}", valid_labels(classes)),
                ))
            }
        })
        .collect()
}

/// What labels a model with `classes` outputs accepts, for error messages: "the model has 3
/// output units, so labels must be 0-2".
pub fn valid_labels(classes: usize) -> String {
    match classes {
        0 => "the model has no output units".into(),
        1 => "the model has 1 output unit, so the only label is 0".into(),
        c => format!("the model has {c} output units, so labels must be whole numbers 0-{}", c - 1),
    }
}

/// Sparse categorical cross-entropy on probabilities `[n, c]` and class indices `[n]`:
/// `-mean log p[label]`, `p` renormalised and clipped.
///
/// # Errors
/// When the prediction is not rank 2, the targets are not `n` class indices, or `n` is 0.
pub fn sparse_categorical_crossentropy<T: Element>(prob: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    let op = "sparse_categorical_crossentropy";
    let (n, c) = prob.shape().dims2(op)?;
    let labels = class_indices(op, target, n, c)?;
    if n == 0 {
        return Err(Error::shape(op, prob.shape(), "empty batch"));
    }
    prob.clipped_cross_entropy(&labels, EPSILON)
}

/// Sparse categorical cross-entropy on logits `[n, c]`: `-mean log_softmax(x)[label]`.
///
/// # Errors
/// As [`sparse_categorical_crossentropy`].
pub fn sparse_categorical_crossentropy_from_logits<T: Element>(
    logits: &Tensor<T>,
    target: &Tensor<T>,
) -> Result<Tensor<T>> {
    let op = "sparse_categorical_crossentropy";
    let (n, c) = logits.shape().dims2(op)?;
    let labels = class_indices(op, target, n, c)?;
    if n == 0 {
        return Err(Error::shape(op, logits.shape(), "empty batch"));
    }
    logits.log_softmax(-1)?.gather(&labels)?.mean()?.neg()
}

/// KL divergence, Keras's `kl_divergence`: `mean_n sum_c y log(y / p)` over the last axis, both
/// clipped to `[1e-7, 1]` (so a zero target contributes nothing and a zero prediction is finite).
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn kl_divergence<T: Element>(prob: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("kl_divergence", prob, target)?;
    let y = target.clamp(EPSILON, 1.0)?;
    let p = prob.clamp(EPSILON, 1.0)?;
    y.mul(&y.log()?.sub(&p.log()?)?)?.sum_axis(-1, false)?.mean()
}

/// Hinge loss, Keras's `hinge`: `mean(max(1 - y p, 0))` with targets in {-1, 1}; targets given
/// as 0/1 (every one of them) are read as -1/1, as Keras does.
///
/// # Errors
/// When the shapes differ or the batch is empty.
pub fn hinge<T: Element>(pred: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
    ensure_same_shape("hinge", pred, target)?;
    let binary = target.data().iter().all(|&v| v == T::zero() || v == T::one());
    let signed = if binary { target.mul_scalar(2.0)?.add_scalar(-1.0)? } else { target.clone() };
    signed.mul(pred)?.neg()?.add_scalar(1.0)?.relu()?.mean()
}

/// The one table of losses: variant (with its parameters and Keras's defaults), names (the
/// first canonical), whether it trains a classifier, and what it computes. The enum, `NAMES`,
/// `from_name`, `name`, `is_classifier`, `compute` and the spec reader are generated from it:
/// adding a loss is its function above and one row.
macro_rules! losses {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({ $($(#[$fdoc:meta])* $field:ident: $fty:ty = $default:expr),* $(,)? })?
            = $name:literal $(| $alias:literal)*, classifier: $classifier:literal
            => |$p:ident, $t:ident| $compute:expr;
    )*) => {
        /// A loss by name, as `compile` and the spec file take it (Keras names).
        #[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
        #[serde(tag = "type")]
        pub enum Loss {
            $( $(#[$doc])* #[serde(rename = $name)] $variant $({ $($(#[$fdoc])* $field: $fty),* })?, )*
        }

        impl Loss {
            /// Every name [`Loss::from_name`] accepts.
            pub const NAMES: &'static [&'static str] = &[$($name, $($alias,)*)*];

            /// The loss of a prediction batch against its targets.
            ///
            /// # Errors
            /// As the underlying function.
            pub fn compute<T: Element>(&self, pred: &Tensor<T>, target: &Tensor<T>) -> Result<Tensor<T>> {
                match *self {
                    $( Loss::$variant $({ $($field),* })? => { let ($p, $t) = (pred, target); $compute } )*
                }
            }

            /// The loss named as in Keras (`"mse"`, `"sparse_categorical_crossentropy"`, ...), with
            /// Keras's defaults (cross-entropies on probabilities).
            ///
            /// # Errors
            /// When the name is unknown (the message lists the known ones).
            pub fn from_name(name: &str) -> Result<Loss> {
                match name {
                    $( $name $(| $alias)* => Ok(Loss::$variant $({ $($field: $default),* })?), )*
                    other => Err(Loss::unknown(other)),
                }
            }

            /// The error for a loss name not in the table (it lists the known ones).
            fn unknown(name: &str) -> Error {
                Error::invalid("loss", format!("unknown loss {name:?} (expected one of: {})", Loss::NAMES.join(", ")))
            }

            /// The loss `kind` with its parameters read from a spec table (unread keys are left
            /// for the caller to refuse).
            pub(crate) fn read(kind: &str, f: &mut crate::config::Fields<'_>) -> std::result::Result<Loss, String> {
                let loss = match kind {
                    $( $name $(| $alias)* => Loss::$variant $({ $($field: crate::config::ConfigValue::read(f, stringify!($field), $default)?),* })?, )*
                    other => return Err(Loss::unknown(other).to_string()),
                };
                loss.validate().map_err(|e| e.to_string())?;
                Ok(loss)
            }

            /// Whether the loss trains a classifier (its outputs are class scores).
            pub fn is_classifier(&self) -> bool {
                match self {
                    $( Loss::$variant { .. } => $classifier, )*
                }
            }

            /// The canonical name.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Loss::$variant { .. } => $name, )*
                }
            }
        }
    };
}

losses! {
    /// [`mse`].
    MeanSquaredError = "mse" | "mean_squared_error", classifier: false => |p, t| mse(p, t);
    /// [`mae`].
    MeanAbsoluteError = "mae" | "mean_absolute_error", classifier: false => |p, t| mae(p, t);
    /// [`huber`] with its `delta` (Keras's default 1.0).
    Huber {
        /// Where the quadratic part ends (> 0).
        delta: f64 = 1.0,
    } = "huber", classifier: false => |p, t| huber(p, t, delta);
    /// [`binary_crossentropy`], or [`binary_crossentropy_from_logits`].
    BinaryCrossentropy {
        /// Whether predictions are logits rather than probabilities.
        from_logits: bool = false,
    } = "binary_crossentropy", classifier: true => |p, t| if from_logits {
        binary_crossentropy_from_logits(p, t)
    } else {
        binary_crossentropy(p, t)
    };
    /// [`categorical_crossentropy`], or [`categorical_crossentropy_from_logits`].
    CategoricalCrossentropy {
        /// Whether predictions are logits rather than probabilities.
        from_logits: bool = false,
    } = "categorical_crossentropy", classifier: true => |p, t| if from_logits {
        categorical_crossentropy_from_logits(p, t)
    } else {
        categorical_crossentropy(p, t)
    };
    /// [`sparse_categorical_crossentropy`], or its `from_logits` form.
    SparseCategoricalCrossentropy {
        /// Whether predictions are logits rather than probabilities.
        from_logits: bool = false,
    } = "sparse_categorical_crossentropy", classifier: true => |p, t| if from_logits {
        sparse_categorical_crossentropy_from_logits(p, t)
    } else {
        sparse_categorical_crossentropy(p, t)
    };
    /// [`kl_divergence`] between target and predicted distributions.
    KlDivergence = "kl_divergence" | "kld", classifier: false => |p, t| kl_divergence(p, t);
    /// [`hinge`], for scores against -1/1 (or 0/1) targets.
    Hinge = "hinge", classifier: false => |p, t| hinge(p, t);
}

impl Loss {
    /// Checks the parameters' ranges (Huber's `delta` > 0).
    ///
    /// # Errors
    /// Naming the parameter and its value.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Loss::Huber { delta } if !(delta.is_finite() && delta > 0.0) => {
                Err(Error::invalid("loss", format!("huber key `delta` must be > 0, got {delta}")))
            }
            _ => Ok(()),
        }
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(None, "mse", &[&[&[33, 2]], &[&[1, 2]]], R, |t| mse(&t[0], &t[0].mul_scalar(0.0)?.add_scalar(0.3)?)),
        op_check!(None, "mae", &[&[&[33, 2]], &[&[1, 2]]], R, |t| mae(&t[0], &t[0].mul_scalar(0.0)?.add_scalar(0.3)?)),
        op_check!(None, "huber", &[&[&[33, 2]], &[&[1, 2]]], R, |t| huber(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(0.3)?,
            0.4
        )),
        op_check!(None, "binary_crossentropy", &[&[&[33, 2]], &[&[1, 2]]], PROB, |t| binary_crossentropy(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(1.0)?
        )),
        op_check!(None, "binary_crossentropy logits", &[&[&[33, 2]], &[&[1, 2]]], R, |t| {
            binary_crossentropy_from_logits(&t[0], &t[0].gt_scalar(0.5))
        }),
        op_check!(None, "categorical_crossentropy", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let n = t[0].dims()[0];
            categorical_crossentropy(
                &t[0].softmax(-1)?,
                &Tensor::one_hot(&(0..n).map(|i| i % 4).collect::<Vec<_>>(), 4)?,
            )
        }),
        op_check!(None, "categorical_crossentropy logits", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let n = t[0].dims()[0];
            categorical_crossentropy_from_logits(
                &t[0],
                &Tensor::one_hot(&(0..n).map(|i| i % 4).collect::<Vec<_>>(), 4)?,
            )
        }),
        op_check!(None, "sparse_categorical_crossentropy", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            sparse_categorical_crossentropy(&t[0].softmax(-1)?, &cyclic_labels(t[0].dims()[0], 4))
        }),
        op_check!(None, "sparse_categorical_crossentropy logits", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            sparse_categorical_crossentropy_from_logits(&t[0], &cyclic_labels(t[0].dims()[0], 4))
        }),
        // Probabilities from a softmax, against a fixed distribution (the clip is inactive there).
        op_check!(None, "kl_divergence", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let target = t[0].mul_scalar(0.0)?.add(&Tensor::from_f64(&[0.1, 0.2, 0.3, 0.4], [4])?)?;
            kl_divergence(&t[0].softmax(-1)?, &target)
        }),
        // Scores against -1/1 targets; margins near the kink are measure zero for random inputs.
        op_check!(None, "hinge", &[&[&[33, 2]], &[&[1, 2]]], R, |t| hinge(
            &t[0],
            &t[0].gt_scalar(0.0).mul_scalar(2.0)?.add_scalar(-1.0)?.mul_scalar(-1.0)?
        )),
    ]
}
