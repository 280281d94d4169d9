//! Fault injection for testing the gradient checker itself: a wrong backward rule must be
//! caught. When a fault is armed for an op, the engine corrupts that op's input gradients in
//! one of the ways a hand-written rule goes wrong. Never armed outside tests; disarmed, the
//! cost is one atomic load per node.

use crate::error::Result;
use crate::tensor::{Element, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A way a backward rule can be wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The first gradient is scaled by 1.001.
    Scale,
    /// The first gradient has the wrong sign.
    FlipSign,
    /// The first gradient is dropped (a term forgotten).
    DropTerm,
    /// The gradients of the first two inputs are exchanged (operands swapped).
    SwapOperands,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static FAULT: Mutex<Option<(String, Fault)>> = Mutex::new(None);

/// Arm `fault` for the op named `op` (`None` disarms). Tests that use it must not run in
/// parallel with other gradient checks.
#[doc(hidden)]
pub fn inject(fault: Option<(&str, Fault)>) {
    let mut slot = FAULT.lock().unwrap_or_else(|p| p.into_inner());
    *slot = fault.map(|(op, f)| (op.to_string(), f));
    ARMED.store(slot.is_some(), Ordering::SeqCst);
}

/// Apply the armed fault, if it targets `op`.
pub(crate) fn apply<T: Element>(op: &str, grads: &mut [Option<Tensor<T>>]) -> Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let fault = match FAULT.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        Some((name, f)) if name == op => *f,
        _ => return Ok(()),
    };
    let Some(first) = grads.iter().position(Option::is_some) else { return Ok(()) };
    match fault {
        Fault::Scale => grads[first] = grads[first].as_ref().map(|g| g.mul_scalar(1.001)).transpose()?,
        Fault::FlipSign => grads[first] = grads[first].as_ref().map(|g| g.neg()).transpose()?,
        Fault::DropTerm => grads[first] = None,
        Fault::SwapOperands if grads.len() >= 2 => grads.swap(0, 1),
        Fault::SwapOperands => {}
    }
    Ok(())
}
