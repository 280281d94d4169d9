//! The element types a tensor can hold: `f32` to train, `f64` to check gradients.

use num_traits::{Float, FromPrimitive, ToPrimitive};
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// The one generic bound of the library: a floating-point number with a matrix-multiply kernel.
pub trait Element:
    Float + FromPrimitive + ToPrimitive + Debug + Display + Default + Sum + Send + Sync + 'static
{
    /// The type's name, for messages ("f32").
    const NAME: &'static str;

    /// Convert from an `f64` literal or hyper-parameter (rounding for `f32`).
    fn of(v: f64) -> Self;

    /// Widen to `f64` for reports and checks.
    fn f64(self) -> f64;

    /// The error function (for the exact GELU).
    fn erf(self) -> Self;

    /// `C = alpha * A B + beta * C` on strided matrices (`A` is m x k, `B` k x n, `C` m x n).
    ///
    /// # Safety
    /// The pointers and strides must describe matrices that lie inside live allocations, and `c`
    /// must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    fn of(v: f64) -> Self {
        v as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    fn of(v: f64) -> Self {
        v
    }
    fn f64(self) -> f64 {
        self
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}
