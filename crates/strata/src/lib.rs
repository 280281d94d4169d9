//! # strata
//!
//! A deep-learning framework: n-dimensional tensors with reverse-mode autodiff, the activations
//! and losses of an introductory course, and (in `nn`, `optim`, `train`) Keras-style layers and
//! training.
//!
//! ```
//! use strata::{loss, Tensor};
//! // The perceptron of lecture 001: w0 = 1, W = [3, -2], x = [-1, 2] -> g(1 + 3(-1) - 2(2)) = g(-6).
//! let x = Tensor::<f64>::from_f64(&[-1.0, 2.0], [1, 2]).unwrap();
//! let w = Tensor::<f64>::from_f64(&[3.0, -2.0], [2, 1]).unwrap().with_requires_grad(true);
//! let y = x.matmul(&w).unwrap().add_scalar(1.0).unwrap().sigmoid().unwrap();
//! assert!((y.item().unwrap() - 0.0024726).abs() < 1e-7);
//! // One gradient step on the squared error towards the target 1.
//! let target = Tensor::<f64>::ones([1, 1]);
//! let grads = loss::mse(&y, &target).unwrap().backward().unwrap();
//! assert_eq!(grads.get(&w).unwrap().dims(), &[2, 1]);
//! ```
#![warn(missing_docs)]
// Unsafe code lives in `kernel` alone, which allows it under stricter lints of its own.
#![deny(unsafe_code)]

pub mod autograd;
mod config;
pub mod data;
pub mod error;
pub mod io;
#[allow(unsafe_code)]
mod kernel;
pub mod lectures;
pub mod loss;
pub mod memory;
pub mod nn;
mod ops;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod run;
pub mod rundir;
pub mod shape;
pub mod spec;
pub mod tensor;
pub mod train;

pub use autograd::{gradcheck, no_grad, GradcheckConfig, GradcheckReport, Gradients};
pub use error::{Error, Result};
pub use kernel::threads::{num_threads, set_num_threads};
pub use ops::{
    AfterLinear, BatchNormOutput, CellActivation, Conv2dOptions, FusedActivation, Pool2dOptions, PoolKind,
    RecurrentCell, RecurrentOptions,
};
pub use shape::Shape;
pub use tensor::{Element, Tensor, TensorId};

/// The names most programs need: `use strata::prelude::*;`.
pub mod prelude {
    pub use crate::loss::Loss;
    pub use crate::nn::{
        Activation, DenseConfig, DropoutConfig, GraphBuilder, Layer, LayerConfig, Mode, Network, Sequential,
    };
    pub use crate::optim::{Adam, OptimizerConfig, Sgd};
    pub use crate::train::{FitConfig, Metric, Model};
    pub use crate::{Error, Result, Tensor};
}
