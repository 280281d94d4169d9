//! Metrics: accuracy (binary, categorical, sparse: chosen from the loss as Keras does), mean
//! squared and absolute error; and for classifiers, the confusion matrix with precision, recall
//! and F1 per class and macro-averaged.

use crate::error::{Error, Result};
use crate::loss::{class_indices, Loss};
use crate::tensor::{Element, Tensor};

/// The one table of metric names: the variant and its names (the first is the key it logs
/// under when named explicitly; aliases after it). The enum, `NAMES`, `from_name` and `name`
/// are generated from it; what each computes is in [`Metric::batch_total`] and the
/// accumulator, whose matches the compiler checks for every variant.
macro_rules! metrics {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal $(| $alias:literal)*; )*) => {
        /// A metric tracked during `fit` and reported by `evaluate`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
        pub enum Metric {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Metric {
            /// Every name [`Metric::from_name`] accepts.
            pub const NAMES: &'static [&'static str] = &[$($name, $($alias,)*)*];

            /// The metric called `name`.
            ///
            /// # Errors
            /// When the name is unknown.
            pub fn from_name(name: &str) -> Result<Metric> {
                match name {
                    $( $name $(| $alias)* => Ok(Metric::$variant), )*
                    other => Err(Error::invalid(
                        "metric",
                        format!("unknown metric {other:?} (expected one of: {})", Self::NAMES.join(", ")),
                    )),
                }
            }

            /// The key in `History` and in `evaluate`'s results.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Metric::$variant => $name, )*
                }
            }
        }
    };
}

metrics! {
    /// Accuracy of the kind the loss implies (resolved at `compile`).
    Accuracy = "accuracy" | "acc";
    /// Thresholded at 0.5 against 0/1 targets.
    BinaryAccuracy = "binary_accuracy";
    /// Argmax of prediction against argmax of one-hot targets.
    CategoricalAccuracy = "categorical_accuracy";
    /// Argmax of prediction against class indices.
    SparseCategoricalAccuracy = "sparse_categorical_accuracy";
    /// Mean squared error.
    MeanSquaredError = "mse" | "mean_squared_error";
    /// Mean absolute error.
    MeanAbsoluteError = "mae" | "mean_absolute_error";
    /// TP / (TP + FP): of one output unit thresholded at 0.5 (Keras's `Precision`), or the
    /// macro mean over the classes of an argmax classifier.
    Precision = "precision";
    /// TP / (TP + FN), binary or macro-averaged as [`Metric::Precision`].
    Recall = "recall";
    /// Harmonic mean of precision and recall, binary or macro-averaged (Keras's
    /// `F1Score(average="macro")`, `threshold=0.5` for one unit).
    F1Score = "f1_score";
    /// Area under the ROC curve, computed exactly from every score of the epoch (Keras's `AUC`
    /// approximates it with 200 thresholds); for several classes the macro mean of one-vs-rest
    /// AUCs over the classes that have both positive and negative rows.
    Auc = "auc";
}

impl Metric {
    /// `Accuracy` made concrete as Keras 3's `compile` does, from the output's last dimension
    /// and the loss: one output unit is binary accuracy (threshold 0.5), whatever the loss; a
    /// binary cross-entropy over several units (multi-label) is binary accuracy per unit; a
    /// sparse loss is sparse categorical accuracy; anything else categorical accuracy. Other
    /// metrics are unchanged.
    pub fn resolve(self, loss: Loss, output_width: usize) -> Metric {
        match (self, loss) {
            (Metric::Accuracy, _) if output_width == 1 => Metric::BinaryAccuracy,
            (Metric::Accuracy, Loss::BinaryCrossentropy { .. }) => Metric::BinaryAccuracy,
            (Metric::Accuracy, Loss::SparseCategoricalCrossentropy { .. }) => Metric::SparseCategoricalAccuracy,
            (Metric::Accuracy, _) => Metric::CategoricalAccuracy,
            (m, _) => m,
        }
    }

    /// A fresh running state of this metric, for an epoch or an evaluation.
    pub fn accumulator(&self) -> MetricAccumulator {
        MetricAccumulator {
            metric: *self,
            total: 0.0,
            count: 0,
            confusion: Vec::new(),
            scores: Vec::new(),
            labels: Vec::new(),
            width: 0,
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
            Metric::Precision | Metric::Recall | Metric::F1Score | Metric::Auc => Err(Error::invalid(
                self.name(),
                "is computed over a whole epoch, not averaged over batches: use Metric::accumulator",
            )),
        }
    }
}

/// A metric's running state: sums for the per-sample metrics, a confusion matrix for
/// precision, recall and F1, every score for the AUC.
#[derive(Clone, Debug)]
pub struct MetricAccumulator {
    metric: Metric,
    total: f64,
    count: usize,
    /// `[true class][predicted class]`; two classes for one output unit.
    confusion: Vec<Vec<usize>>,
    /// Row-major `[rows, width]` predictions (AUC only).
    scores: Vec<f64>,
    /// The true class of each row (AUC only).
    labels: Vec<usize>,
    /// The prediction's last dimension (0 before the first batch).
    width: usize,
}

impl MetricAccumulator {
    /// Add a batch of predictions `[n, width]` and their targets.
    ///
    /// # Errors
    /// When the shapes do not fit or a target is not a class (names the value).
    pub fn update<T: Element>(&mut self, pred: &Tensor<T>, target: &Tensor<T>) -> Result<()> {
        let metric = self.metric;
        if !matches!(metric, Metric::Precision | Metric::Recall | Metric::F1Score | Metric::Auc) {
            let (total, count) = metric.batch_total(pred, target)?;
            self.total += total;
            self.count += count;
            return Ok(());
        }
        let (truth, predicted, classes) = row_classes(metric.name(), pred, target)?;
        self.width = pred.dims().last().copied().unwrap_or(1);
        if metric == Metric::Auc {
            self.scores.extend(pred.data().iter().map(|v| v.f64()));
            self.labels.extend(truth);
            return Ok(());
        }
        if self.confusion.is_empty() {
            self.confusion = vec![vec![0; classes]; classes];
        }
        for (&t, &p) in truth.iter().zip(&predicted) {
            if let Some(cell) = self.confusion.get_mut(t).and_then(|row| row.get_mut(p)) {
                *cell += 1;
            }
        }
        Ok(())
    }

    /// The metric's value over everything added so far (0 before anything is added, as Keras).
    pub fn result(&self) -> f64 {
        match self.metric {
            Metric::Auc => roc_auc(&self.scores, &self.labels),
            Metric::Precision | Metric::Recall | Metric::F1Score if self.confusion.is_empty() => 0.0,
            Metric::Precision | Metric::Recall | Metric::F1Score => {
                let report = classification_report(&self.confusion);
                let (per_class, macro_mean) = match self.metric {
                    Metric::Precision => (&report.precision, report.macro_precision),
                    Metric::Recall => (&report.recall, report.macro_recall),
                    _ => (&report.f1, report.macro_f1),
                };
                // One output unit: the positive class's figure, as Keras's Precision and Recall.
                if self.width == 1 {
                    per_class.get(1).copied().unwrap_or(0.0)
                } else {
                    macro_mean
                }
            }
            _ => self.total / self.count.max(1) as f64,
        }
    }
}

/// The true and the predicted class of each row, and the number of classes, as the
/// classification metrics read a batch: one output unit thresholded at 0.5 (two classes);
/// several by argmax, against class indices (`[n]` or `[n, 1]`, as Keras 3 tells them apart) or
/// one-hot rows.
///
/// # Errors
/// When the prediction is not `[n, width]`, the shapes do not fit, or a target is not a class.
pub fn row_classes<T: Element>(
    op: &str,
    pred: &Tensor<T>,
    target: &Tensor<T>,
) -> Result<(Vec<usize>, Vec<usize>, usize)> {
    let (rows, width) = pred.shape().dims2(op)?;
    if width == 1 {
        if pred.shape() != target.shape() {
            return Err(Error::mismatch(op, pred.shape(), target.shape(), "shapes must match"));
        }
        let to_class = |v: &T| usize::from(v.f64() > 0.5);
        return Ok((target.data().iter().map(to_class).collect(), pred.data().iter().map(to_class).collect(), 2));
    }
    let truth = if target.dims() == [rows] || target.dims() == [rows, 1] {
        class_indices(op, target, rows, width)?
    } else if target.shape() == pred.shape() {
        argmax_rows(target)?
    } else {
        return Err(Error::mismatch(
            op,
            pred.shape(),
            target.shape(),
            "targets must be class indices [n] or one-hot rows of the prediction's shape",
        ));
    };
    Ok((truth, argmax_rows(pred)?, width))
}

/// Exact area under the ROC curve of `scores` (`[rows, width]`, row-major) against `labels`:
/// for one column, positives are label 1; for several, the macro mean of one-vs-rest AUCs
/// over the classes with both positive and negative rows (0 when there is none, as Keras).
pub fn roc_auc(scores: &[f64], labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let width = scores.len() / labels.len();
    let column = |k: usize| -> Option<f64> {
        let mut pairs: Vec<(f64, bool)> = labels
            .iter()
            .enumerate()
            .map(|(r, &l)| (scores[r * width + k], if width == 1 { l == 1 } else { l == k }))
            .collect();
        let positives = pairs.iter().filter(|p| p.1).count();
        let negatives = pairs.len() - positives;
        if positives == 0 || negatives == 0 {
            return None;
        }
        // Mann-Whitney U: the ranks of the positives, ties sharing their mean rank.
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut rank_sum = 0.0;
        let mut i = 0;
        while i < pairs.len() {
            let mut j = i;
            while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
                j += 1;
            }
            let mean_rank = (i + j) as f64 / 2.0 + 1.0;
            rank_sum += mean_rank * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
            i = j + 1;
        }
        let (p, n) = (positives as f64, negatives as f64);
        Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
    };
    let aucs: Vec<f64> = (0..width).filter_map(column).collect();
    if aucs.is_empty() {
        0.0
    } else {
        aucs.iter().sum::<f64>() / aucs.len() as f64
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
    /// Per class: how many rows truly belong to it.
    pub support: Vec<usize>,
    /// Correct predictions over all rows (0 when there is none).
    pub accuracy: f64,
    /// Class names for its `Display` table (indices when empty).
    pub class_names: Vec<String>,
}

impl ClassificationReport {
    /// Name the classes in the printed table (as sklearn's `target_names`).
    pub fn with_class_names(mut self, names: &[String]) -> Self {
        self.class_names = names.to_vec();
        self
    }

    /// Means weighted by support (sklearn's "weighted avg" row): precision, recall, F1.
    pub fn weighted(&self) -> (f64, f64, f64) {
        let total: usize = self.support.iter().sum();
        if total == 0 {
            return (0.0, 0.0, 0.0);
        }
        let mean = |v: &[f64]| v.iter().zip(&self.support).map(|(x, &s)| x * s as f64).sum::<f64>() / total as f64;
        (mean(&self.precision), mean(&self.recall), mean(&self.f1))
    }
}

/// The table sklearn's `classification_report` prints: a row per class, then accuracy and the
/// macro and weighted averages, two decimals.
impl std::fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = (0..self.precision.len())
            .map(|c| self.class_names.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect();
        let width = names.iter().map(String::len).chain([12]).max().unwrap_or(12);
        let total: usize = self.support.iter().sum();
        writeln!(f, "{:>width$} {:>9} {:>9} {:>9} {:>9}", "", "precision", "recall", "f1-score", "support")?;
        writeln!(f)?;
        for (c, name) in names.iter().enumerate() {
            writeln!(
                f,
                "{name:>width$} {:>9.2} {:>9.2} {:>9.2} {:>9}",
                self.precision[c], self.recall[c], self.f1[c], self.support[c]
            )?;
        }
        writeln!(f)?;
        writeln!(f, "{:>width$} {:>9} {:>9} {:>9.2} {:>9}", "accuracy", "", "", self.accuracy, total)?;
        writeln!(
            f,
            "{:>width$} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            "macro avg", self.macro_precision, self.macro_recall, self.macro_f1, total
        )?;
        let (p, r, f1) = self.weighted();
        writeln!(f, "{:>width$} {p:>9.2} {r:>9.2} {f1:>9.2} {total:>9}", "weighted avg")
    }
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
        support: vec![],
        accuracy: 0.0,
        class_names: vec![],
    };
    for (c, row) in confusion.iter().enumerate() {
        let tp = row[c];
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let actual: usize = row.iter().sum();
        let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
        report.precision.push(p);
        report.recall.push(r);
        report.f1.push(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 });
        report.support.push(actual);
    }
    let correct: usize = confusion.iter().enumerate().map(|(c, row)| row[c]).sum();
    report.accuracy = ratio(correct, confusion.iter().flatten().sum());
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
