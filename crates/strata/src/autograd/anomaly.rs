//! Anomaly detection: when on, every recorded op checks its output, and the first one on this
//! thread that produces a NaN or an infinity is remembered (its name, shape and counts), so a
//! non-finite loss can be traced to where it started (PyTorch's `detect_anomaly`). Off by
//! default: the check reads every output once.

use crate::shape::Shape;
use crate::tensor::Element;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static FIRST: RefCell<Option<Anomaly>> = const { RefCell::new(None) };
}

/// The first op that produced a non-finite value.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// The op's name ("log", "linear").
    pub op: &'static str,
    /// Its output's shape.
    pub shape: Shape,
    /// NaN elements in the output.
    pub nan: usize,
    /// Infinite elements in the output.
    pub infinite: usize,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first non-finite value from op '{}' with output {} ({} NaN, {} infinite)",
            self.op, self.shape, self.nan, self.infinite
        )
    }
}

/// Turn anomaly detection on or off (for every thread).
pub fn set_detect_anomaly(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether anomaly detection is on.
pub fn is_detect_anomaly() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The first anomaly recorded on this thread since the last call, if any.
pub fn take_anomaly() -> Option<Anomaly> {
    FIRST.with(|f| f.borrow_mut().take())
}

/// Called by every recorded op when detection is on.
pub(crate) fn check<T: Element>(op: &'static str, data: &[T], shape: &Shape) {
    if !is_detect_anomaly() || data.iter().all(|v| v.is_finite()) {
        return;
    }
    FIRST.with(|f| {
        let mut first = f.borrow_mut();
        if first.is_none() {
            let nan = data.iter().filter(|v| v.is_nan()).count();
            let infinite = data.iter().filter(|v| v.is_infinite()).count();
            *first = Some(Anomaly { op, shape: shape.clone(), nan, infinite });
        }
    });
}
