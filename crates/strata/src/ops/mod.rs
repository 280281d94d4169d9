//! Differentiable tensor ops: each file holds an op family's forward kernels and, beside them,
//! their backward rules.

mod binary;
mod compare;
mod index;
mod linear;
pub use linear::{AfterLinear, FusedActivation};
mod loss;
mod matmul;
mod movement;
mod reduce;
mod unary;
