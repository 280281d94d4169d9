//! Public gradient checker: central finite differences in f64 against autodiff.
//!
//! A non-scalar output `y = f(x)` is reduced to `L = sum(y * r)` with a fixed random `r`, so every
//! output element takes part with a different weight (a wrong index shows up, a symmetric sum
//! would hide it). For each input element, `dL/dx ≈ (L(x + h) - L(x - h)) / 2h`.

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::rng::seeded_rng;
use crate::tensor::Tensor;
use std::fmt;

/// Settings of [`gradcheck`].
#[derive(Clone, Debug)]
pub struct GradcheckConfig {
    /// Finite-difference step.
    pub eps: f64,
    /// Largest acceptable normwise relative error `|a - n| / max(|a|, |n|)` over all elements.
    pub rel_tol: f64,
    /// Per-element tolerance: `|a - n| <= atol + rtol * |n|`.
    pub atol: f64,
    /// Per-element relative part of the tolerance.
    pub rtol: f64,
    /// Seed of the random projection of the output.
    pub seed: u64,
}

impl Default for GradcheckConfig {
    fn default() -> Self {
        GradcheckConfig { eps: 1e-6, rel_tol: 1e-6, atol: 1e-5, rtol: 1e-3, seed: 0 }
    }
}

/// Where autodiff and finite differences disagree most.
#[derive(Clone, Debug, Default)]
pub struct GradcheckReport {
    /// Largest `|analytic - numeric|`.
    pub max_abs_error: f64,
    /// Largest per-element `|analytic - numeric| / max(|analytic|, |numeric|)` (elements where
    /// both are below 1e-8 are skipped: their ratio is noise).
    pub max_rel_error: f64,
    /// `||analytic - numeric|| / max(||analytic||, ||numeric||)` over every element of every input.
    pub normwise_rel_error: f64,
    /// (input index, flat element index) of the largest absolute error.
    pub worst_at: (usize, usize),
    /// Analytic and numeric derivative at `worst_at`.
    pub worst_values: (f64, f64),
    /// Elements outside `atol + rtol * |numeric|`.
    pub elements_out_of_tolerance: usize,
    /// Elements checked.
    pub checked: usize,
    /// Whether the report meets the config's tolerances.
    pub passed: bool,
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck {}: normwise relative error {:.3e}, worst absolute error {:.3e} at input {} element {} \
             (autodiff {:.6e}, finite difference {:.6e}), worst relative error {:.3e}, {} of {} elements out of tolerance",
            if self.passed { "passed" } else { "FAILED" },
            self.normwise_rel_error,
            self.max_abs_error,
            self.worst_at.0,
            self.worst_at.1,
            self.worst_values.0,
            self.worst_values.1,
            self.max_rel_error,
            self.elements_out_of_tolerance,
            self.checked
        )
    }
}

/// Compare the autodiff gradient of `f` with central finite differences at `inputs`.
///
/// ```
/// use strata::{gradcheck, GradcheckConfig, Tensor};
/// let x = Tensor::<f64>::from_f64(&[0.3, -1.2, 2.0], [3]).unwrap();
/// let report = gradcheck(|t| t[0].tanh()?.mul(&t[0]), &[x], &GradcheckConfig::default()).unwrap();
/// assert!(report.passed, "{report}");
/// ```
///
/// # Errors
/// When `f` fails or returns a non-finite value.
pub fn gradcheck<F>(f: F, inputs: &[Tensor<f64>], config: &GradcheckConfig) -> Result<GradcheckReport>
where
    F: Fn(&[Tensor<f64>]) -> Result<Tensor<f64>>,
{
    let leaves: Vec<Tensor<f64>> = inputs.iter().map(|t| t.with_requires_grad(true)).collect();
    let output = f(&leaves)?;
    let projection = Tensor::<f64>::randn(output.shape().clone(), 0.0, 1.0, &mut seeded_rng(config.seed))?;
    // The projection seeds backward directly (a vector-Jacobian product), and the numeric side
    // is a plain dot product: no op of the checker's own enters the graph being checked.
    let grads = output.backward_with(projection.clone())?;

    let objective = |xs: &[Tensor<f64>]| -> Result<f64> {
        let _guard = no_grad();
        let value = dot(&f(xs)?, &projection)?;
        if !value.is_finite() {
            return Err(Error::NonFinite { context: "gradcheck: objective".into(), value });
        }
        Ok(value)
    };

    let mut report = ReportBuilder::new(config);
    for (i, leaf) in leaves.iter().enumerate() {
        let analytic = grads.get(leaf).map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; leaf.numel()]);
        for (j, &a) in analytic.iter().enumerate() {
            let probe = |delta: f64| -> Result<f64> {
                let mut data = leaf.to_vec();
                data[j] += delta;
                let mut xs = leaves.clone();
                xs[i] = Tensor::from_vec(data, leaf.shape().clone())?;
                objective(&xs)
            };
            let n = (probe(config.eps)? - probe(-config.eps)?) / (2.0 * config.eps);
            report.add((i, j), a, n);
        }
    }
    Ok(report.finish())
}

/// `sum(a * b)` over two tensors of one shape, outside the graph.
pub(crate) fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> Result<f64> {
    if a.shape() != b.shape() {
        return Err(Error::mismatch(
            "gradcheck",
            a.shape(),
            b.shape(),
            "the function's output changed shape between calls",
        ));
    }
    Ok(a.data().iter().zip(b.data()).map(|(x, y)| x * y).sum())
}

/// Accumulates analytic/numeric pairs into a [`GradcheckReport`] (shared with the layer check).
pub(crate) struct ReportBuilder<'a> {
    config: &'a GradcheckConfig,
    report: GradcheckReport,
    diff_sq: f64,
    analytic_sq: f64,
    numeric_sq: f64,
}

impl<'a> ReportBuilder<'a> {
    pub(crate) fn new(config: &'a GradcheckConfig) -> Self {
        ReportBuilder { config, report: GradcheckReport::default(), diff_sq: 0.0, analytic_sq: 0.0, numeric_sq: 0.0 }
    }

    /// One element: its position (input, flat index), autodiff value `a`, finite difference `n`.
    pub(crate) fn add(&mut self, at: (usize, usize), a: f64, n: f64) {
        let r = &mut self.report;
        let abs = (a - n).abs();
        self.diff_sq += abs * abs;
        self.analytic_sq += a * a;
        self.numeric_sq += n * n;
        let scale = a.abs().max(n.abs());
        if scale > 1e-8 {
            r.max_rel_error = r.max_rel_error.max(abs / scale);
        }
        if abs > self.config.atol + self.config.rtol * n.abs() {
            r.elements_out_of_tolerance += 1;
        }
        if abs >= r.max_abs_error {
            r.max_abs_error = abs;
            r.worst_at = at;
            r.worst_values = (a, n);
        }
        r.checked += 1;
    }

    pub(crate) fn finish(mut self) -> GradcheckReport {
        let norm = self.analytic_sq.max(self.numeric_sq).sqrt();
        let diff = self.diff_sq.sqrt();
        let r = &mut self.report;
        r.normwise_rel_error = if norm > 0.0 { diff / norm } else { diff };
        r.passed = r.normwise_rel_error <= self.config.rel_tol && r.elements_out_of_tolerance == 0;
        self.report
    }
}

/// A gradient-check case of a differentiable op, written beside the op it checks (each op
/// file's `checks()`, and the elementwise table's `check:` column) and run by
/// `tests/gradcheck_all.rs` at every variant's shapes, with several seeds, and with faults
/// injected into its backward rule.
#[derive(Clone, Copy)]
pub struct OpCheck {
    /// The backward rule it exercises (its node's name), or `None` for a composite of ops that
    /// are checked on their own.
    pub op: Option<&'static str>,
    /// What the case computes.
    pub label: &'static str,
    /// The input shapes of each variant.
    pub shapes: &'static [&'static [&'static [usize]]],
    /// The range inputs are drawn from uniformly: where the function is smooth.
    pub range: (f64, f64),
    /// The function checked.
    pub f: fn(&[Tensor<f64>]) -> Result<Tensor<f64>>,
}

/// Every op's gradient-check cases, from the tables beside the ops: the single list the
/// gradient-check test iterates.
pub fn op_checks() -> Vec<OpCheck> {
    let mut checks = crate::ops::checks();
    checks.extend(crate::loss::checks());
    checks
}

/// Inputs in [-2, 2].
pub(crate) const R: (f64, f64) = (-2.0, 2.0);
/// Positive inputs (logarithms, roots, divisors).
pub(crate) const POS: (f64, f64) = (0.3, 2.0);
/// Probabilities away from 0 and 1.
pub(crate) const PROB: (f64, f64) = (0.05, 0.95);
/// One input: a scalar, a batch of 1, a batch of 33.
pub(crate) const UNARY: &[&[&[usize]]] = &[&[&[]], &[&[1, 3]], &[&[33, 3]]];
/// Two inputs: equal shapes, and every kind of broadcast.
pub(crate) const BINARY: &[&[&[usize]]] = &[
    &[&[33, 4], &[33, 4]],
    &[&[1, 4], &[1, 4]],
    &[&[33, 4], &[4]],
    &[&[3, 1], &[1, 4]],
    &[&[2, 3, 4], &[3, 1]],
    &[&[], &[5]],
];
/// One matrix or rank-3 input.
pub(crate) const MATRIX: &[&[&[usize]]] = &[&[&[33, 4]], &[&[1, 4]], &[&[2, 3, 4]]];

/// `n` class labels in `0..classes`, cycling (targets for the classification losses).
pub(crate) fn cyclic_labels(n: usize, classes: usize) -> Tensor<f64> {
    Tensor::from_vec((0..n).map(|i| ((i * 7 + 3) % classes) as f64).collect(), [n]).expect("n labels for [n]")
}

/// `op_check!(op, label, shapes, range, |t| body)`: an [`OpCheck`] whose function is `body`
/// with `t` the inputs.
macro_rules! op_check {
    ($op:expr, $label:expr, $shapes:expr, $range:expr, |$t:ident| $body:expr) => {
        $crate::autograd::gradcheck::OpCheck {
            op: $op,
            label: $label,
            shapes: $shapes,
            range: $range,
            f: |$t: &[$crate::Tensor<f64>]| $body,
        }
    };
}
pub(crate) use op_check;
