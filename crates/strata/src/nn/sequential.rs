//! `Sequential`: layers applied one after another, built against the input shape as they are
//! added, and the Keras-style `summary()` table.

use super::{Layer, LayerConfig, Mode, Param};
use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use std::collections::HashMap;

/// A stack of layers. Each is validated and its parameters drawn when added, so a shape error
/// appears at the line that caused it.
///
/// ```
/// use strata::nn::{Activation, DenseConfig, Sequential};
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
    name_counts: HashMap<&'static str, usize>,
}

/// One row of `summary()`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Layer name.
    pub name: String,
    /// Layer type.
    pub kind: String,
    /// Per-sample output shape.
    pub output_shape: Shape,
    /// Parameter count.
    pub params: usize,
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
            name_counts: HashMap::new(),
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
        let name = match config.requested_name() {
            Some(n) if self.layers.iter().any(|l| l.name() == n) => {
                return Err(Error::invalid(
                    "Sequential::add",
                    format!("layer name '{n}' is already used"),
                ))
            }
            Some(n) => n.to_string(),
            None => self.fresh_name(config.stem()),
        };
        let input = self.output_shape_now().clone();
        let layer = config.build::<T>(&input, name, &mut self.rng)?;
        let out = layer.output_shape(&input)?;
        self.layers.push(layer);
        self.shapes.push(out);
        self.configs.push(config);
        Ok(())
    }

    fn fresh_name(&mut self, stem: &'static str) -> String {
        loop {
            let count = self.name_counts.entry(stem).or_insert(0);
            let name = if *count == 0 {
                stem.to_string()
            } else {
                format!("{stem}_{count}")
            };
            *count += 1;
            if !self.layers.iter().any(|l| l.name() == name) {
                return name;
            }
        }
    }

    fn output_shape_now(&self) -> &Shape {
        self.shapes.last().unwrap_or(&self.input_shape)
    }

    /// The per-sample input shape.
    pub fn input_shape(&self) -> &Shape {
        &self.input_shape
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The configs the layers were built from.
    pub fn configs(&self) -> &[LayerConfig] {
        &self.configs
    }

    /// Total number of parameter elements.
    pub fn count_params(&self) -> usize {
        self.params().iter().map(|p| p.numel()).sum()
    }

    /// The rows of the summary table, the input first.
    pub fn summary_rows(&self) -> Vec<SummaryRow> {
        let input = SummaryRow {
            name: "input".into(),
            kind: "InputLayer".into(),
            output_shape: self.input_shape.clone(),
            params: 0,
        };
        let rows = self
            .layers
            .iter()
            .zip(&self.shapes)
            .map(|(l, s)| SummaryRow {
                name: l.name().to_string(),
                kind: l.kind().to_string(),
                output_shape: s.clone(),
                params: l.params().iter().map(|p| p.numel()).sum(),
            });
        std::iter::once(input).chain(rows).collect()
    }

    /// Keras's `summary()`: layer name and type, output shape, parameter count, then totals.
    pub fn summary(&self) -> String {
        let rule = "_".repeat(72);
        let thick = "=".repeat(72);
        let mut s = format!(
            "Model: \"sequential\"\n{rule}\n {:<34}{:<25}{:>10}\n{thick}\n",
            "Layer (type)", "Output Shape", "Param #"
        );
        for row in self.summary_rows() {
            let dims: Vec<String> = row
                .output_shape
                .dims()
                .iter()
                .map(|d| d.to_string())
                .collect();
            let shape = format!("(None, {})", dims.join(", "));
            s += &format!(
                " {:<34}{:<25}{:>10}\n",
                format!("{} ({})", row.name, row.kind),
                shape,
                group_thousands(row.params)
            );
        }
        let params = self.params();
        let trainable: usize = params
            .iter()
            .filter(|p| p.trainable())
            .map(|p| p.numel())
            .sum();
        let total = self.count_params();
        s += &format!(
            "{thick}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n{rule}\n",
            group_thousands(total),
            group_thousands(trainable),
            group_thousands(total - trainable)
        );
        s
    }
}

/// 4354 -> "4,354".
pub(crate) fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl<T: Element> Layer<T> for Sequential<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let expected = x
            .dims()
            .get(1..)
            .is_some_and(|d| d == self.input_shape.dims());
        if !expected {
            let want: Vec<String> = self
                .input_shape
                .dims()
                .iter()
                .map(|d| d.to_string())
                .collect();
            return Err(Error::shape(
                "Sequential input",
                x.shape(),
                format!("expected [*, {}]", want.join(", ")),
            ));
        }
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h, mode)?;
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
        let mut total: Option<Tensor<T>> = None;
        for layer in &self.layers {
            if let Some(p) = layer.penalty()? {
                total = Some(match total {
                    Some(t) => t.add(&p)?,
                    None => p,
                });
            }
        }
        Ok(total)
    }
}
