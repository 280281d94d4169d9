//! 2-D max and average pooling in channels-last layout, as Keras's `MaxPooling2D` and
//! `AveragePooling2D`: input `[n, h, w, c]`, windows `ph x pw` every `strides`, output
//! `[n, oh, ow, c]`. With "same" padding the windows cut by the border cover only the input
//! (the padding is never the maximum, and an average divides by the elements present, as
//! Keras does). Backward: a max sends each output's gradient to the element it took (the first
//! of equal ones), an average spreads it evenly over its window; overlapping windows add.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::pooling::{pool_backward, pool_forward, PoolWindows};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Which reduction a pooling window takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest element.
    Max,
    /// The mean of the elements.
    Average,
}

/// The windows of one pooling: `(pool rows, pool columns)`, strides, and "same" padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window height and width.
    pub pool: (usize, usize),
    /// Steps between windows.
    pub strides: (usize, usize),
    /// Keras's "same" padding (output `ceil(input / stride)`) instead of "valid".
    pub same_padding: bool,
}

/// For each output position along one axis, the input range its window covers.
fn windows(len: usize, pool: usize, stride: usize, same: bool) -> Option<Vec<std::ops::Range<usize>>> {
    let (out, before) = super::conv_output_len(len, pool, stride, 1, same)?;
    Some(
        (0..out)
            .map(|o| {
                let start = (o * stride).saturating_sub(before);
                let end = (o * stride + pool).saturating_sub(before).min(len);
                start..end
            })
            .filter(|r| !r.is_empty())
            .collect(),
    )
}

impl<T: Element> Tensor<T> {
    /// Max or average pooling of this `[n, h, w, c]` batch: a `[n, oh, ow, c]` tensor.
    ///
    /// ```
    /// use strata::{Pool2dOptions, PoolKind, Tensor};
    /// let x = Tensor::<f64>::from_f64(&[1., 5., 2., 0., 3., 4., 7., 1., 8., 6., 2., 9., 0., 1., 3., 2.], [1, 4, 4, 1]).unwrap();
    /// let options = Pool2dOptions { pool: (2, 2), strides: (2, 2), same_padding: false };
    /// assert_eq!(x.pool2d(PoolKind::Max, options).unwrap().to_f64_vec(), vec![5., 7., 8., 9.]);
    /// assert_eq!(x.pool2d(PoolKind::Average, options).unwrap().to_f64_vec(), vec![3.25, 2.5, 3.75, 4.0]);
    /// ```
    ///
    /// # Errors
    /// When the input is not rank 4, a size is 0, or a valid window does not fit.
    pub fn pool2d(&self, kind: PoolKind, options: Pool2dOptions) -> Result<Tensor<T>> {
        let &[n, h, w, c] = self.dims() else {
            return Err(Error::shape("pool2d", self.shape(), "expects [n, h, w, channels]"));
        };
        let Pool2dOptions { pool: (ph, pw), strides: (sh, sw), same_padding } = options;
        if [ph, pw, sh, sw].contains(&0) {
            return Err(Error::invalid(
                "pool2d",
                format!("pool {:?} and strides {:?} must be >= 1", (ph, pw), (sh, sw)),
            ));
        }
        let (Some(rows), Some(cols)) = (windows(h, ph, sh, same_padding), windows(w, pw, sw, same_padding)) else {
            return Err(Error::shape(
                "pool2d",
                self.shape(),
                format!("a {ph}x{pw} window does not fit with valid padding"),
            ));
        };
        let (oh, ow) = (rows.len(), cols.len());
        let windows = PoolWindows { dims: [n, h, w, c], rows, cols };
        let out = pool_forward(self.data(), &windows, kind == PoolKind::Max);
        Ok(Tensor::from_op(out, Shape::new([n, oh, ow, c]), &[self], Pool2d { kind, windows }))
    }
}

/// The node of a pooling: its windows.
struct Pool2d {
    kind: PoolKind,
    windows: PoolWindows,
}

impl<T: Element> Backward<T> for Pool2d {
    fn name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "max_pool2d",
            PoolKind::Average => "average_pool2d",
        }
    }
    fn backward(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let input = &x[0];
        let dx = pool_backward(input.data(), y.data(), g.data(), &self.windows, self.kind == PoolKind::Max);
        Ok(vec![Some(Tensor::from_parts(dx, input.shape().clone()))])
    }
}

const OVERLAPPING: Pool2dOptions = Pool2dOptions { pool: (3, 2), strides: (2, 1), same_padding: false };
const SAME: Pool2dOptions = Pool2dOptions { pool: (2, 3), strides: (2, 2), same_padding: true };

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    const SHAPES: &[&[&[usize]]] = &[&[&[2, 5, 4, 3]], &[&[1, 6, 5, 1]]];
    vec![
        op_check!(Some("max_pool2d"), "max_pool2d overlapping", SHAPES, R, |t| t[0].pool2d(PoolKind::Max, OVERLAPPING)),
        op_check!(Some("max_pool2d"), "max_pool2d same", SHAPES, R, |t| t[0].pool2d(PoolKind::Max, SAME)),
        op_check!(Some("average_pool2d"), "average_pool2d overlapping", SHAPES, R, |t| t[0]
            .pool2d(PoolKind::Average, OVERLAPPING)),
        op_check!(Some("average_pool2d"), "average_pool2d same", SHAPES, R, |t| t[0].pool2d(PoolKind::Average, SAME)),
    ]
}
