//! Reductions: sum, mean, max and argmax over one axis or all elements; `sum_to` (unbroadcast).
//!
//! `y = sum_axis(x)`: `dx = broadcast(g)`. `y = max_axis(x)`: the gradient goes to the first
//! maximal element of each slice (as PyTorch's `max(dim)`).

use crate::autograd::gradcheck::{op_check, OpCheck, MATRIX, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Sizes of the axes before, at and after `axis`: the tensor is read as [outer, n, inner].
fn split_at_axis(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let dims = shape.dims();
    (dims[..axis].iter().product(), dims[axis], dims[axis + 1..].iter().product())
}

fn reduced_shape(shape: &Shape, axis: usize, keepdim: bool) -> Shape {
    let mut dims = shape.dims().to_vec();
    if keepdim {
        dims[axis] = 1;
    } else {
        dims.remove(axis);
    }
    Shape::new(dims)
}

impl<T: Element> Tensor<T> {
    /// Sum of all elements, as a scalar.
    pub fn sum(&self) -> Result<Tensor<T>> {
        let total = self.data().iter().copied().sum();
        Ok(Tensor::from_op(vec![total], Shape::scalar(), &[self], SumAll))
    }

    /// Mean of all elements, as a scalar.
    ///
    /// # Errors
    /// When the tensor is empty.
    pub fn mean(&self) -> Result<Tensor<T>> {
        if self.numel() == 0 {
            return Err(Error::shape("mean", self.shape(), "mean of an empty tensor"));
        }
        self.sum()?.mul_scalar(1.0 / self.numel() as f64)
    }

    /// `exp(x_i) / sum_j exp(x_j)` along `axis`, from the exponentials shifted by the maximum
    /// (so no exponential overflows). One op: the same values, summed in the same order, as
    /// the five it replaces (max, subtract, exp, sum, divide), and one backward rule,
    /// `dx = y (g - sum_j g_j y_j)`.
    ///
    /// # Errors
    /// When the axis is out of range or empty.
    pub fn softmax(&self, axis: isize) -> Result<Tensor<T>> {
        let ax = self.shape().axis("softmax", axis)?;
        let (outer, n, inner) = split_at_axis(self.shape(), ax);
        if n == 0 {
            return Err(Error::shape("softmax", self.shape(), format!("axis {ax} is empty")));
        }
        let x = self.data();
        let mut y = pool::take(x.len());
        y.resize(x.len(), T::zero());
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                // NaN wins, as in max_axis, so that it spreads to the whole row instead of hiding.
                let larger = |m: T, v: T| if v > m || (v.is_nan() && !m.is_nan()) { v } else { m };
                let max = (1..n).fold(x[at(0)], |m, k| larger(m, x[at(k)]));
                let mut total = T::zero();
                for k in 0..n {
                    let e = (x[at(k)] - max).exp();
                    y[at(k)] = e;
                    total = total + e;
                }
                (0..n).for_each(|k| y[at(k)] = y[at(k)] / total);
            }
        }
        Ok(Tensor::from_op(y, self.shape().clone(), &[self], Softmax { axis: ax }))
    }

    /// Sum over `axis` (negative counts from the end), keeping it as size 1 if `keepdim`.
    ///
    /// # Errors
    /// When the axis is out of range.
    pub fn sum_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let ax = self.shape().axis("sum_axis", axis)?;
        let (outer, n, inner) = split_at_axis(self.shape(), ax);
        let x = self.data();
        let mut out = pool::take(outer * inner);
        out.resize(outer * inner, T::zero());
        for o in 0..outer {
            let dst = &mut out[o * inner..(o + 1) * inner];
            for k in 0..n {
                let src = &x[(o * n + k) * inner..(o * n + k + 1) * inner];
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
            }
        }
        Ok(Tensor::from_op(out, reduced_shape(self.shape(), ax, keepdim), &[self], SumAxis { axis: ax }))
    }

    /// Mean over `axis`.
    ///
    /// # Errors
    /// When the axis is out of range or has size 0.
    pub fn mean_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let ax = self.shape().axis("mean_axis", axis)?;
        let n = self.dims()[ax];
        if n == 0 {
            return Err(Error::shape("mean_axis", self.shape(), format!("axis {ax} is empty")));
        }
        self.sum_axis(axis, keepdim)?.mul_scalar(1.0 / n as f64)
    }

    /// Maximum over `axis`.
    ///
    /// # Errors
    /// When the axis is out of range or has size 0.
    pub fn max_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let ax = self.shape().axis("max_axis", axis)?;
        let indices = self.arg_extreme("max_axis", ax)?;
        let x = self.data();
        let out = indices.iter().map(|&i| x[i]).collect();
        let backward = MaxAxis { flat_indices: indices };
        Ok(Tensor::from_op(out, reduced_shape(self.shape(), ax, keepdim), &[self], backward))
    }

    /// Maximum of all elements, as a scalar.
    ///
    /// # Errors
    /// When the tensor is empty.
    pub fn max(&self) -> Result<Tensor<T>> {
        self.reshape([self.numel()])?.max_axis(0, false)
    }

    /// Index of the first maximum along `axis`, as values of `T` (like NumPy's `argmax`).
    ///
    /// # Errors
    /// When the axis is out of range or has size 0.
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let ax = self.shape().axis("argmax", axis)?;
        let (_, n, inner) = split_at_axis(self.shape(), ax);
        let flat = self.arg_extreme("argmax", ax)?;
        let out = flat.iter().map(|&i| T::of(((i / inner) % n) as f64)).collect();
        Ok(Tensor::from_parts(out, reduced_shape(self.shape(), ax, keepdim)))
    }

    /// Flat indices of the first maximum of each slice along `axis`.
    fn arg_extreme(&self, op: &str, ax: usize) -> Result<Vec<usize>> {
        let (outer, n, inner) = split_at_axis(self.shape(), ax);
        if n == 0 {
            return Err(Error::shape(op, self.shape(), format!("axis {ax} is empty")));
        }
        let x = self.data();
        let mut indices = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let mut best = o * n * inner + i;
                for k in 1..n {
                    let at = (o * n + k) * inner + i;
                    // NaN wins so that it propagates instead of hiding.
                    if x[at] > x[best] || (x[at].is_nan() && !x[best].is_nan()) {
                        best = at;
                    }
                }
                indices.push(best);
            }
        }
        Ok(indices)
    }

    /// Sum broadcast axes away so the result has `shape` (the inverse of broadcasting).
    ///
    /// # Errors
    /// When this tensor's shape is not a broadcast of `shape`.
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor<T>> {
        if Shape::broadcast("sum_to", shape, self.shape())? != *self.shape() {
            return Err(Error::mismatch("sum_to", self.shape(), shape, "the target does not broadcast to the source"));
        }
        let mut out = self.clone();
        while out.rank() > shape.rank() {
            out = out.sum_axis(0, false)?;
        }
        for (axis, (&have, &want)) in out.dims().to_vec().iter().zip(shape.dims()).enumerate() {
            if want == 1 && have != 1 {
                out = out.sum_axis(axis as isize, true)?;
            }
        }
        Ok(out)
    }
}

struct Softmax {
    axis: usize,
}
impl<T: Element> Backward<T> for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn backward(&self, _x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        // Only the output is needed: dx = y (g - sum_j g_j y_j).
        let (outer, n, inner) = split_at_axis(y.shape(), self.axis);
        let shape = y.shape().clone();
        let (y, g) = (y.data(), g.data());
        let mut dx = pool::take(y.len());
        dx.resize(y.len(), T::zero());
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                let dot = (0..n).fold(T::zero(), |acc, k| acc + g[at(k)] * y[at(k)]);
                (0..n).for_each(|k| dx[at(k)] = y[at(k)] * (g[at(k)] - dot));
            }
        }
        Ok(vec![Some(Tensor::from_parts(dx, shape))])
    }
}

struct SumAll;
impl<T: Element> Backward<T> for SumAll {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.broadcast_to(x[0].shape())?)])
    }
}

struct SumAxis {
    axis: usize,
}
impl<T: Element> Backward<T> for SumAxis {
    fn name(&self) -> &'static str {
        "sum_axis"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let kept = reduced_shape(x[0].shape(), self.axis, true);
        Ok(vec![Some(g.reshape(kept)?.broadcast_to(x[0].shape())?)])
    }
}

struct MaxAxis {
    flat_indices: Vec<usize>,
}
impl<T: Element> Backward<T> for MaxAxis {
    fn name(&self) -> &'static str {
        "max_axis"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let mut dx = vec![T::zero(); x[0].numel()];
        for (&i, &gv) in self.flat_indices.iter().zip(g.data()) {
            dx[i] = dx[i] + gv;
        }
        Ok(vec![Some(Tensor::from_parts(dx, x[0].shape().clone()))])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(Some("sum"), "sum", MATRIX, R, |t| t[0].sum()),
        op_check!(Some("sum_axis"), "sum_axis", MATRIX, R, |t| t[0].sum_axis(-1, false)),
        op_check!(Some("sum_axis"), "sum_axis 0 keepdim", MATRIX, R, |t| t[0].sum_axis(0, true)),
        op_check!(Some("max_axis"), "max_axis", MATRIX, R, |t| t[0].max_axis(-1, false)),
        op_check!(Some("max_axis"), "max", MATRIX, R, |t| t[0].max()),
        op_check!(None, "mean", MATRIX, R, |t| t[0].mean()),
        op_check!(None, "mean_axis", MATRIX, R, |t| t[0].mean_axis(0, false)),
        op_check!(None, "sum_to", &[&[&[2, 3, 4]]], R, |t| t[0].sum_to(&[3, 1].into())),
        op_check!(Some("softmax"), "softmax", &[&[&[5]], &[&[1, 5]], &[&[33, 5]]], R, |t| t[0].softmax(-1)),
        op_check!(Some("softmax"), "softmax axis 0", &[&[&[4, 3]], &[&[2, 3, 4]]], R, |t| t[0].softmax(0)),
        op_check!(Some("softmax"), "softmax middle axis", &[&[&[2, 3, 4]]], R, |t| t[0].softmax(1)),
    ]
}
