//! Activations by name (Keras's names), and the `Activation` layer that applies one.

use super::{Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// An activation function, as `Dense { activation }` and the `Activation` layer take it.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    /// Identity (Keras's `"linear"`, the default).
    #[default]
    Linear,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// max(x, 0).
    Relu,
    /// x, or alpha x below 0 (Keras's default alpha is 0.2 for the layer, 0.3 in older versions).
    LeakyRelu(f64),
    /// x, or alpha (e^x - 1) below 0.
    Elu(f64),
    /// Exact GELU.
    Gelu,
    /// GELU, tanh approximation.
    GeluTanh,
    /// ln(1 + e^x).
    Softplus,
    /// Softmax over the last axis.
    Softmax,
    /// Log-softmax over the last axis.
    LogSoftmax,
    /// Clip to [-1, 1].
    HardTanh,
    /// cos(x).
    Cos,
    /// x sigmoid(x) (swish).
    Silu,
    /// The perceptron's unit step (no gradient).
    Step,
}

impl Activation {
    /// Every name [`Activation::from_name`] accepts.
    pub const NAMES: &'static [&'static str] = &[
        "linear",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "gelu_tanh",
        "softplus",
        "softmax",
        "log_softmax",
        "hard_tanh",
        "cos",
        "silu",
        "swish",
        "step",
    ];

    /// Apply to a tensor (softmax variants along the last axis).
    ///
    /// # Errors
    /// Only if a tensor op fails.
    pub fn apply<T: Element>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        match *self {
            Activation::Linear => Ok(x.clone()),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(alpha) => x.leaky_relu(alpha),
            Activation::Elu(alpha) => x.elu(alpha),
            Activation::Gelu => x.gelu(),
            Activation::GeluTanh => x.gelu_tanh(),
            Activation::Softplus => x.softplus(),
            Activation::Softmax => x.softmax(-1),
            Activation::LogSoftmax => x.log_softmax(-1),
            Activation::HardTanh => x.hard_tanh(),
            Activation::Cos => x.cos(),
            Activation::Silu => x.silu(),
            Activation::Step => x.step(),
        }
    }

    /// The activation called `name` (Keras's defaults for parameters: leaky_relu 0.2, elu 1.0).
    ///
    /// # Errors
    /// When the name is unknown (the message lists the known ones).
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "none" => Activation::Linear,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(0.2),
            "elu" => Activation::Elu(1.0),
            "gelu" => Activation::Gelu,
            "gelu_tanh" => Activation::GeluTanh,
            "softplus" => Activation::Softplus,
            "softmax" => Activation::Softmax,
            "log_softmax" => Activation::LogSoftmax,
            "hard_tanh" => Activation::HardTanh,
            "cos" => Activation::Cos,
            "silu" | "swish" => Activation::Silu,
            "step" => Activation::Step,
            other => {
                return Err(Error::invalid(
                    "activation",
                    format!("unknown activation {other:?} (expected one of: {})", Activation::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Softplus => "softplus",
            Activation::Softmax => "softmax",
            Activation::LogSoftmax => "log_softmax",
            Activation::HardTanh => "hard_tanh",
            Activation::Cos => "cos",
            Activation::Silu => "silu",
            Activation::Step => "step",
        }
    }
}

/// A spec's activation: its name (`activation = "relu"`).
impl<'de> serde::Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Activation::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Hyper-parameters of [`ActivationLayer`]: `{ type = "activation", activation = "softmax" }`.
#[derive(Clone, Debug, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationConfig {
    /// The function applied.
    pub activation: Activation,
    /// The layer's name (default "activation", "activation_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

impl super::LayerKind for ActivationConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(
        &self,
        _input: &Shape,
        name: String,
        _rng: &mut crate::rng::Rng,
    ) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(ActivationLayer::new(self.activation, name)))
    }
}

/// A layer that only applies an activation.
pub struct ActivationLayer {
    activation: Activation,
    name: String,
}

impl ActivationLayer {
    /// The layer applying `activation`.
    pub fn new(activation: Activation, name: impl Into<String>) -> Self {
        ActivationLayer { activation, name: name.into() }
    }
}

impl<T: Element> Layer<T> for ActivationLayer {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        self.activation.apply(x)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        Ok(input.clone())
    }
    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }
    fn kind(&self) -> &'static str {
        "Activation"
    }
    fn name(&self) -> &str {
        &self.name
    }
}
