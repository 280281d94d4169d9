//! Metrics: accuracy (binary, categorical, sparse: chosen from the loss as Keras does), mean
//! squared and absolute error; and for classifiers, the confusion matrix with precision, recall
//! and F1 per class and macro-averaged.

use crate::error::{Error, Result};
use crate::loss::{class_indices, Loss};
use crate::tensor::{Element, Tensor};

/// A metric tracked during `fit` and reported by `evaluate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Accuracy of the kind the loss implies (resolved at `compile`).
    Accuracy,
    /// Thresholded at 0.5 against 0/1 targets.
    BinaryAccuracy,
    /// Argmax of prediction against argmax of one-hot targets.
    CategoricalAccuracy,
    /// Argmax of prediction against class indices.
    SparseCategoricalAccuracy,
    /// Mean squared error.
    MeanSquaredError,
    /// Mean absolute error.
    MeanAbsoluteError,
}

impl Metric {
    /// Every name [`Metric::from_name`] accepts.
    pub const NAMES: &'static [&'static str] =
        &["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mse", "mae"];

    /// The metric called `name`.
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn from_name(name: &str) -> Result<Metric> {
        Ok(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "binary_accuracy" => Metric::BinaryAccuracy,
            "categorical_accuracy" => Metric::CategoricalAccuracy,
            "sparse_categorical_accuracy" => Metric::SparseCategoricalAccuracy,
            "mse" | "mean_squared_error" => Metric::MeanSquaredError,
            "mae" | "mean_absolute_error" => Metric::MeanAbsoluteError,
            other => {
                return Err(Error::invalid(
                    "metric",
                    format!("unknown metric {other:?} (expected one of: {})", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The key in `History` and in `evaluate`'s results.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BinaryAccuracy => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::MeanSquaredError => "mse",
            Metric::MeanAbsoluteError => "mae",
        }
    }

    /// `Accuracy` made concrete from the loss, as Keras's `compile` does; others unchanged.
    pub fn resolve(self, loss: Loss) -> Metric {
        match (self, loss) {
            (Metric::Accuracy, Loss::BinaryCrossentropy { .. }) => Metric::BinaryAccuracy,
            (Metric::Accuracy, Loss::SparseCategoricalCrossentropy { .. }) => Metric::SparseCategoricalAccuracy,
            (Metric::Accuracy, _) => Metric::CategoricalAccuracy,
            (m, _) => m,
        }
    }

    /// Sum of the per-sample values over a batch, and the sample count, so that batches can be
    /// averaged exactly.
    ///
    /// # Errors
    /// When shapes or class indices do not fit.
    pub fn batch_total<T: Element>(&self, pred: &Tensor<T>, target: &Tensor<T>) -> Result<(f64, usize)> {
        let n = pred.dims().first().copied().unwrap_or(1);
        let per_sample = |total: f64| (total * n as f64 / pred.numel().max(1) as f64, n);
        match self {
            Metric::MeanSquaredError => {
                Ok(per_sample(crate::loss::mse(pred, target)?.item()?.f64() * pred.numel() as f64))
            }
            Metric::MeanAbsoluteError => {
                Ok(per_sample(crate::loss::mae(pred, target)?.item()?.f64() * pred.numel() as f64))
            }
            Metric::BinaryAccuracy => {
                if pred.shape() != target.shape() {
                    return Err(Error::mismatch("binary_accuracy", pred.shape(), target.shape(), "shapes must match"));
                }
                let hits =
                    pred.data().iter().zip(target.data()).filter(|(p, t)| (p.f64() > 0.5) == (t.f64() > 0.5)).count();
                Ok(per_sample(hits as f64))
            }
            Metric::CategoricalAccuracy => {
                if pred.shape() != target.shape() {
                    return Err(Error::mismatch(
                        "categorical_accuracy",
                        pred.shape(),
                        target.shape(),
                        "shapes must match",
                    ));
                }
                let (p, t) = (argmax_rows(pred)?, argmax_rows(target)?);
                Ok((p.iter().zip(&t).filter(|(a, b)| a == b).count() as f64, n))
            }
            Metric::SparseCategoricalAccuracy => {
                let (rows, classes) = pred.shape().dims2("sparse_categorical_accuracy")?;
                let labels = class_indices("sparse_categorical_accuracy", target, rows, classes)?;
                let p = argmax_rows(pred)?;
                Ok((p.iter().zip(&labels).filter(|(a, b)| a == b).count() as f64, n))
            }
            Metric::Accuracy => {
                Err(Error::invalid("metric", "accuracy must be resolved against a loss first (compile does)"))
            }
        }
    }
}

/// The index of the largest value of each row of a `[n, c]` tensor.
///
/// # Errors
/// When the tensor is not rank 2 or has no columns.
pub fn argmax_rows<T: Element>(x: &Tensor<T>) -> Result<Vec<usize>> {
    Ok(x.argmax(-1, false)?.data().iter().map(|v| v.f64() as usize).collect())
}

/// Counts `[true class][predicted class]`.
///
/// # Errors
/// When the lists differ in length or a label is `>= classes`.
pub fn confusion_matrix(truth: &[usize], predicted: &[usize], classes: usize) -> Result<Vec<Vec<usize>>> {
    if truth.len() != predicted.len() {
        return Err(Error::invalid(
            "confusion_matrix",
            format!("{} true labels but {} predictions", truth.len(), predicted.len()),
        ));
    }
    let mut m = vec![vec![0; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        if t >= classes || p >= classes {
            return Err(Error::invalid("confusion_matrix", format!("label {} is out of range 0..{classes}", t.max(p))));
        }
        m[t][p] += 1;
    }
    Ok(m)
}

/// Precision, recall and F1 of each class, and their unweighted (macro) means.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// Per class: TP / (TP + FP), 0 when nothing was predicted as the class.
    pub precision: Vec<f64>,
    /// Per class: TP / (TP + FN), 0 when the class never occurs.
    pub recall: Vec<f64>,
    /// Per class: harmonic mean of precision and recall (0 when both are 0).
    pub f1: Vec<f64>,
    /// Mean of `precision`.
    pub macro_precision: f64,
    /// Mean of `recall`.
    pub macro_recall: f64,
    /// Mean of `f1`.
    pub macro_f1: f64,
}

/// [`ClassificationReport`] from a confusion matrix.
pub fn classification_report(confusion: &[Vec<usize>]) -> ClassificationReport {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut report = ClassificationReport {
        precision: vec![],
        recall: vec![],
        f1: vec![],
        macro_precision: 0.0,
        macro_recall: 0.0,
        macro_f1: 0.0,
    };
    for (c, row) in confusion.iter().enumerate() {
        let tp = row[c];
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let actual: usize = row.iter().sum();
        let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
        report.precision.push(p);
        report.recall.push(r);
        report.f1.push(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 });
    }
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    report.macro_precision = mean(&report.precision);
    report.macro_recall = mean(&report.recall);
    report.macro_f1 = mean(&report.f1);
    report
}
