//! Elementwise ops of two tensors with NumPy broadcasting: add, sub, mul, div, pow, maximum, minimum.
//!
//! Rules return gradients in the output's shape; the engine sums broadcast axes away.

use crate::autograd::gradcheck::{op_check, OpCheck, BINARY, POS, R};
use crate::autograd::Backward;
use crate::error::Result;
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Apply `f` to each pair of broadcast elements. Shared with the comparison ops.
pub(crate) fn broadcast_zip<T: Element>(
    op: &str,
    lhs: &Tensor<T>,
    rhs: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Result<(Vec<T>, Shape)> {
    let (a, b) = (lhs.data(), rhs.data());
    if lhs.shape() == rhs.shape() {
        return Ok((pool::collect(a.len(), a.iter().zip(b).map(|(&x, &y)| f(x, y))), lhs.shape().clone()));
    }
    let shape = Shape::broadcast(op, lhs.shape(), rhs.shape())?;
    if b.len() == 1 {
        return Ok((pool::collect(a.len(), a.iter().map(|&x| f(x, b[0]))), shape));
    }
    if a.len() == 1 {
        return Ok((pool::collect(b.len(), b.iter().map(|&y| f(a[0], y))), shape));
    }
    let (sa, sb) = (lhs.shape().broadcast_strides(&shape), rhs.shape().broadcast_strides(&shape));
    let dims = shape.dims();
    let numel = shape.numel();
    let mut out = pool::take(numel);
    if numel == 0 {
        return Ok((out, shape));
    }
    let last = dims.len() - 1;
    let (inner, ia, ib) = (dims[last], sa[last], sb[last]);
    // Walk the outer axes with an odometer; the innermost axis runs as a tight loop.
    let mut index = vec![0usize; last];
    for _ in 0..numel / inner {
        let oa: usize = index.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ob: usize = index.iter().zip(&sb).map(|(i, s)| i * s).sum();
        for j in 0..inner {
            out.push(f(a[oa + j * ia], b[ob + j * ib]));
        }
        for axis in (0..last).rev() {
            index[axis] += 1;
            if index[axis] < dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok((out, shape))
}

macro_rules! binary_op {
    ($(#[$doc:meta])* $name:ident, $Op:ident, |$a:ident, $b:ident| $f:expr) => {
        impl<T: Element> Tensor<T> {
            $(#[$doc])*
            ///
            /// # Errors
            /// When the shapes do not broadcast.
            pub fn $name(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
                let (data, shape) = broadcast_zip(stringify!($name), self, rhs, |$a, $b| $f)?;
                Ok(Tensor::from_op(data, shape, &[self, rhs], $Op))
            }
        }
    };
}

binary_op!(
    /// `lhs + rhs`.
    add, Add, |a, b| a + b
);
binary_op!(
    /// `lhs - rhs`.
    sub, Sub, |a, b| a - b
);
binary_op!(
    /// `lhs * rhs`, elementwise.
    mul, Mul, |a, b| a * b
);
binary_op!(
    /// `lhs / rhs`, elementwise.
    div, Div, |a, b| a / b
);
binary_op!(
    /// `lhs ^ rhs`, elementwise (the exponent's gradient `y ln(lhs)` needs `lhs > 0`).
    pow, Pow, |a, b| a.powf(b)
);
binary_op!(
    /// Elementwise maximum; at a tie the gradient goes to `lhs`.
    maximum, Maximum, |a, b| if a.is_nan() || b.is_nan() { T::nan() } else { a.max(b) }
);
binary_op!(
    /// Elementwise minimum; at a tie the gradient goes to `lhs`.
    minimum, Minimum, |a, b| if a.is_nan() || b.is_nan() { T::nan() } else { a.min(b) }
);

struct Add;
impl<T: Element> Backward<T> for Add {
    fn name(&self) -> &'static str {
        "add"
    }
    fn backward(&self, _x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.clone()), Some(g.clone())])
    }
}

struct Sub;
impl<T: Element> Backward<T> for Sub {
    fn name(&self) -> &'static str {
        "sub"
    }
    fn backward(&self, _x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.clone()), Some(g.neg()?)])
    }
}

struct Mul;
impl<T: Element> Backward<T> for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![Some(g.mul(&x[1])?), Some(g.mul(&x[0])?)])
    }
}

/// `y = a / b`: `da = g / b`, `db = -g y / b`.
struct Div;
impl<T: Element> Backward<T> for Div {
    fn name(&self) -> &'static str {
        "div"
    }
    fn backward(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let da = g.div(&x[1])?;
        let db = da.mul(y)?.neg()?;
        Ok(vec![Some(da), Some(db)])
    }
}

/// `y = a^b`: `da = g b a^(b-1)`, `db = g y ln(a)` (only computed when `b` needs it: `ln` of a
/// non-positive base would poison nothing else but is wasted work).
struct Pow;
impl<T: Element> Backward<T> for Pow {
    fn name(&self) -> &'static str {
        "pow"
    }
    fn backward(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (a, b) = (&x[0], &x[1]);
        let da = g.mul(&b.mul(&a.pow(&b.add_scalar(-1.0)?)?)?)?;
        let db = if b.requires_grad() { Some(g.mul(y)?.mul(&a.log()?)?) } else { None };
        Ok(vec![Some(da), db])
    }
}

struct Maximum;
impl<T: Element> Backward<T> for Maximum {
    fn name(&self) -> &'static str {
        "maximum"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let lhs_wins = x[0].ge(&x[1])?;
        Ok(vec![Some(g.mul(&lhs_wins)?), Some(g.mul(&lhs_wins.neg()?.add_scalar(1.0)?)?)])
    }
}

struct Minimum;
impl<T: Element> Backward<T> for Minimum {
    fn name(&self) -> &'static str {
        "minimum"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let lhs_wins = x[0].le(&x[1])?;
        Ok(vec![Some(g.mul(&lhs_wins)?), Some(g.mul(&lhs_wins.neg()?.add_scalar(1.0)?)?)])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(Some("add"), "add", BINARY, R, |t| t[0].add(&t[1])),
        op_check!(Some("sub"), "sub", BINARY, R, |t| t[0].sub(&t[1])),
        op_check!(Some("mul"), "mul", BINARY, R, |t| t[0].mul(&t[1])),
        op_check!(Some("div"), "div", BINARY, POS, |t| t[0].div(&t[1])),
        op_check!(Some("pow"), "pow", BINARY, POS, |t| t[0].pow(&t[1])),
        op_check!(Some("maximum"), "maximum", BINARY, R, |t| t[0].maximum(&t[1])),
        op_check!(Some("minimum"), "minimum", BINARY, R, |t| t[0].minimum(&t[1])),
        op_check!(None, "x*x + x (shared input)", &[&[&[33, 2]]], R, |t| t[0].mul(&t[0])?.add(&t[0])),
    ]
}
