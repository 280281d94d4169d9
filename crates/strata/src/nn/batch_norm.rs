//! Keras's `BatchNormalization` over the last axis: in training each channel is normalized
//! with this batch's mean and biased variance (one fused op, [`Tensor::batch_norm`]) and the
//! moving statistics follow `moving = momentum·moving + (1 - momentum)·batch`, as Keras 3 does
//! (the biased variance, where PyTorch keeps the unbiased one); in inference the moving ones
//! are used. Weights, in Keras's order and names: `gamma`, `beta` (trainable, when `scale` and
//! `center`), `moving_mean`, `moving_variance` (saved, not trained: the summary counts them as
//! non-trainable).

use super::dense::{yes, zeros};
use super::{Initializer, Layer, Mode, Param, Regularizer};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`BatchNormalization`], with Keras's names and defaults
/// (`{ type = "batch_normalization" }`: momentum 0.99, epsilon 1e-3).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormalizationConfig {
    /// The normalized axis: only the last (-1, Keras's default, channels-last) is supported.
    #[serde(default = "last_axis")]
    pub axis: i64,
    /// Weight of the old moving statistics in each update, in [0, 1] (default 0.99).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Added to the variance before the square root, > 0 (default 1e-3).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// Whether there is a learned shift `beta` (default true).
    #[serde(default = "yes")]
    pub center: bool,
    /// Whether there is a learned scale `gamma` (default true).
    #[serde(default = "yes")]
    pub scale: bool,
    /// Start of `beta` (default zeros).
    #[serde(default = "zeros")]
    pub beta_initializer: Initializer,
    /// Start of `gamma` (default ones).
    #[serde(default = "ones")]
    pub gamma_initializer: Initializer,
    /// Start of `moving_mean` (default zeros).
    #[serde(default = "zeros")]
    pub moving_mean_initializer: Initializer,
    /// Start of `moving_variance` (default ones).
    #[serde(default = "ones")]
    pub moving_variance_initializer: Initializer,
    /// Penalty on `beta`.
    #[serde(default)]
    pub beta_regularizer: Option<Regularizer>,
    /// Penalty on `gamma`.
    #[serde(default)]
    pub gamma_regularizer: Option<Regularizer>,
    /// The layer's name (default "batch_normalization", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

fn last_axis() -> i64 {
    -1
}
fn default_momentum() -> f64 {
    0.99
}
fn default_epsilon() -> f64 {
    1e-3
}
fn ones() -> Initializer {
    Initializer::Ones
}

impl Default for BatchNormalizationConfig {
    fn default() -> Self {
        BatchNormalizationConfig {
            axis: -1,
            momentum: default_momentum(),
            epsilon: default_epsilon(),
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            beta_regularizer: None,
            gamma_regularizer: None,
            name: None,
        }
    }
}

impl BatchNormalizationConfig {
    /// Set the momentum.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Set epsilon.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Set whether there are `beta` (center) and `gamma` (scale).
    pub fn center_scale(mut self, center: bool, scale: bool) -> Self {
        self.center = center;
        self.scale = scale;
        self
    }

    /// Validate against the per-sample input shape and create the layer.
    ///
    /// # Errors
    /// When the axis is not the last, momentum is outside [0, 1], epsilon is not > 0, or the
    /// input has no axis.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<BatchNormalization<T>> {
        let what = format!("layer '{name}'");
        let rank = input.rank() as i64;
        if rank == 0 {
            return Err(Error::shape(&what, input, "BatchNormalization needs at least one axis per sample"));
        }
        if self.axis != -1 && self.axis != rank {
            return Err(Error::invalid(
                what,
                format!("axis {} is not supported: only the last axis (-1, channels-last) is normalized", self.axis),
            ));
        }
        crate::error::check_range(&what, "momentum", self.momentum, (0.0..=1.0).contains(&self.momentum), "in [0, 1]")?;
        crate::error::check_range(&what, "epsilon", self.epsilon, self.epsilon > 0.0, "finite and > 0")?;
        for regularizer in [self.beta_regularizer, self.gamma_regularizer].iter().flatten() {
            regularizer.validate().map_err(|e| Error::invalid(what.clone(), e.to_string()))?;
        }
        let channels = input.dims()[input.rank() - 1];
        let shape = Shape::new([channels]);
        let param = |label: &str, init: Initializer, trainable: bool, rng: &mut Rng| -> Result<Param<T>> {
            Ok(Param::new(label, init.init(&shape, rng)?, trainable))
        };
        Ok(BatchNormalization {
            config: self.clone(),
            channels,
            gamma: if self.scale { Some(param("gamma", self.gamma_initializer, true, rng)?) } else { None },
            beta: if self.center { Some(param("beta", self.beta_initializer, true, rng)?) } else { None },
            moving_mean: param("moving_mean", self.moving_mean_initializer, false, rng)?,
            moving_variance: param("moving_variance", self.moving_variance_initializer, false, rng)?,
            name,
        })
    }
}

impl super::LayerKind for BatchNormalizationConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

/// A batch normalization layer (see [`BatchNormalizationConfig`]).
pub struct BatchNormalization<T: Element = f32> {
    config: BatchNormalizationConfig,
    channels: usize,
    gamma: Option<Param<T>>,
    beta: Option<Param<T>>,
    moving_mean: Param<T>,
    moving_variance: Param<T>,
    name: String,
}

impl<T: Element> BatchNormalization<T> {
    /// The moving mean `[channels]`.
    pub fn moving_mean(&self) -> &Param<T> {
        &self.moving_mean
    }

    /// The moving variance `[channels]`.
    pub fn moving_variance(&self) -> &Param<T> {
        &self.moving_variance
    }
}

impl<T: Element> Layer<T> for BatchNormalization<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        if x.rank() < 2 || x.dims()[x.rank() - 1] != self.channels {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                format!("expected input [batch, ..., {}]", self.channels),
            ));
        }
        let (gamma, beta) = (self.gamma.as_ref().map(Param::value), self.beta.as_ref().map(Param::value));
        if mode == Mode::Train {
            let out = x.batch_norm(gamma.as_ref(), beta.as_ref(), self.config.epsilon)?;
            let momentum = self.config.momentum;
            for (param, batch) in [(&self.moving_mean, &out.mean), (&self.moving_variance, &out.variance)] {
                param.update(|moving| {
                    for (m, &b) in moving.iter_mut().zip(batch) {
                        *m = T::of(momentum * m.f64() + (1.0 - momentum) * b);
                    }
                });
            }
            return Ok(out.y);
        }
        // Inference: y = x·a + b with a = γ/√(moving variance + ε), b = β - moving mean·a, built
        // from differentiable ops so gradients reach x, γ and β.
        let inv_std: Vec<T> = self
            .moving_variance
            .value()
            .data()
            .iter()
            .map(|v| T::of(1.0 / (v.f64() + self.config.epsilon).sqrt()))
            .collect();
        let inv_std = Tensor::from_vec(inv_std, [self.channels])?;
        let a = match &gamma {
            Some(g) => g.mul(&inv_std)?,
            None => inv_std,
        };
        let shift = self.moving_mean.value().mul(&a)?.neg()?;
        let b = match &beta {
            Some(beta) => beta.add(&shift)?,
            None => shift,
        };
        x.mul(&a)?.add(&b)
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        match input.dims().last() {
            Some(&c) if c == self.channels => Ok(input.clone()),
            _ => Err(Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected {} channels on the last axis", self.channels),
            )),
        }
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.gamma.iter().chain(&self.beta).chain([&self.moving_mean, &self.moving_variance]).collect()
    }

    fn kind(&self) -> &'static str {
        "BatchNormalization"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::params_penalty([
            (self.config.gamma_regularizer, self.gamma.as_ref()),
            (self.config.beta_regularizer, self.beta.as_ref()),
        ])
    }
}
