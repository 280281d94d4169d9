//! Differentiable tensor ops: each file holds an op family's forward kernels and, beside them,
//! their backward rules.

mod binary;
mod compare;
mod composite;
mod conv;
pub(crate) use conv::conv_output_len;
pub use conv::Conv2dOptions;
mod index;
mod linear;
pub use linear::{AfterLinear, FusedActivation};
mod fused_loss;
mod matmul;
mod movement;
mod norm;
pub use norm::BatchNormOutput;
mod pool;
pub use pool::{Pool2dOptions, PoolKind};
mod recurrent;
pub use recurrent::{CellActivation, RecurrentCell, RecurrentOptions};
mod reduce;
mod unary;
pub(crate) use unary::sigmoid_of;

/// Every op family's gradient-check cases.
pub(crate) fn checks() -> Vec<crate::autograd::OpCheck> {
    [
        unary::checks(),
        binary::checks(),
        compare::checks(),
        reduce::checks(),
        movement::checks(),
        matmul::checks(),
        linear::checks(),
        index::checks(),
        fused_loss::checks(),
        composite::checks(),
        conv::checks(),
        pool::checks(),
        norm::checks(),
        recurrent::checks(),
    ]
    .concat()
}
