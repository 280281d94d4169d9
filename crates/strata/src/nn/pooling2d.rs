//! Keras's `MaxPooling2D` and `AveragePooling2D` (and their 1-D forms, below): windows of `pool_size` every `strides`
//! (default: the pool size) over channels-last input `[h, w, channels]`, no weights. One config
//! type for both, told apart by a const parameter, so each is its own row in the registry.

use super::{Layer, Mode, Padding, Param, Size2};
use crate::error::{Error, Result};
use crate::ops::{Pool2dOptions, PoolKind};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Hyper-parameters of a 2-D pooling layer, with Keras's names and defaults
/// (`{ type = "max_pooling2d", pool_size = 2 }`). `MAX` is true for max pooling.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pooling2DConfig<const MAX: bool> {
    /// Window height and width (default 2).
    #[serde(default = "two")]
    pub pool_size: Size2,
    /// Steps between windows (default: the pool size).
    #[serde(default)]
    pub strides: Option<Size2>,
    /// `"valid"` (default) or `"same"`.
    #[serde(default)]
    pub padding: Padding,
    /// The layer's name (default: "max_pooling2d", "average_pooling2d", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

/// [`Pooling2DConfig`] for max pooling.
pub type MaxPooling2DConfig = Pooling2DConfig<true>;
/// [`Pooling2DConfig`] for average pooling.
pub type AveragePooling2DConfig = Pooling2DConfig<false>;

fn two() -> Size2 {
    Size2::Both(2)
}

impl<const MAX: bool> Default for Pooling2DConfig<MAX> {
    fn default() -> Self {
        Pooling2DConfig { pool_size: two(), strides: None, padding: Padding::Valid, name: None }
    }
}

impl<const MAX: bool> Pooling2DConfig<MAX> {
    /// Square windows of `pool_size`, strides equal to it, valid padding.
    pub fn new(pool_size: usize) -> Self {
        Pooling2DConfig { pool_size: Size2::Both(pool_size), ..Self::default() }
    }

    /// Set the strides.
    pub fn strides(mut self, rows: usize, columns: usize) -> Self {
        self.strides = Some(Size2::Each([rows, columns]));
        self
    }

    /// Set the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    fn options(&self) -> Pool2dOptions {
        let pool = self.pool_size.pair();
        Pool2dOptions {
            pool,
            strides: self.strides.map_or(pool, Size2::pair),
            same_padding: self.padding == Padding::Same,
        }
    }
}

impl<const MAX: bool> super::LayerKind for Pooling2DConfig<MAX> {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, _rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let options = self.options();
        if [options.pool.0, options.pool.1, options.strides.0, options.strides.1].contains(&0) {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                format!("pool_size {:?} and strides {:?} must be >= 1", options.pool, options.strides),
            ));
        }
        let layer = Pooling2D { kind: self.kind(), options, name };
        <Pooling2D as Layer<T>>::output_shape(&layer, input)?;
        Ok(Box::new(layer))
    }
}

/// A 2-D pooling layer (see [`Pooling2DConfig`]).
pub struct Pooling2D {
    kind: PoolKind,
    options: Pool2dOptions,
    name: String,
}

impl<T: Element> Layer<T> for Pooling2D {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        let per_sample = Shape::new(x.dims().get(1..).unwrap_or(&[]));
        <Self as Layer<T>>::output_shape(self, &per_sample)?;
        x.pool2d(self.kind, self.options)
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let what = format!("layer '{}'", self.name);
        let &[h, w, c] = input.dims() else {
            return Err(Error::shape(&what, input, "expected [height, width, channels] per sample"));
        };
        let Pool2dOptions { pool, strides, same_padding } = self.options;
        let len = |n, p, s| crate::ops::conv_output_len(n, p, s, 1, same_padding).map(|(o, _)| o).filter(|&o| o > 0);
        match (len(h, pool.0, strides.0), len(w, pool.1, strides.1)) {
            (Some(oh), Some(ow)) => Ok(Shape::new([oh, ow, c])),
            _ => Err(Error::shape(
                &what,
                input,
                format!(
                    "a {}x{} window does not fit in the input's {h}x{w} with valid padding (use padding = \"same\" or a smaller pool_size)",
                    pool.0, pool.1
                ),
            )),
        }
    }

    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }

    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "MaxPooling2D",
            PoolKind::Average => "AveragePooling2D",
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Hyper-parameters of a 1-D pooling layer, Keras's `MaxPooling1D` / `AveragePooling1D`
/// (`{ type = "max_pooling1d", pool_size = 2 }`): windows along the steps of `[steps, channels]`,
/// run as 2-D pooling of a sequence one row high. `MAX` is true for max pooling.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pooling1DConfig<const MAX: bool> {
    /// Window length (default 2).
    #[serde(default = "two_steps")]
    pub pool_size: usize,
    /// Steps between windows (default: the pool size).
    #[serde(default)]
    pub strides: Option<usize>,
    /// `"valid"` (default) or `"same"`.
    #[serde(default)]
    pub padding: Padding,
    /// The layer's name (default: "max_pooling1d", "average_pooling1d", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

/// [`Pooling1DConfig`] for max pooling.
pub type MaxPooling1DConfig = Pooling1DConfig<true>;
/// [`Pooling1DConfig`] for average pooling.
pub type AveragePooling1DConfig = Pooling1DConfig<false>;

fn two_steps() -> usize {
    2
}

impl<const MAX: bool> Default for Pooling1DConfig<MAX> {
    fn default() -> Self {
        Pooling1DConfig { pool_size: 2, strides: None, padding: Padding::Valid, name: None }
    }
}

impl<const MAX: bool> Pooling1DConfig<MAX> {
    /// Windows of `pool_size` steps, stride equal to it, valid padding.
    pub fn new(pool_size: usize) -> Self {
        Pooling1DConfig { pool_size, ..Self::default() }
    }

    /// Set the stride.
    pub fn strides(mut self, strides: usize) -> Self {
        self.strides = Some(strides);
        self
    }

    /// Set the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
}

impl<const MAX: bool> super::LayerKind for Pooling1DConfig<MAX> {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, _rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let what = format!("layer '{name}'");
        let strides = self.strides.unwrap_or(self.pool_size);
        let as_2d = Pooling2DConfig::<MAX> {
            pool_size: Size2::Each([1, self.pool_size]),
            strides: Some(Size2::Each([1, strides])),
            padding: self.padding,
            name: None,
        };
        if self.pool_size == 0 || strides == 0 {
            return Err(Error::invalid(
                what,
                format!("pool_size ({}) and strides ({strides}) must be >= 1", self.pool_size),
            ));
        }
        let layer = Pooling1D { inner: Pooling2D { kind: as_2d.kind(), options: as_2d.options(), name } };
        <Pooling1D as Layer<T>>::output_shape(&layer, input)?;
        Ok(Box::new(layer))
    }
}

impl<const MAX: bool> Pooling2DConfig<MAX> {
    fn kind(&self) -> PoolKind {
        if MAX {
            PoolKind::Max
        } else {
            PoolKind::Average
        }
    }
}

/// A 1-D pooling layer (see [`Pooling1DConfig`]): [`Pooling2D`] over a one-row view.
pub struct Pooling1D {
    inner: Pooling2D,
}

impl<T: Element> Layer<T> for Pooling1D {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let &[n, steps, channels] = x.dims() else {
            return Err(Error::shape(
                &format!("layer '{}'", self.inner.name),
                x.shape(),
                "expected [*, steps, channels]",
            ));
        };
        let y = <Pooling2D as Layer<T>>::forward(&self.inner, &x.reshape([n, 1, steps, channels])?, mode)?;
        y.reshape([n, y.dims()[2], channels])
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let &[steps, channels] = input.dims() else {
            return Err(Error::shape(
                &format!("layer '{}'", self.inner.name),
                input,
                "expected [steps, channels] per sample",
            ));
        };
        let out = <Pooling2D as Layer<T>>::output_shape(&self.inner, &Shape::new([1, steps, channels])).map_err(|_| {
            Error::shape(
                &format!("layer '{}'", self.inner.name),
                input,
                format!(
                    "a window of {} does not fit in {steps} steps with valid padding (use padding = \"same\" or a smaller pool_size)",
                    self.inner.options.pool.1
                ),
            )
        })?;
        Ok(Shape::new(&out.dims()[1..]))
    }

    fn params(&self) -> Vec<&Param<T>> {
        Vec::new()
    }

    fn kind(&self) -> &'static str {
        match self.inner.kind {
            PoolKind::Max => "MaxPooling1D",
            PoolKind::Average => "AveragePooling1D",
        }
    }

    fn name(&self) -> &str {
        &self.inner.name
    }
}
