//! DropConnect (Wan et al. 2013; lecture 000): a dense layer whose *weights*, not activations,
//! are dropped while training: `y = act(x · (W ⊙ M) / (1 - rate) + b)` with a fresh Bernoulli
//! mask `M` per batch. At inference the full `W` is used.

use super::{Dense, DenseConfig, Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use rand::{Rng as _, RngCore};
use std::sync::Mutex;

/// Hyper-parameters of [`DropConnect`]: a dense layer's, plus the drop rate. The spec writes
/// them flat: `{ type = "drop_connect", units = 64, rate = 0.5, activation = "relu" }`, with
/// every key of `dense` (initializers, regularizers, `use_bias`) beside them.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(from = "DropConnectFields", into = "DropConnectFields")]
pub struct DropConnectConfig {
    /// The dense layer whose kernel is dropped.
    pub dense: DenseConfig,
    /// Probability of dropping each weight, in [0, 1).
    pub rate: f64,
    /// Seed of the masks; `None` draws one from the model's generator.
    pub seed: Option<u64>,
}

/// The spec's flat form of [`DropConnectConfig`]: the dense layer's keys, the rate and seed.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct DropConnectFields {
    #[serde(flatten)]
    dense: DenseConfig,
    rate: f64,
    #[serde(default)]
    seed: Option<u64>,
}

impl From<DropConnectFields> for DropConnectConfig {
    fn from(f: DropConnectFields) -> Self {
        DropConnectConfig { dense: f.dense, rate: f.rate, seed: f.seed }
    }
}

impl From<DropConnectConfig> for DropConnectFields {
    fn from(c: DropConnectConfig) -> Self {
        DropConnectFields { dense: c.dense, rate: c.rate, seed: c.seed }
    }
}

impl super::LayerKind for DropConnectConfig {
    fn requested_name(&self) -> Option<&str> {
        self.dense.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

impl DropConnectConfig {
    /// DropConnect over `dense` with `rate`.
    pub fn new(dense: DenseConfig, rate: f64) -> Self {
        DropConnectConfig { dense, rate, seed: None }
    }

    /// Validate and build.
    ///
    /// # Errors
    /// When the rate is outside [0, 1) or the dense part is invalid.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<DropConnect<T>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                format!("drop-connect rate must be in [0, 1), got {}", self.rate),
            ));
        }
        let dense = self.dense.build(input, name, rng)?;
        let seed = self.seed.unwrap_or_else(|| rng.next_u64());
        Ok(DropConnect { dense, activation: self.dense.activation, rate: self.rate, rng: Mutex::new(seeded_rng(seed)) })
    }
}

/// A dense layer with DropConnect (see the module docs).
pub struct DropConnect<T: Element = f32> {
    dense: Dense<T>,
    activation: super::Activation,
    rate: f64,
    rng: Mutex<Rng>,
}

impl<T: Element> Layer<T> for DropConnect<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        if mode == Mode::Infer || self.rate == 0.0 {
            return self.dense.forward(x, mode);
        }
        // Shape checks are Dense's; only the kernel differs.
        self.dense.output_shape(&Shape::new(&x.dims()[1..]))?;
        let kernel = self.dense.kernel().value();
        let keep = 1.0 - self.rate;
        let scale = T::of(1.0 / keep);
        let mask: Vec<T> = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            (0..kernel.numel()).map(|_| if rng.gen::<f64>() < keep { scale } else { T::zero() }).collect()
        };
        let mut y = x.matmul(&kernel.mul(&Tensor::from_vec(mask, kernel.shape().clone())?)?)?;
        if let Some(bias) = self.dense.bias() {
            y = y.add(&bias.value())?;
        }
        self.activation.apply(&y)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        self.dense.output_shape(input)
    }
    fn params(&self) -> Vec<&Param<T>> {
        self.dense.params()
    }
    fn kind(&self) -> &'static str {
        "DropConnect"
    }
    fn random_position(&self) -> Option<u128> {
        Some(self.rng.lock().unwrap_or_else(|p| p.into_inner()).get_word_pos())
    }
    fn set_random_position(&self, position: u128) {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).set_word_pos(position);
    }
    fn name(&self) -> &str {
        self.dense.name()
    }
    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        self.dense.penalty()
    }
}
