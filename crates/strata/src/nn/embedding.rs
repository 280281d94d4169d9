//! Keras's `Embedding` (a learned vector per token index, `embeddings [input_dim, output_dim]`)
//! and `Masking` (steps whose features all equal `mask_value` are padding): the two layers that
//! start a step mask, which recurrent layers then honour.

use super::{Initializer, Layer, Mode, Param, Regularizer, StepMask};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of [`Embedding`], with Keras's names and defaults (`{ type = "embedding",
/// input_dim = 65, output_dim = 32 }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Size of the vocabulary: indices are `0..input_dim`.
    pub input_dim: usize,
    /// Length of each vector.
    pub output_dim: usize,
    /// Start of the vectors (default Keras's "uniform", U(-0.05, 0.05)).
    #[serde(default = "uniform")]
    pub embeddings_initializer: Initializer,
    /// Penalty on the vectors.
    #[serde(default)]
    pub embeddings_regularizer: Option<Regularizer>,
    /// Index 0 is padding: later layers see a mask that skips it (default false).
    #[serde(default)]
    pub mask_zero: bool,
    /// The layer's name (default "embedding", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

fn uniform() -> Initializer {
    Initializer::Uniform { low: -0.05, high: 0.05 }
}

impl EmbeddingConfig {
    /// `input_dim` tokens to vectors of `output_dim`.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        EmbeddingConfig {
            input_dim,
            output_dim,
            embeddings_initializer: uniform(),
            embeddings_regularizer: None,
            mask_zero: false,
            name: None,
        }
    }

    /// Treat index 0 as padding.
    pub fn mask_zero(mut self, yes: bool) -> Self {
        self.mask_zero = yes;
        self
    }

    /// Set the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl super::LayerKind for EmbeddingConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let what = format!("layer '{name}'");
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::invalid(what, "input_dim and output_dim must be at least 1"));
        }
        if input.rank() == 0 {
            return Err(Error::shape(&what, input, "Embedding expects token indices per sample, e.g. [steps]"));
        }
        if self.mask_zero && input.rank() != 1 {
            return Err(Error::shape(&what, input, "mask_zero needs one sequence [steps] of indices per sample"));
        }
        let weights = self.input_dim.saturating_mul(self.output_dim);
        if weights > super::MAX_LAYER_PARAMS {
            return Err(Error::invalid(
                what,
                format!("{weights} weights exceed the cap of {} per layer", super::MAX_LAYER_PARAMS),
            ));
        }
        crate::memory::check(
            &what,
            (weights as u64).saturating_mul(T::BYTES as u64),
            &format!("{} tokens x {} dimensions", self.input_dim, self.output_dim),
        )?;
        if let Some(r) = self.embeddings_regularizer {
            r.validate().map_err(|e| Error::invalid(what.clone(), e.to_string()))?;
        }
        let table = self.embeddings_initializer.init(&Shape::new([self.input_dim, self.output_dim]), rng)?;
        Ok(Box::new(Embedding { config: self.clone(), embeddings: Param::new("embeddings", table, true), name }))
    }
}

/// A table of learned vectors looked up by token index (see [`EmbeddingConfig`]). Indices come
/// as numbers in the input tensor; each must be a whole number in `0..input_dim`.
pub struct Embedding<T: Element = f32> {
    config: EmbeddingConfig,
    embeddings: Param<T>,
    name: String,
}

impl<T: Element> Embedding<T> {
    /// The table `[input_dim, output_dim]`.
    pub fn embeddings(&self) -> &Param<T> {
        &self.embeddings
    }

    /// The indices of a batch, checked: an error names the first bad one, where it is, and the
    /// range (a silent read past the table, or a truncated fraction, would be a wrong result).
    fn indices(&self, x: &Tensor<T>) -> Result<Vec<usize>> {
        let per_sample: usize = x.dims().iter().skip(1).product();
        let bound = self.config.input_dim;
        x.data()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let f = v.f64();
                if f >= 0.0 && f < bound as f64 && f.fract() == 0.0 {
                    Ok(f as usize)
                } else {
                    Err(Error::invalid(
                        format!("layer '{}'", self.name),
                        format!(
                            "token index {f} at sample {}, position {} is not a whole number in 0..{bound} \
                             (input_dim = {bound}: raise it to the vocabulary size)",
                            i / per_sample.max(1),
                            i % per_sample.max(1)
                        ),
                    ))
                }
            })
            .collect()
    }
}

impl<T: Element> Layer<T> for Embedding<T> {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        let indices = self.indices(x)?;
        let mut dims = x.dims().to_vec();
        dims.push(self.config.output_dim);
        self.embeddings.value().index_select(&indices)?.reshape(dims)
    }

    fn output_masked(&self, _input_masked: bool) -> Result<bool> {
        Ok(self.config.mask_zero)
    }

    fn forward_masked(
        &self,
        x: &Tensor<T>,
        _mask: Option<&StepMask>,
        mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        let out = self.forward(x, mode)?;
        let mask = self.config.mask_zero.then(|| x.data().iter().map(|&v| v != T::zero()).collect());
        Ok((out, mask))
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let mut dims = input.dims().to_vec();
        dims.push(self.config.output_dim);
        Ok(Shape::new(dims))
    }

    fn params(&self) -> Vec<&Param<T>> {
        vec![&self.embeddings]
    }

    fn kind(&self) -> &'static str {
        "Embedding"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::params_penalty([(self.config.embeddings_regularizer, Some(&self.embeddings))])
    }
}

/// Hyper-parameters of [`Masking`] (`{ type = "masking", mask_value = 0.0 }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingConfig {
    /// A step whose every feature equals this is padding (default 0).
    #[serde(default)]
    pub mask_value: f64,
    /// The layer's name (default "masking", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

impl super::LayerKind for MaskingConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, _rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        if input.rank() != 2 {
            return Err(Error::shape(
                &format!("layer '{name}'"),
                input,
                "Masking expects [steps, features] per sample",
            ));
        }
        Ok(Box::new(Masking { mask_value: self.mask_value, name }))
    }
}

/// Marks padding steps (every feature equal to `mask_value`) for the layers after it and
/// zeroes them, as Keras's `Masking` does.
pub struct Masking {
    mask_value: f64,
    name: String,
}

impl Masking {
    fn step_mask<T: Element>(&self, x: &Tensor<T>) -> Result<StepMask> {
        let &[_, _, features] = x.dims() else {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                "expected [batch, steps, features]",
            ));
        };
        let value = T::of(self.mask_value);
        Ok(x.data().chunks(features.max(1)).map(|step| step.iter().any(|&v| v != value)).collect())
    }
}

impl<T: Element> Layer<T> for Masking {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        Ok(self.forward_masked(x, None, mode)?.0)
    }

    fn output_masked(&self, _input_masked: bool) -> Result<bool> {
        Ok(true)
    }

    fn forward_masked(
        &self,
        x: &Tensor<T>,
        _mask: Option<&StepMask>,
        _mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        let mask = self.step_mask(x)?;
        let out = x.mul(&super::mask_factors(&mask, x.dims()[0], x.dims()[1])?)?;
        Ok((out, Some(mask)))
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        Ok(input.clone())
    }

    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }

    fn kind(&self) -> &'static str {
        "Masking"
    }

    fn name(&self) -> &str {
        &self.name
    }
}
