//! Maxout (Goodfellow et al. 2013; lecture 000): `units` outputs, each the maximum of `pieces`
//! affine functions of the input: `y_j = max_i (x · W_{j,i} + b_{j,i})`. The gradient flows
//! through the winning piece only.

use super::dense::glorot_uniform;
use super::{Dense, DenseConfig, Initializer, Layer, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`Maxout`]: `{ type = "maxout", units = 16, pieces = 3 }`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaxoutConfig {
    /// Output width.
    pub units: usize,
    /// Affine pieces per output (k >= 2).
    pub pieces: usize,
    /// Kernel start (default Glorot uniform over `[inputs, units * pieces]`).
    #[serde(default = "glorot_uniform")]
    pub kernel_initializer: Initializer,
    /// The layer's name (default "maxout", "maxout_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

impl MaxoutConfig {
    /// Maxout with `units` outputs of `pieces` pieces each.
    pub fn new(units: usize, pieces: usize) -> Self {
        MaxoutConfig { units, pieces, kernel_initializer: Initializer::GlorotUniform, name: None }
    }
}

impl super::LayerKind for MaxoutConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

impl MaxoutConfig {
    /// Validate and build.
    ///
    /// # Errors
    /// When `units` is 0, `pieces` < 2, or the input is not a vector.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Maxout<T>> {
        if self.pieces < 2 {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                format!("maxout needs pieces >= 2, got {}", self.pieces),
            ));
        }
        let width = self
            .units
            .checked_mul(self.pieces)
            .ok_or_else(|| Error::invalid(format!("layer '{name}'"), "units x pieces overflows"))?;
        let linear = DenseConfig::new(width).kernel_initializer(self.kernel_initializer);
        if self.units == 0 {
            return Err(Error::invalid(format!("layer '{name}'"), "units must be > 0, got 0"));
        }
        Ok(Maxout { linear: linear.build(input, name, rng)?, units: self.units, pieces: self.pieces })
    }
}

/// The maxout layer (see the module docs). Its parameters are one kernel `[inputs, units * pieces]`
/// and one bias, output `j`'s pieces being columns `j * pieces .. (j + 1) * pieces`.
pub struct Maxout<T: Element = f32> {
    linear: Dense<T>,
    units: usize,
    pieces: usize,
}

impl<T: Element> Layer<T> for Maxout<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let z = self.linear.forward(x, mode)?;
        let n = z.dims()[0];
        z.reshape([n, self.units, self.pieces])?.max_axis(-1, false)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        self.linear.output_shape(input)?;
        Ok(Shape::new([self.units]))
    }
    fn params(&self) -> Vec<&Param<T>> {
        self.linear.params()
    }
    fn kind(&self) -> &'static str {
        "Maxout"
    }
    fn name(&self) -> &str {
        self.linear.name()
    }
}
