//! The one error type of the library: every failure names the op, layer, file or value involved.

use crate::shape::Shape;
use std::path::PathBuf;

/// Everything that can go wrong in strata. Messages say what failed, what was expected and what
/// was received, e.g. `matmul: shape mismatch, [3, 4] vs [5, 2] (inner dimensions 4 and 5 differ)`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree do not.
    #[error("{op}: shape mismatch, {lhs} vs {rhs} ({reason})")]
    ShapeMismatch {
        /// The op or layer that checked.
        op: String,
        /// Shape of the first operand (boxed, like every shape here, to keep errors small).
        lhs: Box<Shape>,
        /// Shape of the second operand.
        rhs: Box<Shape>,
        /// Why they do not fit.
        reason: String,
    },
    /// One shape is not acceptable for an op or layer.
    #[error("{op}: invalid shape {shape} ({reason})")]
    InvalidShape {
        /// The op or layer that checked.
        op: String,
        /// The shape received.
        shape: Box<Shape>,
        /// What was expected.
        reason: String,
    },
    /// An argument or value is out of its domain (a negative rate, a class index too large...).
    #[error("{context}: {message}")]
    InvalidArgument {
        /// Where the value was given (op, layer, config field).
        context: String,
        /// What was wrong with it, including the value.
        message: String,
    },
    /// The autodiff engine was used in a way it cannot serve (backward from a non-scalar, twice...).
    #[error("autograd: {0}")]
    Autograd(String),
    /// A NaN or infinity appeared where a finite number is required.
    #[error("{context}: non-finite value {value}")]
    NonFinite {
        /// Where it appeared (epoch and batch, op name).
        context: String,
        /// The value seen.
        value: f64,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// 1-based line (0 when the position is not a line, e.g. a binary header).
        line: usize,
        /// What is wrong there, with the offending text.
        message: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] from anything printable.
    pub fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument { context: context.into(), message: message.into() }
    }

    /// An [`Error::ShapeMismatch`].
    pub fn mismatch(op: &str, lhs: &Shape, rhs: &Shape, reason: impl Into<String>) -> Self {
        Error::ShapeMismatch {
            op: op.to_string(),
            lhs: Box::new(lhs.clone()),
            rhs: Box::new(rhs.clone()),
            reason: reason.into(),
        }
    }

    /// An [`Error::InvalidShape`].
    pub fn shape(op: &str, shape: &Shape, reason: impl Into<String>) -> Self {
        Error::InvalidShape { op: op.to_string(), shape: Box::new(shape.clone()), reason: reason.into() }
    }
}

/// Return early with an [`Error::InvalidArgument`] unless a condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $context:expr, $($fmt:tt)+) => {
        if !($cond) {
            return Err($crate::Error::invalid($context, format!($($fmt)+)));
        }
    };
}

/// Checks a setting's range (and that it is finite), with a message naming who takes it, the
/// setting and its value: the one range check of optimizers, schedules, regularizers and
/// callbacks.
pub(crate) fn check_range(who: &str, name: &str, value: f64, ok: bool, expected: &str) -> Result<()> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(who, format!("{name} must be {expected}, got {value}")))
    }
}
