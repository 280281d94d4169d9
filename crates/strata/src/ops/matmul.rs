//! Matrix product. `y = op(a)·op(b)` where `op` is identity or transpose; for `y = a·b`,
//! `da = g·bᵀ` and `db = aᵀ·g`.
//!
//! Transposed operands never get copied: the kernel (`gemm`) reads any row and column
//! strides, so a transpose is a swap of the two strides. The backward rules use this too.

use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// A matrix inside a buffer: rows, columns and the strides that read it, possibly transposed.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a, T> MatRef<'a, T> {
    pub(crate) fn new(data: &'a [T], rows: usize, cols: usize, transposed: bool) -> Self {
        // Stored row-major as [rows, cols] unless transposed, then stored as [cols, rows].
        if transposed {
            MatRef { data, rows, cols, row_stride: 1, col_stride: rows as isize }
        } else {
            MatRef { data, rows, cols, row_stride: cols as isize, col_stride: 1 }
        }
    }
}

/// Products smaller than this many multiply-adds run on one thread: below it, waking a second
/// thread costs more than it saves (measured at the W2 shapes, docs/performance.md).
const PARALLEL_MIN_MACS: usize = 1 << 22;

/// `out = a·b` (row-major, `a.rows x b.cols`), or `out += a·b` when `accumulate` (how a bias
/// already broadcast into `out` is added for free).
pub(crate) fn gemm<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: &mut [T], accumulate: bool) {
    debug_assert!(a.cols == b.rows && out.len() == a.rows * b.cols);
    debug_assert!(a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols);
    if out.is_empty() {
        return;
    }
    let threads = crate::threads::num_threads();
    let parallelism = if threads > 1 && a.rows * a.cols * b.cols >= PARALLEL_MIN_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the sizes were checked above (and by the callers' shape checks): each operand lies
    // within its slice under its strides, and `out` is a distinct, exclusively borrowed buffer.
    // `T` is f32 or f64 (Element is sealed), the types gemm dispatches on.
    unsafe {
        gemm::gemm(
            a.rows,
            b.cols,
            a.cols,
            out.as_mut_ptr(),
            1,
            b.cols as isize,
            accumulate, // read `out` (scaled by the next-but-one argument) or overwrite it
            a.data.as_ptr(),
            a.col_stride,
            a.row_stride,
            b.data.as_ptr(),
            b.col_stride,
            b.row_stride,
            if accumulate { T::one() } else { T::zero() },
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

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
        let mut out = vec![T::zero(); batch * m * n];
        let (a_size, b_size) = (m * k, k * n);
        for i in 0..batch {
            let a = MatRef::new(&self.data()[i * a_size..(i + 1) * a_size], m, k, transpose_lhs);
            let b = MatRef::new(&rhs.data()[i * b_size..(i + 1) * b_size], k, n, transpose_rhs);
            gemm(a, b, &mut out[i * m * n..(i + 1) * m * n], false);
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
