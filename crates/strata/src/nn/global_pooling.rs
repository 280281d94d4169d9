//! Keras's `GlobalAveragePooling1D/2D` and `GlobalMaxPooling1D/2D`: the mean or the maximum of
//! each channel over every position, `[steps, c]` or `[h, w, c]` per sample to `[c]` (or, with
//! `keepdims`, `[1, c]` and `[1, 1, c]`). No weights. One config type for the four kinds, told
//! apart by const parameters, so each is its own row in the registry. `GlobalAveragePooling1D`
//! takes a step mask as Keras's does: the mean over the real steps only.

use super::{Layer, Mode, Param, StepMask};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of a global pooling layer (`{ type = "global_average_pooling2d" }`).
/// `MAX` is true for the maximum; `RANK` is the number of spatial axes (1 or 2).
#[derive(Clone, Debug, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalPoolingConfig<const MAX: bool, const RANK: usize> {
    /// Keep the pooled axes as size 1 (default false, as Keras).
    #[serde(default)]
    pub keepdims: bool,
    /// The layer's name (default: the kind's snake_case name, numbered).
    #[serde(default)]
    pub name: Option<String>,
}

/// [`GlobalPoolingConfig`] for the mean over steps.
pub type GlobalAveragePooling1DConfig = GlobalPoolingConfig<false, 1>;
/// [`GlobalPoolingConfig`] for the mean over height and width.
pub type GlobalAveragePooling2DConfig = GlobalPoolingConfig<false, 2>;
/// [`GlobalPoolingConfig`] for the maximum over steps.
pub type GlobalMaxPooling1DConfig = GlobalPoolingConfig<true, 1>;
/// [`GlobalPoolingConfig`] for the maximum over height and width.
pub type GlobalMaxPooling2DConfig = GlobalPoolingConfig<true, 2>;

impl<const MAX: bool, const RANK: usize> super::LayerKind for GlobalPoolingConfig<MAX, RANK> {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, _rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let layer = GlobalPooling { max: MAX, rank: RANK, keepdims: self.keepdims, name };
        <GlobalPooling as Layer<T>>::output_shape(&layer, input)?;
        Ok(Box::new(layer))
    }
}

/// A global pooling layer (see [`GlobalPoolingConfig`]).
pub struct GlobalPooling {
    max: bool,
    rank: usize,
    keepdims: bool,
    name: String,
}

impl<T: Element> Layer<T> for GlobalPooling {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        let per_sample = Shape::new(x.dims().get(1..).unwrap_or(&[]));
        let out = <Self as Layer<T>>::output_shape(self, &per_sample)?;
        let (n, c) = (x.dims()[0], per_sample.dims()[self.rank]);
        let positions = per_sample.numel() / c.max(1);
        let flat = x.reshape([n, positions, c])?;
        let pooled = if self.max { flat.max_axis(1, false)? } else { flat.mean_axis(1, false)? };
        pooled.reshape(std::iter::once(n).chain(out.dims().iter().copied()).collect::<Vec<_>>())
    }

    fn output_masked(&self, input_masked: bool) -> Result<bool> {
        match (input_masked, self.max || self.rank != 1) {
            (true, true) => Err(Error::invalid(
                format!("layer '{}'", self.name),
                format!(
                    "{} cannot use the step mask of the layers before it: use global_average_pooling1d, which \
                     averages the real steps only",
                    <Self as Layer<T>>::kind(self)
                ),
            )),
            _ => Ok(false),
        }
    }

    fn forward_masked(
        &self,
        x: &Tensor<T>,
        mask: Option<&StepMask>,
        mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        let Some(mask) = mask else {
            return Ok((self.forward(x, mode)?, None));
        };
        <Self as Layer<T>>::output_masked(self, true)?;
        let per_sample = Shape::new(x.dims().get(1..).unwrap_or(&[]));
        let out = <Self as Layer<T>>::output_shape(self, &per_sample)?;
        let (n, steps) = (x.dims()[0], per_sample.dims()[0]);
        if mask.len() != n * steps {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                "the step mask does not fit the batch",
            ));
        }
        // Σ over the real steps / their count (a sequence of padding alone averages to zeros).
        let inv_count: Vec<T> =
            mask.chunks(steps).map(|row| T::of(1.0 / row.iter().filter(|&&k| k).count().max(1) as f64)).collect();
        let sum = x.mul(&super::mask_factors(mask, n, steps)?)?.sum_axis(1, false)?;
        let mean = sum.mul(&Tensor::from_vec(inv_count, [n, 1])?)?;
        let y = mean.reshape(std::iter::once(n).chain(out.dims().iter().copied()).collect::<Vec<_>>())?;
        Ok((y, None))
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let dims = input.dims();
        if dims.len() != self.rank + 1 || dims[..self.rank].contains(&0) {
            let expected = if self.rank == 1 { "[steps, channels]" } else { "[height, width, channels]" };
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected {expected} per sample, none empty"),
            ));
        }
        let c = dims[self.rank];
        Ok(match self.keepdims {
            true => Shape::new(std::iter::repeat_n(1, self.rank).chain([c]).collect::<Vec<_>>()),
            false => Shape::new([c]),
        })
    }

    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }

    fn kind(&self) -> &'static str {
        match (self.max, self.rank) {
            (false, 1) => "GlobalAveragePooling1D",
            (false, _) => "GlobalAveragePooling2D",
            (true, 1) => "GlobalMaxPooling1D",
            (true, _) => "GlobalMaxPooling2D",
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
