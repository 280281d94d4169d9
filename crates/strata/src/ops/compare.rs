//! Comparison masks: 1 where the relation holds, 0 elsewhere, with broadcasting. Not
//! differentiable (the result has no history).

use super::binary::broadcast_zip;
use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::error::Result;
use crate::tensor::{Element, Tensor};

macro_rules! compare_op {
    ($name:ident, $doc:literal, |$a:ident, $b:ident| $cond:expr) => {
        #[doc = $doc]
        ///
        /// # Errors
        /// When the shapes do not broadcast.
        pub fn $name(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
            let (data, shape) =
                broadcast_zip(stringify!($name), self, rhs, |$a, $b| if $cond { T::one() } else { T::zero() })?;
            Ok(Tensor::from_parts(data, shape))
        }
    };
}

impl<T: Element> Tensor<T> {
    compare_op!(gt, "Mask of `lhs > rhs`.", |a, b| a > b);
    compare_op!(ge, "Mask of `lhs >= rhs`.", |a, b| a >= b);
    compare_op!(lt, "Mask of `lhs < rhs`.", |a, b| a < b);
    compare_op!(le, "Mask of `lhs <= rhs`.", |a, b| a <= b);
    compare_op!(eq, "Mask of `lhs == rhs`.", |a, b| a == b);
    compare_op!(ne, "Mask of `lhs != rhs`.", |a, b| a != b);

    /// Mask of `x > value`.
    pub fn gt_scalar(&self, value: f64) -> Tensor<T> {
        let v = T::of(value);
        let data = self.data().iter().map(|&x| if x > v { T::one() } else { T::zero() }).collect();
        Tensor::from_parts(data, self.shape().clone())
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.data().iter().all(|x| x.is_finite())
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![op_check!(None, "where_mask", &[&[&[4, 3], &[4, 3]]], R, |t| Tensor::where_mask(
        &t[0].gt_scalar(0.0),
        &t[0],
        &t[1]
    ))]
}
