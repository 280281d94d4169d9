//! Matrix product. `y = op(a)·op(b)` where `op` is identity or transpose; for `y = a·b`,
//! `da = g·bᵀ` and `db = aᵀ·g`.
//!
//! Transposed operands never get copied: the kernels (`kernel/matmul.rs`) read any row and
//! column strides, so a transpose is a swap of the two strides. The backward rules use this too.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::matmul::{gemm_append, MatRef};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// Matrix product of `[m, k]` by `[k, n]`, or batched: `[b, m, k]` by `[b, k, n]`.
    ///
    /// ```
    /// use strata::Tensor;
    /// let a = Tensor::<f32>::from_f64(&[1., 2., 3., 4.], [2, 2]).unwrap();
    /// let b = Tensor::<f32>::from_f64(&[5., 6., 7., 8.], [2, 2]).unwrap();
    /// assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![19., 22., 43., 50.]);
    /// ```
    ///
    /// # Errors
    /// When the ranks are not 2 and 2 or 3 and 3, or inner dimensions or batch sizes differ.
    pub fn matmul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        self.matmul_t(false, rhs, false)
    }

    /// `op(self)·op(rhs)` where `op` transposes the last two axes when its flag is set, without
    /// copying: `x.matmul_t(false, &w, true)` is `x·wᵀ` (PyTorch's `linear`).
    ///
    /// # Errors
    /// As [`Tensor::matmul`], for the transposed shapes.
    pub fn matmul_t(&self, transpose_lhs: bool, rhs: &Tensor<T>, transpose_rhs: bool) -> Result<Tensor<T>> {
        let (batch, m, k, n) = matmul_dims(self.shape(), transpose_lhs, rhs.shape(), transpose_rhs)?;
        let mut out = pool::take(batch * m * n);
        let (a_size, b_size) = (m * k, k * n);
        for i in 0..batch {
            let a = MatRef::new(&self.data()[i * a_size..(i + 1) * a_size], m, k, transpose_lhs);
            let b = MatRef::new(&rhs.data()[i * b_size..(i + 1) * b_size], k, n, transpose_rhs);
            gemm_append(a, b, &mut out);
        }
        let shape = if self.rank() == 3 { Shape::new([batch, m, n]) } else { Shape::new([m, n]) };
        Ok(Tensor::from_op(out, shape, &[self, rhs], MatMul { transpose_lhs, transpose_rhs }))
    }
}

/// (batch, m, k, n) of `op(lhs)·op(rhs)`, or an error naming both shapes.
fn matmul_dims(lhs: &Shape, tl: bool, rhs: &Shape, tr: bool) -> Result<(usize, usize, usize, usize)> {
    let (batch, (a0, a1), (b0, b1)) = match (lhs.dims(), rhs.dims()) {
        (&[a0, a1], &[b0, b1]) => (1, (a0, a1), (b0, b1)),
        (&[ba, a0, a1], &[bb, b0, b1]) if ba == bb => (ba, (a0, a1), (b0, b1)),
        (&[ba, _, _], &[bb, _, _]) => {
            return Err(Error::mismatch("matmul", lhs, rhs, format!("batch sizes {ba} and {bb} differ")))
        }
        _ => {
            return Err(Error::mismatch("matmul", lhs, rhs, "expected two rank-2 or two rank-3 tensors"));
        }
    };
    let (m, k) = if tl { (a1, a0) } else { (a0, a1) };
    let (k2, n) = if tr { (b1, b0) } else { (b0, b1) };
    if k != k2 {
        return Err(Error::mismatch("matmul", lhs, rhs, format!("inner dimensions {k} and {k2} differ")));
    }
    Ok((batch, m, k, n))
}

/// The backward of `y = op(a)·op(b)`. With `A = op(a)`, `B = op(b)`: `dA = g·Bᵀ`, `dB = Aᵀ·g`;
/// when an operand was transposed its gradient is the transpose of that, which again is only a
/// choice of flags (e.g. `y = a·bᵀ`: `da = g·b`, `db = gᵀ·a`).
struct MatMul {
    transpose_lhs: bool,
    transpose_rhs: bool,
}
impl<T: Element> Backward<T> for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (a, b) = (&x[0], &x[1]);
        // An input that needs no gradient (a batch of data) costs nothing: a whole product saved.
        let da = match (a.requires_grad(), self.transpose_lhs) {
            (false, _) => None,
            (true, false) => Some(g.matmul_t(false, b, !self.transpose_rhs)?),
            (true, true) => Some(b.matmul_t(self.transpose_rhs, g, true)?),
        };
        let db = match (b.requires_grad(), self.transpose_rhs) {
            (false, _) => None,
            (true, false) => Some(a.matmul_t(!self.transpose_lhs, g, false)?),
            (true, true) => Some(g.matmul_t(true, a, self.transpose_lhs)?),
        };
        Ok(vec![da, db])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(
            Some("matmul"),
            "matmul",
            &[&[&[33, 5], &[5, 4]], &[&[1, 5], &[5, 4]], &[&[2, 3, 5], &[2, 5, 4]]],
            R,
            |t| t[0].matmul(&t[1])
        ),
        op_check!(Some("matmul"), "matmul a·bᵀ", &[&[&[3, 5], &[4, 5]], &[&[2, 3, 5], &[2, 4, 5]]], R, |t| t[0]
            .matmul_t(false, &t[1], true)),
        op_check!(Some("matmul"), "matmul aᵀ·b", &[&[&[5, 3], &[5, 4]]], R, |t| t[0].matmul_t(true, &t[1], false)),
        op_check!(Some("matmul"), "matmul aᵀ·bᵀ", &[&[&[5, 3], &[4, 5]], &[&[2, 5, 3], &[2, 4, 5]]], R, |t| t[0]
            .matmul_t(true, &t[1], true)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_rng;

    /// `op(a)·op(b)` summed in f64 from the f32 operands, by the definition.
    fn reference(a: &Tensor<f32>, ta: bool, b: &Tensor<f32>, tb: bool) -> Vec<f64> {
        let (a_dims, b_dims) = (a.dims(), b.dims());
        let (m, k) = if ta { (a_dims[1], a_dims[0]) } else { (a_dims[0], a_dims[1]) };
        let n = if tb { b_dims[0] } else { b_dims[1] };
        let at = |i: usize, p: usize| f64::from(if ta { a.data()[p * m + i] } else { a.data()[i * k + p] });
        let bt = |p: usize, j: usize| f64::from(if tb { b.data()[j * k + p] } else { b.data()[p * n + j] });
        (0..m)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (0..k).map(|p| at(i, p) * bt(p, j)).sum())
            .collect()
    }

    /// Every kernel path in f32 (strata's own kernel: full and partial 16-column panels, 1 to 6
    /// row blocks, the transposed-operand packing with and without 8x8 tiles, narrow outputs
    /// computed transposed; and, with two threads, the halves split by rows, columns or the
    /// inner dimension at the larger sizes) against the definition, for all four transpose
    /// flags.
    #[test]
    fn f32_products_match_the_definition_at_every_layout_and_size() {
        let mut rng = seeded_rng(5);
        let sizes = [
            (1, 1, 1),
            (1, 7, 3),
            (5, 3, 17),
            (7, 9, 16),
            (13, 17, 33),
            (32, 32, 64),
            (32, 64, 32),
            (32, 128, 10),
            (6, 40, 24),
            (33, 8, 8),
            (3, 300, 2),
            (128, 32, 10),
            (64, 256, 128),
            (40, 300, 300),
            (300, 300, 64),
            (130, 400, 130),
        ];
        for &(m, k, n) in &sizes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Tensor::<f32>::randn(if ta { [k, m] } else { [m, k] }, 0.0, 1.0, &mut rng).unwrap();
                let b = Tensor::<f32>::randn(if tb { [n, k] } else { [k, n] }, 0.0, 1.0, &mut rng).unwrap();
                let got = a.matmul_t(ta, &b, tb).unwrap();
                assert_eq!(got.dims(), [m, n]);
                let want = reference(&a, ta, &b, tb);
                for (idx, (&g, &w)) in got.data().iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (k as f64).sqrt() * 4.0 + 1e-6;
                    assert!(
                        (f64::from(g) - w).abs() <= tol * (1.0 + w.abs()),
                        "{m}x{k}x{n} (transposed {ta}, {tb}): element {idx} is {g}, the definition gives {w}"
                    );
                }
            }
        }
    }

    /// The bias path (`linear` adds the bias to the product's rows) in f32.
    #[test]
    fn f32_linear_adds_the_product_to_the_bias() {
        let mut rng = seeded_rng(6);
        for &(n, k, m) in &[(32, 32, 64), (5, 3, 10), (32, 128, 10), (7, 20, 33)] {
            let x = Tensor::<f32>::randn([n, k], 0.0, 1.0, &mut rng).unwrap();
            let w = Tensor::<f32>::randn([k, m], 0.0, 1.0, &mut rng).unwrap();
            let bias = Tensor::<f32>::randn([m], 0.0, 1.0, &mut rng).unwrap();
            let got = x.linear(&w, Some(&bias)).unwrap();
            let want = reference(&x, false, &w, false);
            for (idx, (&g, &w)) in got.data().iter().zip(&want).enumerate() {
                let w = w + f64::from(bias.data()[idx % m]);
                assert!((f64::from(g) - w).abs() <= 1e-4 * (1.0 + w.abs()), "{n}x{k}x{m}: element {idx}: {g} vs {w}");
            }
        }
    }
}
