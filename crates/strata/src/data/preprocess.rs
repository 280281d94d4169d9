//! Preprocessing: train/test split (seeded, optionally stratified), feature scaling fitted on
//! training data and applied to any data, and one-hot encoding.

use crate::error::{Error, Result};
use crate::rng::seeded_rng;
use crate::tensor::{Element, Tensor};
use rand::seq::SliceRandom;

/// Row indices of a seeded split: `(train, test)`, with `round(n * test_fraction)` test rows
/// (at least one of each). With `stratify` (a class per row) each class is split in proportion.
///
/// # Errors
/// When `test_fraction` is outside (0, 1), there are fewer than 2 rows, or `stratify` has the
/// wrong length.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
    stratify: Option<&[usize]>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid(
            "train_test_split",
            format!("test fraction must be in (0, 1), got {test_fraction}"),
        ));
    }
    if n < 2 {
        return Err(Error::invalid("train_test_split", format!("needs at least 2 rows, got {n}")));
    }
    let mut rng = seeded_rng(seed);
    let groups: Vec<Vec<usize>> = match stratify {
        None => vec![(0..n).collect()],
        Some(labels) if labels.len() != n => {
            return Err(Error::invalid("train_test_split", format!("{} class labels for {n} rows", labels.len())));
        }
        Some(labels) => {
            let classes = labels.iter().max().map_or(0, |m| m + 1);
            (0..classes)
                .map(|c| (0..n).filter(|&r| labels[r] == c).collect())
                .filter(|g: &Vec<usize>| !g.is_empty())
                .collect()
        }
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut group in groups {
        group.shuffle(&mut rng);
        let k = ((group.len() as f64 * test_fraction).round() as usize)
            .clamp(usize::from(group.len() > 1), group.len() - 1);
        test.extend_from_slice(&group[..k]);
        train.extend_from_slice(&group[k..]);
    }
    if test.is_empty() || train.is_empty() {
        return Err(Error::invalid(
            "train_test_split",
            format!("fraction {test_fraction} of {n} rows leaves an empty side"),
        ));
    }
    Ok((train, test))
}

/// A feature transform fitted on training data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scaler {
    /// Leave the data as it is.
    None,
    /// `(x - mean) / std` per feature (a std of 0 is treated as 1).
    Standardize {
        /// Per-feature means.
        mean: Vec<f64>,
        /// Per-feature standard deviations.
        std: Vec<f64>,
    },
    /// `(x - min) / (max - min)` per feature (a range of 0 is treated as 1).
    MinMax {
        /// Per-feature minima.
        min: Vec<f64>,
        /// Per-feature maxima.
        max: Vec<f64>,
    },
    /// `x / divisor` (pixels / 255).
    Divide {
        /// The constant.
        divisor: f64,
    },
}

impl Scaler {
    /// Checks a scaler read from a file: every statistic finite, and one that `apply` can
    /// divide by in f32 (a damaged or edited run would otherwise scale every input to inf or NaN).
    ///
    /// # Errors
    /// Naming the statistic, the feature and the value.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |what: &str, at: usize, v: f64| Err(Error::invalid("scaler", format!("{what}[{at}] = {v} is not usable")));
        let finite = |what: &str, values: &[f64]| match values.iter().position(|v| !v.is_finite()) {
            Some(at) => bad(what, at, values[at]),
            None => Ok(()),
        };
        match self {
            Scaler::None => Ok(()),
            Scaler::Standardize { mean, std } => {
                finite("mean", mean)?;
                finite("std", std)?;
                match std.iter().position(|&s| s < 0.0) {
                    Some(at) => bad("std", at, std[at]),
                    None => Ok(()),
                }
            }
            Scaler::MinMax { min, max } => {
                finite("min", min)?;
                finite("max", max)?;
                match min.iter().zip(max).position(|(lo, hi)| lo > hi) {
                    Some(at) => bad("max", at, max[at]),
                    None => Ok(()),
                }
            }
            Scaler::Divide { divisor } => {
                let d = *divisor;
                if d.is_finite() && d != 0.0 && ((1.0 / d) as f32).is_finite() {
                    Ok(())
                } else {
                    Err(Error::invalid(
                        "scaler",
                        format!("divisor {d} is not usable (0, not finite, or 1/{d} overflows f32)"),
                    ))
                }
            }
        }
    }

    /// Fit the scaler named `kind` ("none", "standardize", "minmax", "divide:255") on training
    /// features `x` (`[n, ...]`; statistics per position of a sample).
    ///
    /// # Errors
    /// When the name is unknown, the divisor is 0 or not a number, or `x` has no rows.
    pub fn fit<T: Element>(kind: &str, x: &Tensor<T>) -> Result<Scaler> {
        let n = x.dims().first().copied().unwrap_or(0);
        let width = x.numel().checked_div(n).unwrap_or(0);
        let column = |f: usize| (0..n).map(move |r| x.data()[r * width + f].f64());
        Ok(match kind {
            "none" => Scaler::None,
            "standardize" | "minmax" if n == 0 => return Err(Error::invalid("scale", "cannot fit a scaler on no rows")),
            "standardize" => {
                let mean: Vec<f64> = (0..width).map(|f| column(f).sum::<f64>() / n as f64).collect();
                let std = (0..width).map(|f| (column(f).map(|v| (v - mean[f]).powi(2)).sum::<f64>() / n as f64).sqrt()).collect();
                Scaler::Standardize { mean, std }
            }
            "minmax" => Scaler::MinMax {
                min: (0..width).map(|f| column(f).fold(f64::INFINITY, f64::min)).collect(),
                max: (0..width).map(|f| column(f).fold(f64::NEG_INFINITY, f64::max)).collect(),
            },
            other => match other.strip_prefix("divide:").map(str::parse::<f64>) {
                // 1/d must be finite in T too: divide:1e-40 would turn every feature into inf.
                Some(Ok(d)) if d != 0.0 && d.is_finite() && T::of(1.0 / d).is_finite() && T::of(d) != T::zero() => {
                    Scaler::Divide { divisor: d }
                }
                Some(Ok(d)) if d != 0.0 && d.is_finite() => {
                    return Err(Error::invalid(
                        "scale",
                        format!("{other} is too small for {}: 1/{d:e} is not finite there", std::any::type_name::<T>()),
                    ))
                }
                _ => {
                    return Err(Error::invalid(
                        "scale",
                        format!("unknown scaling {other:?} (expected none, standardize, minmax or divide:<number other than 0>)"),
                    ))
                }
            },
        })
    }

    /// Apply to `x` (`[n, ...]` with the fitted per-sample width).
    ///
    /// # Errors
    /// When `x`'s per-sample width differs from the fitted one.
    pub fn transform<T: Element>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.apply(x.clone())
    }

    /// [`Scaler::transform`] taking the tensor, so its buffer is reused when it is not shared:
    /// scaling 60,000 images needs no second copy of them.
    ///
    /// # Errors
    /// As [`Scaler::transform`].
    pub fn apply<T: Element>(&self, x: Tensor<T>) -> Result<Tensor<T>> {
        let (shift, scale): (&[f64], Vec<f64>) = match self {
            Scaler::None => return Ok(x),
            Scaler::Divide { divisor } => {
                let inverse = T::of(1.0 / divisor);
                return Ok(x.map_values(|_, v| v * inverse));
            }
            Scaler::Standardize { mean, std } => (mean, std.iter().map(|&s| if s > 0.0 { s } else { 1.0 }).collect()),
            Scaler::MinMax { min, max } => {
                (min, min.iter().zip(max).map(|(lo, hi)| if hi > lo { hi - lo } else { 1.0 }).collect())
            }
        };
        let n = x.dims().first().copied().unwrap_or(0);
        let width = x.numel().checked_div(n).unwrap_or(0);
        if n > 0 && width != shift.len() {
            return Err(Error::shape(
                "scale",
                x.shape(),
                format!("the scaler was fitted on {} features per sample", shift.len()),
            ));
        }
        Ok(x.map_values(|i, v| T::of((v.f64() - shift[i % width]) / scale[i % width])))
    }
}
