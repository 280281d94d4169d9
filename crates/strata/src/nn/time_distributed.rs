//! Keras's `TimeDistributed`: one layer applied to every step of a sequence with the same
//! weights, by folding the steps into the batch (`[batch, steps, ...]` -> `[batch·steps, ...]`).

use super::{Layer, LayerConfig, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`TimeDistributed`] (`{ type = "time_distributed", layer = { type =
/// "dense", units = 10 } }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeDistributedConfig {
    /// The layer applied at each step.
    pub layer: Box<LayerConfig>,
    /// The layer's name (default "time_distributed", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

impl TimeDistributedConfig {
    /// `layer` at every step.
    pub fn new(layer: impl Into<LayerConfig>) -> Self {
        TimeDistributedConfig { layer: Box::new(layer.into()), name: None }
    }
}

impl super::LayerKind for TimeDistributedConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let Some((&steps, step_shape)) = input.dims().split_first().filter(|(_, rest)| !rest.is_empty()) else {
            return Err(Error::shape(
                &format!("layer '{name}'"),
                input,
                "TimeDistributed expects [steps, ...] per sample",
            ));
        };
        let step_shape = Shape::new(step_shape);
        let inner = self.layer.build::<T>(&step_shape, name.clone(), rng)?;
        let step_out = inner.output_shape(&step_shape)?;
        Ok(Box::new(TimeDistributed { inner, steps, step_shape, step_out, name }))
    }
}

/// A layer applied to each step (see [`TimeDistributedConfig`]); its weights are the inner
/// layer's, named after this one.
pub struct TimeDistributed<T: Element = f32> {
    inner: Box<dyn Layer<T>>,
    steps: usize,
    step_shape: Shape,
    step_out: Shape,
    name: String,
}

impl<T: Element> Layer<T> for TimeDistributed<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let expected = x.rank() == self.step_shape.rank() + 2 && x.dims()[2..] == *self.step_shape.dims();
        if !expected {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                format!(
                    "expected [batch, steps, {}]",
                    self.step_shape.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let (batch, steps) = (x.dims()[0], x.dims()[1]);
        let folded: Vec<usize> = std::iter::once(batch * steps).chain(self.step_shape.dims().iter().copied()).collect();
        let y = self.inner.forward(&x.reshape(folded)?, mode)?;
        let unfolded: Vec<usize> = [batch, steps].into_iter().chain(y.dims()[1..].iter().copied()).collect();
        y.reshape(unfolded)
    }

    fn passes_mask(&self) -> bool {
        true
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        if input.dims().first() != Some(&self.steps) || input.dims()[1..] != *self.step_shape.dims() {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected [{}, ...{}]", self.steps, self.step_shape),
            ));
        }
        Ok(Shape::new(std::iter::once(self.steps).chain(self.step_out.dims().iter().copied()).collect::<Vec<_>>()))
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.inner.params()
    }

    fn kind(&self) -> &'static str {
        "TimeDistributed"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        self.inner.penalty()
    }

    fn random_position(&self) -> Option<u128> {
        self.inner.random_position()
    }

    fn set_random_position(&self, position: u128) {
        self.inner.set_random_position(position);
    }
}
