//! The logic-gate truth tables of lecture 002 (NOT, AND, OR) and the XOR table of lectures 002
//! and 004.

use crate::error::Result;
use crate::tensor::{Element, Tensor};

/// A logic gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// One input: 1 - x.
    Not,
    /// x1 and x2.
    And,
    /// x1 or x2.
    Or,
    /// x1 xor x2: not linearly separable.
    Xor,
}

/// The gate's truth table: inputs `[rows, inputs]` and targets `[rows, 1]`, rows in binary order.
///
/// # Errors
/// Never (the tables are fixed); `Result` for uniformity.
pub fn truth_table<T: Element>(gate: Gate) -> Result<(Tensor<T>, Tensor<T>)> {
    if gate == Gate::Not {
        return Ok((Tensor::from_f64(&[0.0, 1.0], [2, 1])?, Tensor::from_f64(&[1.0, 0.0], [2, 1])?));
    }
    let x = Tensor::from_f64(&[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [4, 2])?;
    let y: [f64; 4] = match gate {
        Gate::And => [0.0, 0.0, 0.0, 1.0],
        Gate::Or => [0.0, 1.0, 1.0, 1.0],
        _ => [0.0, 1.0, 1.0, 0.0],
    };
    Ok((x, Tensor::from_f64(&y, [4, 1])?))
}
