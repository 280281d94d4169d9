//! Losses as single ops: the loss functions of `loss.rs` that a training step evaluates every
//! batch, each one node with its backward rule beside it, instead of a chain of elementwise ops
//! and reductions on small tensors (whose bookkeeping cost more than their arithmetic). The
//! forward values equal the composed ops' bit for bit (same operations in the same order).

use crate::autograd::gradcheck::{cyclic_labels, op_check, OpCheck, PROB, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// `mean((self - target)²)` as a scalar: the mean-squared-error loss's forward pass as one
    /// op (one node instead of four: sub, square, sum, scale), with the same sums in the same
    /// order, so the values equal the composed ops' bit for bit.
    ///
    /// # Errors
    /// When the shapes differ or the tensors are empty.
    pub fn mean_squared_difference(&self, target: &Tensor<T>) -> Result<Tensor<T>> {
        if self.shape() != target.shape() {
            return Err(Error::mismatch("mean_squared_difference", self.shape(), target.shape(), "shapes must match"));
        }
        if self.numel() == 0 {
            return Err(Error::shape("mean_squared_difference", self.shape(), "mean of an empty tensor"));
        }
        let total: T = self.data().iter().zip(target.data()).map(|(&p, &t)| (p - t) * (p - t)).sum();
        let mean = total * T::of(1.0 / self.numel() as f64);
        Ok(Tensor::from_op(vec![mean], Shape::scalar(), &[self, target], MeanSquaredDifference))
    }

    /// `-mean_i log(clip(p[i, labels[i]] / sum_j p[i, j], epsilon, 1 - epsilon))` for rows of
    /// probabilities `[n, c]`: Keras's sparse categorical cross-entropy on probabilities
    /// (renormalized and clipped, as `loss::sparse_categorical_crossentropy` documents), one op.
    ///
    /// # Errors
    /// When the tensor is not `[n, c]` with `n > 0`, there are not `n` labels, or a label is
    /// `>= c`.
    pub fn clipped_cross_entropy(&self, labels: &[usize], epsilon: f64) -> Result<Tensor<T>> {
        let op = "clipped_cross_entropy";
        let (n, c) = self.shape().dims2(op)?;
        if n == 0 || labels.len() != n {
            return Err(Error::shape(
                op,
                self.shape(),
                format!("needs n > 0 rows and one label per row, got {} labels", labels.len()),
            ));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= c) {
            return Err(Error::shape(op, self.shape(), format!("label {bad} is not a class index in 0..{c}")));
        }
        let (p, lo, hi) = (self.data(), T::of(epsilon), T::of(1.0 - epsilon));
        let logs = labels.iter().enumerate().map(|(i, &y)| {
            let total = p[i * c..(i + 1) * c].iter().fold(T::zero(), |s, &v| s + v);
            clip(p[i * c + y] / total, lo, hi).ln()
        });
        let mean = logs.sum::<T>() * T::of(1.0 / n as f64);
        let backward = ClippedCrossEntropy { labels: labels.to_vec(), epsilon };
        Ok(Tensor::from_op(vec![-mean], Shape::scalar(), &[self], backward))
    }
}

/// As the `clamp` op: NaN passes through.
fn clip<T: Element>(x: T, lo: T, hi: T) -> T {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// `d/dp mean((p - t)²) = 2 (p - t) / n`, and its negative for `t`.
struct MeanSquaredDifference;
impl<T: Element> Backward<T> for MeanSquaredDifference {
    fn name(&self) -> &'static str {
        "mean_squared_difference"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (pred, target) = (&x[0], &x[1]);
        let scale = g.item()? * T::of(1.0 / pred.numel() as f64);
        let diffs = pred.data().iter().zip(target.data()).map(|(&p, &t)| scale * ((p - t) + (p - t)));
        let d_pred = Tensor::from_parts(pool::collect(pred.numel(), diffs), pred.shape().clone());
        let d_target = if target.requires_grad() { Some(d_pred.neg()?) } else { None };
        Ok(vec![pred.requires_grad().then_some(d_pred), d_target])
    }
}

/// With `s_i = sum_j p_ij` and `q_i = p_iy / s_i`: `dL/dp_ij = -(g/n) (1/q_i) [lo < q_i < hi]
/// (δ_jy / s_i - p_iy / s_i²)` (no gradient where the clip is active, as `clamp`'s rule).
struct ClippedCrossEntropy {
    labels: Vec<usize>,
    epsilon: f64,
}
impl<T: Element> Backward<T> for ClippedCrossEntropy {
    fn name(&self) -> &'static str {
        "clipped_cross_entropy"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let prob = &x[0];
        let (n, c) = prob.shape().dims2("clipped_cross_entropy")?;
        let (p, lo, hi) = (prob.data(), T::of(self.epsilon), T::of(1.0 - self.epsilon));
        let scale = -g.item()? * T::of(1.0 / n as f64);
        let mut dp = pool::take(n * c);
        for (i, &y) in self.labels.iter().enumerate() {
            let row = &p[i * c..(i + 1) * c];
            let total = row.iter().fold(T::zero(), |s, &v| s + v);
            let q = row[y] / total;
            let dq = if q > lo && q < hi { scale / q } else { T::zero() };
            // dq/dp_ij = δ_jy / s - p_iy / s²
            let shared = -dq * row[y] / (total * total);
            dp.extend((0..c).map(|j| if j == y { shared + dq / total } else { shared }));
        }
        Ok(vec![Some(Tensor::from_parts(dp, prob.shape().clone()))])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(
            Some("mean_squared_difference"),
            "mean_squared_difference",
            &[&[&[33, 2], &[33, 2]], &[&[1, 3], &[1, 3]]],
            R,
            |t| t[0].mean_squared_difference(&t[1])
        ),
        op_check!(Some("clipped_cross_entropy"), "clipped_cross_entropy", &[&[&[33, 4]], &[&[1, 3]]], PROB, |t| t[0]
            .clipped_cross_entropy(
                &cyclic_labels(t[0].dims()[0], t[0].dims()[1])
                    .to_f64_vec()
                    .iter()
                    .map(|&l| l as usize)
                    .collect::<Vec<_>>(),
                1e-7
            )),
    ]
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    /// The fused ops against the chains of ops they replace: equal values, and equal gradients
    /// also where the clip is active (a row whose label has probability 0, one that is certain).
    #[test]
    fn fused_losses_equal_the_ops_they_replace() {
        let probs = [0.2, 0.5, 0.3, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.1, 0.1, 0.8, 2.0, 1.0, 1.0];
        let labels = [2, 0, 0, 2, 1];
        let p = Tensor::<f64>::from_f64(&probs, [5, 3]).unwrap().with_requires_grad(true);
        let fused = p.clipped_cross_entropy(&labels, 1e-7).unwrap();
        let composed = p
            .div(&p.sum_axis(-1, true).unwrap())
            .and_then(|q| q.clamp(1e-7, 1.0 - 1e-7))
            .and_then(|q| q.log())
            .and_then(|q| q.gather(&labels))
            .and_then(|q| q.mean())
            .and_then(|q| q.neg())
            .unwrap();
        assert_eq!(fused.item().unwrap(), composed.item().unwrap());
        let (gf, gc) = (fused.backward().unwrap(), composed.backward().unwrap());
        let (gf, gc) = (gf.get(&p).unwrap().to_vec(), gc.get(&p).unwrap().to_vec());
        for (i, (a, b)) in gf.iter().zip(&gc).enumerate() {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "element {i}: fused {a}, composed {b}");
        }
        assert!(gf[3..6].iter().all(|&v| v == 0.0), "a clipped row gets no gradient: {gf:?}");

        let (x, t) =
            (Tensor::<f32>::from_f64(&probs, [5, 3]).unwrap(), Tensor::<f32>::from_f64(&probs[..15], [5, 3]).unwrap());
        let t = t.mul_scalar(0.5).unwrap();
        let composed = x.sub(&t).unwrap().square().unwrap().mean().unwrap();
        assert_eq!(x.mean_squared_difference(&t).unwrap().item().unwrap(), composed.item().unwrap());
    }
}
