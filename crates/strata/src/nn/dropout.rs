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
        Ok(Dropout { rate: self.rate, name, rng: Mutex::new(seeded_rng(seed)), spatial_axes: 0 })
    }
}

/// Hyper-parameters of Keras's `SpatialDropout1D` (`RANK` 1) and `SpatialDropout2D` (`RANK`
/// 2): `{ type = "spatial_dropout2d", rate = 0.2 }`. Whole channels are dropped: one draw per
/// sample and channel, shared by every step or pixel (Keras's noise shape `[n, 1, 1, c]`),
/// since neighbouring activations of a feature map are too alike for elementwise dropout to
/// regularize.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpatialDropoutConfig<const RANK: usize> {
    /// Probability of dropping each channel, in [0, 1).
    pub rate: f64,
    /// Seed of the masks; `None` draws one from the model's generator.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The layer's name (default "spatial_dropout2d", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

/// [`SpatialDropoutConfig`] over steps `[steps, channels]`.
pub type SpatialDropout1DConfig = SpatialDropoutConfig<1>;
/// [`SpatialDropoutConfig`] over images `[height, width, channels]`.
pub type SpatialDropout2DConfig = SpatialDropoutConfig<2>;

impl<const RANK: usize> SpatialDropoutConfig<RANK> {
    /// Spatial dropout with rate `rate`.
    pub fn new(rate: f64) -> Self {
        SpatialDropoutConfig { rate, seed: None, name: None }
    }
}

impl<const RANK: usize> super::LayerKind for SpatialDropoutConfig<RANK> {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let plain = DropoutConfig { rate: self.rate, seed: self.seed, name: None };
        let layer = Dropout { spatial_axes: RANK, ..plain.build(name, rng)? };
        <Dropout as Layer<T>>::output_shape(&layer, input)?;
        Ok(Box::new(layer))
    }
}

/// Randomly zeroes activations while training (see the module docs).
pub struct Dropout {
    rate: f64,
    name: String,
    rng: Mutex<Rng>,
    /// Spatial axes that share one draw (0: every element its own, 1 or 2: spatial dropout).
    spatial_axes: usize,
}

impl<T: Element> Layer<T> for Dropout {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        if mode == Mode::Infer || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let scale = T::of(1.0 / keep);
        let mask_shape = match self.spatial_axes {
            0 => x.shape().clone(),
            _ => {
                <Self as Layer<T>>::output_shape(self, &Shape::new(x.dims().get(1..).unwrap_or(&[])))?;
                let (n, c) = (x.dims()[0], x.dims()[x.rank() - 1]);
                Shape::new(
                    [n].into_iter().chain(std::iter::repeat_n(1, self.spatial_axes)).chain([c]).collect::<Vec<_>>(),
                )
            }
        };
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mask: Vec<T> =
            (0..mask_shape.numel()).map(|_| if rng.gen::<f64>() < keep { scale } else { T::zero() }).collect();
        x.mul(&Tensor::from_vec(mask, mask_shape)?)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        if self.spatial_axes > 0 && input.rank() != self.spatial_axes + 1 {
            let expected = if self.spatial_axes == 1 { "[steps, channels]" } else { "[height, width, channels]" };
            return Err(crate::Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected {expected} per sample"),
            ));
        }
        Ok(input.clone())
    }
    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }
    fn kind(&self) -> &'static str {
        match self.spatial_axes {
            0 => "Dropout",
            1 => "SpatialDropout1D",
            _ => "SpatialDropout2D",
        }
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
