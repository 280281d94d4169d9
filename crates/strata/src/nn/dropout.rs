//! Dropout (inverted): in training each activation is zeroed with probability `rate` and the
//! survivors scaled by `1 / (1 - rate)`, so inference needs no rescaling and is the identity.

use super::{Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use rand::{Rng as _, RngCore};
use std::sync::Mutex;

/// Hyper-parameters of [`Dropout`]: `{ type = "dropout", rate = 0.5 }`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    /// Probability of dropping each unit, in [0, 1).
    pub rate: f64,
    /// Seed of the masks; `None` draws one from the model's generator.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The layer's name (default "dropout", "dropout_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

impl DropoutConfig {
    /// Dropout with rate `rate`.
    pub fn new(rate: f64) -> Self {
        DropoutConfig { rate, seed: None, name: None }
    }
}

impl super::LayerKind for DropoutConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, _input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(name, rng)?))
    }
}

impl DropoutConfig {
    /// Validate and build.
    ///
    /// # Errors
    /// When the rate is outside [0, 1).
    pub fn build(&self, name: String, rng: &mut Rng) -> Result<Dropout> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                format!("dropout rate must be in [0, 1), got {}", self.rate),
            ));
        }
        let seed = self.seed.unwrap_or_else(|| rng.next_u64());
        Ok(Dropout { rate: self.rate, name, rng: Mutex::new(seeded_rng(seed)) })
    }
}

/// Randomly zeroes activations while training (see the module docs).
pub struct Dropout {
    rate: f64,
    name: String,
    rng: Mutex<Rng>,
}

impl<T: Element> Layer<T> for Dropout {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        if mode == Mode::Infer || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let scale = T::of(1.0 / keep);
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mask: Vec<T> = (0..x.numel()).map(|_| if rng.gen::<f64>() < keep { scale } else { T::zero() }).collect();
        x.mul(&Tensor::from_vec(mask, x.shape().clone())?)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        Ok(input.clone())
    }
    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn random_position(&self) -> Option<u128> {
        Some(self.rng.lock().unwrap_or_else(|p| p.into_inner()).get_word_pos())
    }
    fn set_random_position(&self, position: u128) {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).set_word_pos(position);
    }
    fn name(&self) -> &str {
        &self.name
    }
}
