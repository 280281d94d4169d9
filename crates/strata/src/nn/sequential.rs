//! `Sequential`: layers applied one after another, built against the input shape as they are
//! added, and the Keras-style `summary()` table.

use super::{Layer, LayerConfig, LayerNames, Mode, Network, Param, SummaryRow};
use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// A stack of layers. Each is validated and its parameters drawn when added, so a shape error
/// appears at the line that caused it.
///
/// ```
/// use strata::nn::{Activation, DenseConfig, Network, Sequential};
/// let net = Sequential::<f32>::new([2], 42)
///     .add(DenseConfig::new(32).activation(Activation::Relu).name("hidden1")).unwrap()
///     .add(DenseConfig::new(2).name("output")).unwrap();
/// assert_eq!(net.count_params(), 96 + 66);
/// ```
pub struct Sequential<T: Element = f32> {
    input_shape: Shape,
    layers: Vec<Box<dyn Layer<T>>>,
    shapes: Vec<Shape>,
    configs: Vec<LayerConfig>,
    rng: Rng,
    names: LayerNames,
    /// Whether the last layer's output carries a step mask.
    masked: bool,
}

impl<T: Element> Sequential<T> {
    /// An empty stack for samples of `input_shape` (no batch axis); `seed` draws every
    /// layer's initial weights and dropout masks.
    pub fn new(input_shape: impl Into<Shape>, seed: u64) -> Self {
        Sequential {
            input_shape: input_shape.into(),
            layers: Vec::new(),
            shapes: Vec::new(),
            configs: Vec::new(),
            rng: seeded_rng(seed),
            names: LayerNames::default(),
            masked: false,
        }
    }

    /// Add a layer built from its config against the current output shape (Keras's `add`).
    ///
    /// # Errors
    /// When the config is invalid, the shape does not fit, or the name is taken.
    #[allow(clippy::should_implement_trait)] // Keras's name; `+` on models would mean nothing
    pub fn add(mut self, config: impl Into<LayerConfig>) -> Result<Self> {
        self.push(config.into())?;
        Ok(self)
    }

    /// [`Sequential::add`] on a mutable reference.
    ///
    /// # Errors
    /// As [`Sequential::add`].
    pub fn push(&mut self, config: LayerConfig) -> Result<()> {
        let name = self.names.claim(config.requested_name(), config.stem())?;
        let input = self.output_shape_now().clone();
        let previous = self.layers.last().map_or("input", |l| l.name()).to_string();
        // The error names both ends of the chain: which layer could not follow which.
        let context = |e: Error| match e {
            Error::InvalidShape { op, shape, reason } => {
                Error::InvalidShape { op: format!("{op} (after '{previous}', whose output is {input})"), shape, reason }
            }
            other => other,
        };
        let layer = config.build::<T>(&input, name, &mut self.rng).map_err(context)?;
        let out = layer.output_shape(&input).map_err(context)?;
        self.masked = layer.output_masked(self.masked)?;
        self.layers.push(layer);
        self.shapes.push(out);
        self.configs.push(config);
        Ok(())
    }

    fn output_shape_now(&self) -> &Shape {
        self.shapes.last().unwrap_or(&self.input_shape)
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The configs the layers were built from.
    pub fn configs(&self) -> &[LayerConfig] {
        &self.configs
    }
}

impl<T: Element> Layer<T> for Sequential<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let expected = x.dims().get(1..).is_some_and(|d| d == self.input_shape.dims());
        if !expected {
            let want: Vec<String> = self.input_shape.dims().iter().map(|d| d.to_string()).collect();
            return Err(Error::shape("Sequential input", x.shape(), format!("expected [*, {}]", want.join(", "))));
        }
        let (mut h, mut mask) = (x.clone(), None);
        for layer in &self.layers {
            (h, mask) = layer.forward_masked(&h, mask.as_ref(), mode)?;
        }
        Ok(h)
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let mut shape = input.clone();
        for layer in &self.layers {
            shape = layer.output_shape(&shape)?;
        }
        Ok(shape)
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    fn kind(&self) -> &'static str {
        "Sequential"
    }

    fn name(&self) -> &str {
        "sequential"
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::sum_penalties(self.layers.iter().map(|l| l.penalty()))
    }
}

impl<T: Element> Network<T> for Sequential<T> {
    fn input_shape(&self) -> &Shape {
        &self.input_shape
    }

    fn each_layer(&self) -> Vec<&dyn Layer<T>> {
        self.layers.iter().map(|l| l.as_ref()).collect()
    }

    fn named_params(&self) -> Vec<(String, &Param<T>)> {
        self.layers.iter().flat_map(|l| super::named_layer_params(l.as_ref())).collect()
    }

    fn summary_rows(&self) -> Vec<SummaryRow> {
        let input = SummaryRow::input(&self.input_shape);
        let rows = self.layers.iter().zip(&self.shapes).map(|(l, s)| SummaryRow::of(l.as_ref(), s));
        std::iter::once(input).chain(rows).collect()
    }
}
