//! Activations by name (Keras's names), and the `Activation` layer that applies one.

use super::{Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// The one table of activations: variant (with its parameter and Keras's default, if any),
/// spec names (the first is canonical, the rest aliases), and what it computes. The enum, its
/// names, `from_name`, `name` and `apply` are generated from it: adding an activation is one row
/// (and its op, if it needs a new one).
macro_rules! activations {
    ($(
        $(#[$doc:meta])*
        $variant:ident $(($param:ident = $default:expr))? = $name:literal $(| $alias:literal)*
            => |$x:ident $(, $p:ident)?| $apply:expr;
    )*) => {
        /// An activation function, as `Dense { activation }` and the `Activation` layer take it.
        #[derive(Clone, Copy, Debug, PartialEq, Default)]
        pub enum Activation {
            $( $(#[$doc])* $variant $((param_type!($param)))?, )*
        }

        impl Activation {
            /// Every name [`Activation::from_name`] accepts (canonical names and aliases).
            pub const NAMES: &'static [&'static str] = &[$($name, $($alias,)*)*];

            /// Apply to a tensor (softmax variants along the last axis).
            ///
            /// # Errors
            /// Only if a tensor op fails.
            pub fn apply<T: Element>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
                match *self {
                    $( Activation::$variant $(($p))? => { let $x = x; $apply } )*
                }
            }

            /// The activation called `name`, with Keras's default for its parameter.
            ///
            /// # Errors
            /// When the name is unknown (the message lists the known ones).
            pub fn from_name(name: &str) -> Result<Activation> {
                match name {
                    $( $name $(| $alias)* => Ok(Activation::$variant $(($default))?), )*
                    other => Err(Error::invalid(
                        "activation",
                        format!("unknown activation {other:?} (expected one of: {})", Activation::NAMES.join(", ")),
                    )),
                }
            }

            /// The canonical name.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Activation::$variant { .. } => $name, )*
                }
            }
        }
    };
}

/// Every activation parameter is an `f64` (the macro names it for documentation).
macro_rules! param_type {
    ($param:ident) => {
        f64
    };
}

activations! {
    /// Identity (Keras's `"linear"`, the default).
    #[default]
    Linear = "linear" | "none" => |x| Ok(x.clone());
    /// Logistic sigmoid.
    Sigmoid = "sigmoid" => |x| x.sigmoid();
    /// Hyperbolic tangent.
    Tanh = "tanh" => |x| x.tanh();
    /// max(x, 0).
    Relu = "relu" => |x| x.relu();
    /// x, or alpha x below 0 (Keras's default alpha is 0.2 for the layer, 0.3 in older versions).
    LeakyRelu(alpha = 0.2) = "leaky_relu" => |x, alpha| x.leaky_relu(alpha);
    /// x, or alpha (e^x - 1) below 0.
    Elu(alpha = 1.0) = "elu" => |x, alpha| x.elu(alpha);
    /// Scaled ELU (Klambauer et al. 2017): `scale * elu(x, alpha)` with the self-normalizing
    /// constants alpha = 1.6732632423543772, scale = 1.0507009873554805 (Keras's and PyTorch's).
    Selu = "selu" => |x| x.selu();
    /// Exact GELU.
    Gelu = "gelu" => |x| x.gelu();
    /// GELU, tanh approximation.
    GeluTanh = "gelu_tanh" => |x| x.gelu_tanh();
    /// ln(1 + e^x).
    Softplus = "softplus" => |x| x.softplus();
    /// Softmax over the last axis.
    Softmax = "softmax" => |x| x.softmax(-1);
    /// Log-softmax over the last axis.
    LogSoftmax = "log_softmax" => |x| x.log_softmax(-1);
    /// Clip to [-1, 1].
    HardTanh = "hard_tanh" => |x| x.hard_tanh();
    /// cos(x).
    Cos = "cos" => |x| x.cos();
    /// x sigmoid(x) (swish).
    Silu = "silu" | "swish" => |x| x.silu();
    /// Mish (Misra 2019): `x * tanh(softplus(x))`.
    Mish = "mish" => |x| x.mish();
    /// The perceptron's unit step (no gradient).
    Step = "step" => |x| x.step();
}

/// A spec's activation: its name (`activation = "relu"`).
impl<'de> serde::Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Activation::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// An activation as a spec writes it: its name. One whose parameter differs from the name's
/// default (`Activation::LeakyRelu(0.1)`) has no spec form and is an error, not a silent change.
impl serde::Serialize for Activation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match Activation::from_name(self.name()) {
            Ok(by_name) if by_name == *self => s.serialize_str(self.name()),
            _ => Err(serde::ser::Error::custom(format!(
                "{self:?} has no spec form: the spec names {} with its default parameter",
                self.name()
            ))),
        }
    }
}

/// Hyper-parameters of [`ActivationLayer`]: `{ type = "activation", activation = "softmax" }`.
#[derive(Clone, Debug, PartialEq, Default, serde::Deserialize, serde::Serialize)]
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

/// A dense layer's activation, fused into its linear op where the op can (ReLU, sigmoid, tanh).
impl<T: Element> crate::ops::AfterLinear<T> for Activation {
    fn fused(&self) -> Option<crate::ops::FusedActivation> {
        use crate::ops::FusedActivation;
        match self {
            Activation::Relu => Some(FusedActivation::Relu),
            Activation::Sigmoid => Some(FusedActivation::Sigmoid),
            Activation::Tanh => Some(FusedActivation::Tanh),
            _ => None,
        }
    }
    fn apply_unfused(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.apply(x)
    }
}
