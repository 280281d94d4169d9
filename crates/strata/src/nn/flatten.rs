//! Flatten: each sample's axes joined into one (`[n, 28, 28]` -> `[n, 784]`).

use super::{Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`Flatten`] (none but the name): `{ type = "flatten" }`.
#[derive(Clone, Debug, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlattenConfig {
    /// The layer's name (default "flatten", "flatten_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

impl super::LayerKind for FlattenConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(
        &self,
        _input: &Shape,
        name: String,
        _rng: &mut crate::rng::Rng,
    ) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(Flatten::new(name)))
    }
}

/// Joins every axis but the batch axis.
pub struct Flatten {
    name: String,
}

impl Flatten {
    /// A flatten layer.
    pub fn new(name: impl Into<String>) -> Self {
        Flatten { name: name.into() }
    }
}

impl<T: Element> Layer<T> for Flatten {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        let Some((&n, rest)) = x.dims().split_first() else {
            return Err(Error::shape(&format!("layer '{}'", self.name), x.shape(), "expected a batch axis"));
        };
        x.reshape([n, rest.iter().product()])
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let n = input.dims().iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        n.map(|n| Shape::new([n]))
            .ok_or_else(|| Error::shape(&format!("layer '{}'", self.name), input, "the element count overflows"))
    }
    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn name(&self) -> &str {
        &self.name
    }
}
