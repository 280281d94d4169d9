//! The affine map of a dense layer in one op: `y = x·w + b` for `x [n, k]`, `w [k, m]`, `b [m]`;
//! `dx = g·wᵀ`, `dw = xᵀ·g`, `db = Σ_rows g`.
//!
//! One node instead of three (matmul, broadcast, add): the bias is written into the output
//! first and the product accumulated onto it, so there is no second pass and no temporary.

use super::matmul::{gemm, gemm_append, MatRef};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// `x·weight + bias` for a batch `x [n, k]`, `weight [k, m]` and `bias [m]` (PyTorch's
    /// `linear` with Keras's kernel layout).
    ///
    /// # Errors
    /// When `x` or `weight` is not a matrix, the inner dimensions differ, or the bias is not `[m]`.
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Result<Tensor<T>> {
        let (n, k) = self.shape().dims2("linear")?;
        let (k2, m) = weight.shape().dims2("linear")?;
        if k != k2 {
            return Err(Error::mismatch(
                "linear",
                self.shape(),
                weight.shape(),
                format!("inner dimensions {k} and {k2} differ"),
            ));
        }
        let mut out = Vec::with_capacity(n * m);
        match bias {
            Some(b) if b.dims() != [m] => {
                return Err(Error::mismatch("linear", weight.shape(), b.shape(), format!("the bias must be [{m}]")));
            }
            Some(b) => {
                (0..n).for_each(|_| out.extend_from_slice(b.data()));
                gemm(MatRef::new(self.data(), n, k, false), MatRef::new(weight.data(), k, m, false), &mut out, true);
            }
            None => {
                gemm_append(MatRef::new(self.data(), n, k, false), MatRef::new(weight.data(), k, m, false), &mut out)
            }
        }
        let inputs: Vec<&Tensor<T>> = std::iter::once(self).chain(std::iter::once(weight)).chain(bias).collect();
        Ok(Tensor::from_op(out, Shape::new([n, m]), &inputs, Linear))
    }
}

struct Linear;
impl<T: Element> Backward<T> for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (input, weight) = (&x[0], &x[1]);
        let dx = if input.requires_grad() { Some(g.matmul_t(false, weight, true)?) } else { None };
        let dw = if weight.requires_grad() { Some(input.matmul_t(true, g, false)?) } else { None };
        let mut grads = vec![dx, dw];
        if let Some(bias) = x.get(2) {
            grads.push(if bias.requires_grad() { Some(g.sum_axis(0, false)?) } else { None });
        }
        Ok(grads)
    }
}
