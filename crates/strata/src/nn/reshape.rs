//! Reshape: each sample's elements laid out in a new shape (Keras's `Reshape(target_shape)`,
//! one axis of which may be -1, inferred from the others). The batch axis is kept.

use super::{Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`Reshape`]: `{ type = "reshape", target_shape = [7, -1] }`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReshapeConfig {
    /// The per-sample shape; at most one axis is -1 (inferred).
    pub target_shape: Vec<i64>,
    /// The layer's name (default "reshape", "reshape_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

impl ReshapeConfig {
    /// Reshape each sample to `target_shape` (one axis may be -1).
    pub fn new(target_shape: impl Into<Vec<i64>>) -> Self {
        ReshapeConfig { target_shape: target_shape.into(), name: None }
    }
}

impl super::LayerKind for ReshapeConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, _rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let layer = Reshape { target: self.target_shape.clone(), name };
        // Checked now, so a spec that cannot fit is refused when the model is built.
        layer.resolve(input)?;
        Ok(Box::new(layer))
    }
}

/// The reshape layer (see [`ReshapeConfig`]); it has no parameters.
pub struct Reshape {
    target: Vec<i64>,
    name: String,
}

impl Reshape {
    /// The target shape for a per-sample `input`, with -1 inferred.
    fn resolve(&self, input: &Shape) -> Result<Shape> {
        let context = format!("layer '{}'", self.name);
        let count = input.numel();
        let bad = |reason: String| Error::shape(&context, input, &reason);
        let inferred = self.target.iter().filter(|&&d| d == -1).count();
        if inferred > 1 || self.target.iter().any(|&d| d == 0 || d < -1) {
            return Err(bad(format!("target_shape {:?} must hold positive sizes and at most one -1", self.target)));
        }
        let known = self
            .target
            .iter()
            .filter(|&&d| d > 0)
            .try_fold(1usize, |acc, &d| usize::try_from(d).ok().and_then(|d| acc.checked_mul(d)))
            .ok_or_else(|| bad(format!("target_shape {:?} overflows", self.target)))?;
        let dims: Vec<usize> = if inferred == 1 {
            if !count.is_multiple_of(known) {
                return Err(bad(format!(
                    "{count} elements per sample do not divide into target_shape {:?}",
                    self.target
                )));
            }
            self.target.iter().map(|&d| if d == -1 { count / known } else { d as usize }).collect()
        } else {
            if known != count {
                return Err(bad(format!(
                    "{count} elements per sample cannot take target_shape {:?} ({known} elements)",
                    self.target
                )));
            }
            self.target.iter().map(|&d| d as usize).collect()
        };
        Ok(Shape::new(dims))
    }
}

impl<T: Element> Layer<T> for Reshape {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        let Some((&n, rest)) = x.dims().split_first() else {
            return Err(Error::shape(&format!("layer '{}'", self.name), x.shape(), "expected a batch axis"));
        };
        let target = self.resolve(&Shape::new(rest))?;
        x.reshape(std::iter::once(n).chain(target.dims().iter().copied()).collect::<Vec<_>>())
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        self.resolve(input)
    }
    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }
    fn kind(&self) -> &'static str {
        "Reshape"
    }
    fn name(&self) -> &str {
        &self.name
    }
}
