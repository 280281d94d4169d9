//! Fully connected layer: `y = activation(x · kernel + bias)`, kernel `[inputs, units]`, bias
//! `[units]`, as Keras stores them (PyTorch's `Linear` stores the transpose).

use super::{Activation, Initializer, Layer, Mode, Param, Regularizer};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Most weights one layer may hold (2^30, 4 GiB in f32).
pub const MAX_LAYER_PARAMS: usize = 1 << 30;

/// Hyper-parameters of [`Dense`], with Keras's names and defaults (the spec's
/// `{ type = "dense", units = 32, activation = "relu", ... }` reads straight into it).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    /// Output width.
    pub units: usize,
    /// Applied after the affine map (default linear).
    #[serde(default)]
    pub activation: Activation,
    /// Whether there is a bias (default true).
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Kernel start (default Glorot uniform).
    #[serde(default = "glorot_uniform")]
    pub kernel_initializer: Initializer,
    /// Bias start (default zeros).
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// The layer's name (default: "dense", "dense_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

/// Serde defaults shared by the layers with Dense's keys (Conv2D, Maxout).
pub(super) fn yes() -> bool {
    true
}
pub(super) fn glorot_uniform() -> Initializer {
    Initializer::GlorotUniform
}
pub(super) fn zeros() -> Initializer {
    Initializer::Zeros
}

impl super::LayerKind for DenseConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

impl DenseConfig {
    /// A dense layer of `units` outputs with Keras's defaults.
    pub fn new(units: usize) -> Self {
        DenseConfig {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            name: None,
        }
    }

    /// Set the activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Set the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set whether there is a bias.
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Set the kernel initializer.
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// Set the bias initializer.
    pub fn bias_initializer(mut self, init: Initializer) -> Self {
        self.bias_initializer = init;
        self
    }

    /// Set the kernel penalty.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// Set the bias penalty.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// Check the config against a per-sample input shape `[inputs]` and draw the parameters.
    ///
    /// # Errors
    /// When `units` is 0 or the input is not a vector.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Dense<T>> {
        if self.units == 0 {
            return Err(Error::invalid(format!("layer '{name}'"), "units must be > 0, got 0"));
        }
        // Vectors only: Dense on a [28, 28] image without Flatten is the usual slip, which
        // Keras would let through as 28 rows of units; at each step of a sequence the same
        // weights come from `time_distributed`, said outright.
        let &[inputs] = input.dims() else {
            return Err(Error::shape(
                &format!("layer '{name}'"),
                input,
                "Dense expects a vector per sample [inputs]; add Flatten first (or wrap it in time_distributed \
                 to apply it at each step of a sequence)",
            ));
        };
        // A documented cap, so a spec asking for 10^12 weights is an error, not an abort.
        if inputs.checked_mul(self.units).is_none_or(|n| n > MAX_LAYER_PARAMS) {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                format!(
                    "{inputs} inputs x {} units exceeds the cap of {MAX_LAYER_PARAMS} weights per layer",
                    self.units
                ),
            ));
        }
        for regularizer in [self.kernel_regularizer, self.bias_regularizer].iter().flatten() {
            regularizer.validate().map_err(|e| Error::invalid(format!("layer '{name}'"), e.to_string()))?;
        }
        // Before allocating: 2^30 weights pass the cap but are 4 GiB in f32.
        let weights = inputs * self.units + if self.use_bias { self.units } else { 0 };
        crate::memory::check(
            &format!("layer '{name}'"),
            (weights as u64).saturating_mul(std::mem::size_of::<T>() as u64),
            &format!("{inputs} inputs x {} units ({weights} weights)", self.units),
        )?;
        let kernel = self.kernel_initializer.init(&Shape::new([inputs, self.units]), rng)?;
        let bias = match self.use_bias {
            true => Some(Param::new("bias", self.bias_initializer.init(&Shape::new([self.units]), rng)?, true)),
            false => None,
        };
        Ok(Dense { config: self.clone(), name, inputs, kernel: Param::new("kernel", kernel, true), bias })
    }
}

/// A fully connected layer (see [`DenseConfig`]).
pub struct Dense<T: Element = f32> {
    config: DenseConfig,
    name: String,
    inputs: usize,
    kernel: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Element> Dense<T> {
    /// The kernel `[inputs, units]`.
    pub fn kernel(&self) -> &Param<T> {
        &self.kernel
    }

    /// The bias `[units]`, if any.
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }
}

impl<T: Element> Layer<T> for Dense<T> {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        if x.rank() != 2 || x.dims()[1] != self.inputs {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                format!("expected input [*, {}]", self.inputs),
            ));
        }
        let bias = self.bias.as_ref().map(Param::value);
        x.linear_activation(&self.kernel.value(), bias.as_ref(), self.config.activation)
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        if input.dims() != [self.inputs] {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected input [{}]", self.inputs),
            ));
        }
        Ok(Shape::new([self.config.units]))
    }

    fn params(&self) -> Vec<&Param<T>> {
        std::iter::once(&self.kernel).chain(self.bias.as_ref()).collect()
    }

    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::kernel_bias_penalty(
            (self.config.kernel_regularizer, &self.kernel),
            (self.config.bias_regularizer, self.bias.as_ref()),
        )
    }
}
