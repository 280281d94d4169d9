//! Ops that move elements without arithmetic: reshape, permute/transpose, narrow (slicing),
//! concat, broadcast_to.
//!
//! Each backward is the inverse movement: reshape back, inverse permutation, zero-padding,
//! slicing, and (for broadcast_to) nothing: the engine sums the gradient to the input's shape.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use std::sync::Arc;

impl<T: Element> Tensor<T> {
    /// The same elements under a new shape with the same element count (no copy).
    ///
    /// # Errors
    /// When the element counts differ.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor<T>> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::mismatch("reshape", self.shape(), &shape, "element counts differ"));
        }
        Ok(Tensor::from_op_shared(Arc::clone(self.shared_data()), shape, &[self], Reshape))
    }

    /// Reorder the axes: axis `i` of the result is axis `order[i]` of the input (a copy).
    ///
    /// # Errors
    /// When `order` is not a permutation of the axes.
    pub fn permute(&self, order: &[usize]) -> Result<Tensor<T>> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if order.len() != rank || order.iter().any(|&a| a >= rank || std::mem::replace(&mut seen[a], true)) {
            return Err(Error::shape(
                "permute",
                self.shape(),
                format!("{order:?} is not a permutation of {rank} axes"),
            ));
        }
        let in_strides = self.shape().strides();
        let dims: Vec<usize> = order.iter().map(|&a| self.dims()[a]).collect();
        let strides: Vec<usize> = order.iter().map(|&a| in_strides[a]).collect();
        let x = self.data();
        let mut out = Vec::with_capacity(self.numel());
        let mut index = vec![0usize; rank];
        for _ in 0..self.numel() {
            out.push(x[index.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>()]);
            for axis in (0..rank).rev() {
                index[axis] += 1;
                if index[axis] < dims[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        let backward = Permute { order: order.to_vec() };
        Ok(Tensor::from_op(out, Shape::new(dims), &[self], backward))
    }

    /// Swap two axes (a copy; `matmul` takes transposed operands without one, see
    /// [`Tensor::matmul_t`]).
    ///
    /// # Errors
    /// When an axis is out of range.
    pub fn transpose(&self, axis0: isize, axis1: isize) -> Result<Tensor<T>> {
        let a = self.shape().axis("transpose", axis0)?;
        let b = self.shape().axis("transpose", axis1)?;
        let mut order: Vec<usize> = (0..self.rank()).collect();
        order.swap(a, b);
        self.permute(&order)
    }

    /// The transpose of a matrix.
    ///
    /// # Errors
    /// When the tensor is not rank 2.
    pub fn t(&self) -> Result<Tensor<T>> {
        self.shape().dims2("t")?;
        self.transpose(0, 1)
    }

    /// Elements `start..start + len` along `axis`.
    ///
    /// # Errors
    /// When the axis or the range is out of bounds.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor<T>> {
        let ax = self.shape().axis("narrow", axis)?;
        let n = self.dims()[ax];
        if start.checked_add(len).is_none_or(|end| end > n) {
            return Err(Error::shape(
                "narrow",
                self.shape(),
                format!("range {start}..{} exceeds axis {ax} of size {n}", start.saturating_add(len)),
            ));
        }
        let inner: usize = self.dims()[ax + 1..].iter().product();
        let outer: usize = self.dims()[..ax].iter().product();
        let x = self.data();
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            let from = (o * n + start) * inner;
            out.extend_from_slice(&x[from..from + len * inner]);
        }
        let mut dims = self.dims().to_vec();
        dims[ax] = len;
        Ok(Tensor::from_op(out, Shape::new(dims), &[self], Narrow { axis: ax, start }))
    }

    /// Rows `start..end` of the batch (first) axis.
    ///
    /// # Errors
    /// When the range is out of bounds or reversed.
    pub fn slice_batch(&self, start: usize, end: usize) -> Result<Tensor<T>> {
        if end < start {
            return Err(Error::shape("slice_batch", self.shape(), format!("reversed range {start}..{end}")));
        }
        self.narrow(0, start, end - start)
    }

    /// Join tensors along `axis`; all other dimensions must agree.
    ///
    /// # Errors
    /// When the list is empty or the shapes disagree off `axis`.
    pub fn concat(tensors: &[&Tensor<T>], axis: isize) -> Result<Tensor<T>> {
        let first = tensors.first().ok_or_else(|| Error::invalid("concat", "needs at least one tensor"))?;
        let ax = first.shape().axis("concat", axis)?;
        for t in &tensors[1..] {
            let same_rank = t.rank() == first.rank();
            if !same_rank || t.dims().iter().zip(first.dims()).enumerate().any(|(i, (a, b))| i != ax && a != b) {
                return Err(Error::mismatch(
                    "concat",
                    first.shape(),
                    t.shape(),
                    format!("dimensions off axis {ax} must agree"),
                ));
            }
        }
        let outer: usize = first.dims()[..ax].iter().product();
        let inner: usize = first.dims()[ax + 1..].iter().product();
        let sizes: Vec<usize> = tensors.iter().map(|t| t.dims()[ax]).collect();
        let mut out = Vec::with_capacity(tensors.iter().map(|t| t.numel()).sum());
        for o in 0..outer {
            for (t, &n) in tensors.iter().zip(&sizes) {
                out.extend_from_slice(&t.data()[o * n * inner..(o + 1) * n * inner]);
            }
        }
        let mut dims = first.dims().to_vec();
        dims[ax] = sizes.iter().sum();
        Ok(Tensor::from_op(out, Shape::new(dims), tensors, Concat { axis: ax, sizes }))
    }

    /// Repeat this tensor along broadcast axes so it has `shape` (NumPy's `broadcast_to`).
    ///
    /// # Errors
    /// When this shape does not broadcast to `shape`.
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Tensor<T>> {
        if Shape::broadcast("broadcast_to", self.shape(), shape)? != *shape {
            return Err(Error::mismatch(
                "broadcast_to",
                self.shape(),
                shape,
                "the source does not broadcast to the target",
            ));
        }
        let zeros = Tensor::from_parts(vec![T::zero(); shape.numel()], shape.clone());
        let (data, shape) = super::binary::broadcast_zip("broadcast_to", &zeros, self, |_, b| b)?;
        Ok(Tensor::from_op(data, shape, &[self], BroadcastTo))
    }
}

struct Reshape;
impl<T: Element> Backward<T> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.reshape(x[0].shape().clone())?)])
    }
}

struct Permute {
    order: Vec<usize>,
}
impl<T: Element> Backward<T> for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, _x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let mut inverse = vec![0; self.order.len()];
        for (i, &a) in self.order.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(vec![Some(g.permute(&inverse)?)])
    }
}

struct Narrow {
    axis: usize,
    start: usize,
}
impl<T: Element> Backward<T> for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let dims = x[0].dims();
        let (n, len) = (dims[self.axis], g.dims()[self.axis]);
        let inner: usize = dims[self.axis + 1..].iter().product();
        let mut dx = vec![T::zero(); x[0].numel()];
        if g.numel() == 0 {
            return Ok(vec![Some(Tensor::from_parts(dx, x[0].shape().clone()))]);
        }
        for (o, chunk) in g.data().chunks(len * inner).enumerate() {
            let to = (o * n + self.start) * inner;
            dx[to..to + chunk.len()].copy_from_slice(chunk);
        }
        Ok(vec![Some(Tensor::from_parts(dx, x[0].shape().clone()))])
    }
}

struct Concat {
    axis: usize,
    sizes: Vec<usize>,
}
impl<T: Element> Backward<T> for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, _x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let mut start = 0;
        let mut grads = Vec::with_capacity(self.sizes.len());
        for &n in &self.sizes {
            grads.push(Some(g.narrow(self.axis as isize, start, n)?));
            start += n;
        }
        Ok(grads)
    }
}

struct BroadcastTo;
impl<T: Element> Backward<T> for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn backward(&self, _x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.clone())])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(Some("reshape"), "reshape", &[&[&[33, 4]], &[&[1, 4]]], R, |t| t[0].reshape([t[0].numel()])),
        op_check!(Some("permute"), "permute", &[&[&[2, 3, 4]], &[&[1, 3, 4]]], R, |t| t[0].permute(&[1, 2, 0])),
        op_check!(Some("permute"), "t", &[&[&[33, 4]], &[&[1, 4]]], R, |t| t[0].t()),
        op_check!(Some("narrow"), "narrow", &[&[&[5, 3, 4]], &[&[1, 3, 4]]], R, |t| t[0].narrow(1, 1, 2)),
        op_check!(Some("narrow"), "slice_batch", &[&[&[33, 4]]], R, |t| t[0].slice_batch(3, 9)),
        op_check!(Some("concat"), "concat", &[&[&[2, 3], &[2, 5]], &[&[1, 3], &[1, 1]]], R, |t| Tensor::concat(
            &[&t[0], &t[1]],
            1
        )),
        op_check!(Some("broadcast_to"), "broadcast_to", &[&[&[3, 1]], &[&[1]]], R, |t| t[0]
            .broadcast_to(&[2, 3, 4].into())),
    ]
}
