//! Shapes: dimensions, element counts, row-major strides and NumPy broadcasting.

use crate::error::{Error, Result};
use std::fmt;

/// The dimensions of a tensor, outermost first (row-major). `[]` is a scalar.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Dims);

/// Up to this many dimensions are stored inline: every tensor has a shape, and a heap
/// allocation for each one was a visible share of a small training step.
const INLINE_DIMS: usize = 6;

/// The storage of a shape's dimensions: inline when short, else on the heap.
#[derive(Clone)]
enum Dims {
    Inline(u8, [usize; INLINE_DIMS]),
    Heap(Vec<usize>),
}

impl Dims {
    fn from_slice(d: &[usize]) -> Self {
        if d.len() <= INLINE_DIMS {
            let mut inline = [0; INLINE_DIMS];
            inline[..d.len()].copy_from_slice(d);
            Dims::Inline(d.len() as u8, inline)
        } else {
            Dims::Heap(d.to_vec())
        }
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Dims::Inline(len, d) => &d[..usize::from(*len)],
            Dims::Heap(v) => v,
        }
    }
}

impl Default for Dims {
    fn default() -> Self {
        Dims::Inline(0, [0; INLINE_DIMS])
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl Eq for Dims {}
impl std::hash::Hash for Dims {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: impl AsRef<[usize]>) -> Self {
        Shape(Dims::from_slice(dims.as_ref()))
    }

    /// The shape of a scalar.
    pub fn scalar() -> Self {
        Shape(Dims::default())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major strides, in elements.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.0.len()];
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// Resolve a possibly negative axis (-1 is the last) against this shape.
    pub fn axis(&self, op: &str, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let resolved = if axis < 0 { axis + rank } else { axis };
        if resolved < 0 || resolved >= rank {
            return Err(Error::shape(op, self, format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(resolved as usize)
    }

    /// The two dimensions of a matrix, or an error naming `op`.
    pub fn dims2(&self, op: &str) -> Result<(usize, usize)> {
        match self.0[..] {
            [a, b] => Ok((a, b)),
            _ => Err(Error::shape(op, self, "expected a rank-2 tensor")),
        }
    }

    /// The three dimensions of a batch of matrices, or an error naming `op`.
    pub fn dims3(&self, op: &str) -> Result<(usize, usize, usize)> {
        match self.0[..] {
            [a, b, c] => Ok((a, b, c)),
            _ => Err(Error::shape(op, self, "expected a rank-3 tensor")),
        }
    }

    /// The four dimensions of an image batch, or an error naming `op`.
    pub fn dims4(&self, op: &str) -> Result<(usize, usize, usize, usize)> {
        match self.0[..] {
            [a, b, c, d] => Ok((a, b, c, d)),
            _ => Err(Error::shape(op, self, "expected a rank-4 tensor")),
        }
    }

    /// The shape both operands broadcast to under NumPy's rules: align from the right; each pair
    /// of dimensions must be equal or one of them 1.
    pub fn broadcast(op: &str, lhs: &Shape, rhs: &Shape) -> Result<Shape> {
        let rank = lhs.rank().max(rhs.rank());
        let mut out = vec![0; rank];
        for (i, slot) in out.iter_mut().enumerate() {
            let l = dim_from_right(lhs, rank - 1 - i);
            let r = dim_from_right(rhs, rank - 1 - i);
            *slot = match (l, r) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                (a, b) => {
                    return Err(Error::mismatch(
                        op,
                        lhs,
                        rhs,
                        format!(
                            "cannot broadcast: axis {i} of the result would need {a} and {b} to agree or one to be 1"
                        ),
                    ))
                }
            };
        }
        Ok(Shape(Dims::from_slice(&out)))
    }

    /// Strides for reading a tensor of this shape as if it had shape `target` (which it must
    /// broadcast to): broadcast axes get stride 0.
    pub(crate) fn broadcast_strides(&self, target: &Shape) -> Vec<usize> {
        let own = self.strides();
        let offset = target.rank() - self.rank();
        (0..target.rank()).map(|i| if i < offset || self.0[i - offset] == 1 { 0 } else { own[i - offset] }).collect()
    }
}

/// The dimension `k` places from the right, 1 when the shape is shorter.
fn dim_from_right(shape: &Shape, k: usize) -> usize {
    if k < shape.rank() {
        shape.0[shape.rank() - 1 - k]
    } else {
        1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(Dims::from_slice(d))
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(Dims::from_slice(&d))
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(Dims::from_slice(&d))
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let s = |d: &[usize]| Shape::from(d);
        assert_eq!(Shape::broadcast("t", &s(&[3, 1]), &s(&[4])).unwrap(), s(&[3, 4]));
        assert_eq!(Shape::broadcast("t", &s(&[]), &s(&[2, 3])).unwrap(), s(&[2, 3]));
        assert_eq!(Shape::broadcast("t", &s(&[5, 1, 3]), &s(&[2, 1])).unwrap(), s(&[5, 2, 3]));
        let err = Shape::broadcast("add", &s(&[3]), &s(&[4])).unwrap_err().to_string();
        assert!(err.contains("add") && err.contains("[3]") && err.contains("[4]"), "{err}");
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::from([2, 3, 4]).strides(), vec![12, 4, 1]);
        assert_eq!(Shape::from([3, 1]).broadcast_strides(&Shape::from([2, 3, 4])), vec![0, 1, 0]);
    }
}
