//! The element types a tensor can hold: `f32` to train, `f64` to check gradients.

use num_traits::{Float, FromPrimitive, ToPrimitive};
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// The one generic bound of the library: `f32` or `f64` (sealed: the matrix-multiply kernel
/// exists for these two only).
pub trait Element:
    sealed::Sealed + Float + FromPrimitive + ToPrimitive + Debug + Display + Default + Sum + Send + Sync + 'static
{
    /// The type's name, for messages ("f32").
    const NAME: &'static str;

    /// Convert from an `f64` literal or hyper-parameter (rounding for `f32`).
    fn of(v: f64) -> Self;

    /// Widen to `f64` for reports and checks.
    fn f64(self) -> f64;

    /// The error function (for the exact GELU).
    fn erf(self) -> Self;

    /// Bytes per element.
    const BYTES: usize;

    /// Append the little-endian bytes (weights files).
    fn write_le(self, out: &mut Vec<u8>);

    /// Read one element from exactly [`Element::BYTES`] little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
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
    const BYTES: usize = 4;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[..4]);
        f32::from_le_bytes(b)
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
    const BYTES: usize = 8;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        f64::from_le_bytes(b)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}
