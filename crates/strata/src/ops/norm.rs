//! Batch normalization over every axis but the last (channels-last, Keras's `axis=-1`) as one
//! fused op: a pass for the per-channel statistics and a pass for the output, and in backward a
//! pass for the two per-channel sums and a pass for the input's gradient. The normalized input
//! `x̂` is never stored: backward rebuilds it from `x`, the mean and `1/σ` (a vector per channel).
//!
//! Forward: `y = γ·(x - μ)/√(σ² + ε) + β` with `μ` and the biased `σ²` of this batch.
//! Backward, with `m` rows and `a = γ/√(σ² + ε)`:
//! `dβ = Σ dy`, `dγ = Σ dy·x̂`, `dx = a·(dy - Σdy/m - x̂·Σ(dy·x̂)/m)`.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// What [`Tensor::batch_norm`] returns: the output, and this batch's per-channel mean and
/// biased variance (what a layer folds into its moving statistics).
pub struct BatchNormOutput<T: Element> {
    /// The normalized, scaled and shifted batch, in the input's shape.
    pub y: Tensor<T>,
    /// The mean of each channel over the batch (and every spatial position).
    pub mean: Vec<f64>,
    /// The biased variance (divided by the count, not the count less one) of each channel.
    pub variance: Vec<f64>,
}

/// Rows summed in `T` before they are added to the `f64` totals: short enough that f32 keeps
/// its precision, long enough that the inner loop runs at vector speed.
const BLOCK_ROWS: usize = 64;

/// Per-channel `(Σ (x - shift), Σ (x - shift)²)` over rows of `c` values, in f64. Shifting by
/// the first row keeps the one-pass variance exact when the mean is large against the spread.
#[inline(always)]
fn shifted_sums<T: Element>(x: &[T], shift: &[T], c: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut squares) = (vec![0.0f64; c], vec![0.0f64; c]);
    let (mut block_sum, mut block_squares) = (vec![T::zero(); c], vec![T::zero(); c]);
    for block in x.chunks(BLOCK_ROWS * c) {
        block_sum.iter_mut().chain(block_squares.iter_mut()).for_each(|v| *v = T::zero());
        for row in block.chunks_exact(c) {
            for (((s, q), &v), &m) in block_sum.iter_mut().zip(block_squares.iter_mut()).zip(row).zip(shift) {
                let d = v - m;
                *s = *s + d;
                *q = *q + d * d;
            }
        }
        for k in 0..c {
            sum[k] += block_sum[k].f64();
            squares[k] += block_squares[k].f64();
        }
    }
    (sum, squares)
}

/// Per-channel `(Σ dy, Σ dy·(x - mean))`, in f64.
#[inline(always)]
fn gradient_sums<T: Element>(x: &[T], g: &[T], mean: &[T], c: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut dot) = (vec![0.0f64; c], vec![0.0f64; c]);
    let (mut block_sum, mut block_dot) = (vec![T::zero(); c], vec![T::zero(); c]);
    for (xb, gb) in x.chunks(BLOCK_ROWS * c).zip(g.chunks(BLOCK_ROWS * c)) {
        block_sum.iter_mut().chain(block_dot.iter_mut()).for_each(|v| *v = T::zero());
        for (xr, gr) in xb.chunks_exact(c).zip(gb.chunks_exact(c)) {
            for ((((s, d), &xv), &gv), &m) in block_sum.iter_mut().zip(block_dot.iter_mut()).zip(xr).zip(gr).zip(mean) {
                *s = *s + gv;
                *d = *d + gv * (xv - m);
            }
        }
        for k in 0..c {
            sum[k] += block_sum[k].f64();
            dot[k] += block_dot[k].f64();
        }
    }
    (sum, dot)
}

/// `out = x·scale + shift` per channel, and `out += g·gscale` when `g` is given (backward's
/// `dx = a·dy + x·p + q` is the same pass with the gradient added).
#[inline(always)]
fn affine_rows<T: Element>(x: &[T], g: Option<(&[T], &[T])>, scale: &[T], shift: &[T], out: &mut [T]) {
    let c = scale.len();
    match g {
        None => {
            for (xr, or) in x.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
                for (((o, &v), &a), &b) in or.iter_mut().zip(xr).zip(scale).zip(shift) {
                    *o = v * a + b;
                }
            }
        }
        Some((g, gscale)) => {
            for ((xr, gr), or) in x.chunks_exact(c).zip(g.chunks_exact(c)).zip(out.chunks_exact_mut(c)) {
                for (((((o, &v), &gv), &a), &b), &ga) in or.iter_mut().zip(xr).zip(gr).zip(scale).zip(shift).zip(gscale)
                {
                    *o = gv * ga + v * a + b;
                }
            }
        }
    }
}

fn to_t<T: Element>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::of(v)).collect()
}

impl<T: Element> Tensor<T> {
    /// Batch normalization with this batch's statistics over every axis but the last:
    /// `γ·(x - μ)/√(σ² + ε) + β` per channel (`γ` and `β` of shape `[channels]`, each optional:
    /// Keras's `scale` and `center`). Returns the output and the batch's mean and biased
    /// variance per channel.
    ///
    /// ```
    /// use strata::Tensor;
    /// let x = Tensor::<f64>::from_f64(&[1., 10., 3., 20.], [2, 2]).unwrap();
    /// let out = x.batch_norm(None, None, 0.0).unwrap();
    /// assert_eq!(out.mean, vec![2.0, 15.0]);
    /// assert_eq!(out.variance, vec![1.0, 25.0]);
    /// assert_eq!(out.y.to_f64_vec(), vec![-1., -1., 1., 1.]);
    /// ```
    ///
    /// # Errors
    /// When the input has no channel axis or no rows, `γ` or `β` is not `[channels]`, or `ε` is
    /// negative or not finite.
    pub fn batch_norm(
        &self,
        gamma: Option<&Tensor<T>>,
        beta: Option<&Tensor<T>>,
        epsilon: f64,
    ) -> Result<BatchNormOutput<T>> {
        let c = match self.dims().last() {
            Some(&c) if c > 0 && self.numel() > 0 => c,
            _ => return Err(Error::shape("batch_norm", self.shape(), "expects [..., channels] with at least one row")),
        };
        for (label, t) in [("gamma", gamma), ("beta", beta)] {
            if let Some(t) = t.filter(|t| t.dims() != [c]) {
                return Err(Error::mismatch(
                    &format!("batch_norm {label}"),
                    self.shape(),
                    t.shape(),
                    "must be [channels]",
                ));
            }
        }
        if !(epsilon >= 0.0 && epsilon.is_finite()) {
            return Err(Error::invalid("batch_norm", format!("epsilon must be finite and >= 0, got {epsilon}")));
        }
        let x = self.data();
        let rows = x.len() / c;
        let shift = &x[..c];
        let (sum, squares) = crate::kernel::vectorized(|| shifted_sums(x, shift, c));
        let m = rows as f64;
        let mut mean = vec![0.0; c];
        let mut variance = vec![0.0; c];
        for k in 0..c {
            let d = sum[k] / m;
            mean[k] = shift[k].f64() + d;
            variance[k] = (squares[k] / m - d * d).max(0.0);
        }
        let inv_std: Vec<f64> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
        let gamma_values: Vec<f64> = gamma.map_or_else(|| vec![1.0; c], |g| g.to_f64_vec());
        let beta_values: Vec<f64> = beta.map_or_else(|| vec![0.0; c], |b| b.to_f64_vec());
        let scale: Vec<f64> = (0..c).map(|k| gamma_values[k] * inv_std[k]).collect();
        let offset: Vec<f64> = (0..c).map(|k| beta_values[k] - mean[k] * scale[k]).collect();
        let mut out = pool::take(x.len());
        out.resize(x.len(), T::zero());
        let (scale_t, offset_t) = (to_t::<T>(&scale), to_t::<T>(&offset));
        crate::kernel::vectorized(|| affine_rows(x, None, &scale_t, &offset_t, &mut out));
        let inputs: Vec<&Tensor<T>> = std::iter::once(self).chain(gamma).chain(beta).collect();
        let node =
            BatchNorm { mean: mean.clone(), inv_std, scale, has_gamma: gamma.is_some(), has_beta: beta.is_some() };
        let y = Tensor::from_op(out, self.shape().clone(), &inputs, node);
        Ok(BatchNormOutput { y, mean, variance })
    }
}

/// The node of a batch normalization: the per-channel statistics backward needs.
struct BatchNorm {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
    /// `γ/σ` per channel.
    scale: Vec<f64>,
    has_gamma: bool,
    has_beta: bool,
}

impl<T: Element> Backward<T> for BatchNorm {
    fn name(&self) -> &'static str {
        "batch_norm"
    }
    fn backward(&self, inputs: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let x = &inputs[0];
        let c = self.mean.len();
        let m = (x.numel() / c) as f64;
        let mean_t = to_t::<T>(&self.mean);
        let (sum_g, dot_g) = crate::kernel::vectorized(|| gradient_sums(x.data(), g.data(), &mean_t, c));
        // Σ dy·x̂ = Σ dy·(x - μ)/σ; dx = a·dy + x·p + q with p = -a·Σ(dy·x̂)/(m·σ), q = -a·Σdy/m - μ·p.
        let sum_gx: Vec<f64> = (0..c).map(|k| dot_g[k] * self.inv_std[k]).collect();
        let p: Vec<f64> = (0..c).map(|k| -self.scale[k] * sum_gx[k] * self.inv_std[k] / m).collect();
        let q: Vec<f64> = (0..c).map(|k| -self.scale[k] * sum_g[k] / m - self.mean[k] * p[k]).collect();
        let mut dx = pool::take(x.numel());
        dx.resize(x.numel(), T::zero());
        let (p_t, q_t, a_t) = (to_t::<T>(&p), to_t::<T>(&q), to_t::<T>(&self.scale));
        crate::kernel::vectorized(|| affine_rows(x.data(), Some((g.data(), &a_t)), &p_t, &q_t, &mut dx));
        let channel = |values: &[f64]| Some(Tensor::from_parts(to_t::<T>(values), Shape::new([c])));
        let mut grads = vec![Some(Tensor::from_parts(dx, x.shape().clone()))];
        if self.has_gamma {
            grads.push(channel(&sum_gx));
        }
        if self.has_beta {
            grads.push(channel(&sum_g));
        }
        Ok(grads)
    }
}

/// The gradient-check cases of this file's op (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    const WITH_AFFINE: &[&[&[usize]]] = &[&[&[6, 3], &[3], &[3]], &[&[2, 3, 2, 4], &[4], &[4]]];
    const PLAIN: &[&[&[usize]]] = &[&[&[5, 2]], &[&[2, 2, 3, 3]]];
    vec![
        op_check!(Some("batch_norm"), "batch_norm with gamma and beta", WITH_AFFINE, R, |t| t[0]
            .batch_norm(Some(&t[1]), Some(&t[2]), 1e-3)
            .map(|o| o.y)),
        op_check!(Some("batch_norm"), "batch_norm without gamma and beta", PLAIN, R, |t| t[0]
            .batch_norm(None, None, 1e-3)
            .map(|o| o.y)),
    ]
}
