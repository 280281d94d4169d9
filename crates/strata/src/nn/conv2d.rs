//! 2-D convolution layer, Keras's `Conv2D`: channels-last input `[h, w, in]` per sample, kernel
//! `[kh, kw, in, filters]` and bias `[filters]` stored (and saved as `<layer>.kernel`,
//! `<layer>.bias`) as Keras stores them, output `[oh, ow, filters]`.

use super::dense::{glorot_uniform, yes, zeros};
use super::{Activation, Initializer, Layer, Mode, Param, Regularizer};
use crate::error::{Error, Result};
use crate::ops::{conv_output_len, Conv2dOptions};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// A size given as one number for both axes or as `[rows, columns]` (Keras's int or tuple).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Size2 {
    /// The same along both axes.
    Both(usize),
    /// `[rows, columns]`.
    Each([usize; 2]),
}

impl Size2 {
    /// (rows, columns).
    pub fn pair(self) -> (usize, usize) {
        match self {
            Size2::Both(n) => (n, n),
            Size2::Each([r, c]) => (r, c),
        }
    }
}

/// Keras's padding modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: the output shrinks by the kernel's span less one.
    #[default]
    Valid,
    /// Zeros around the input so that the output is `ceil(input / stride)` long.
    Same,
}

/// Hyper-parameters of [`Conv2D`], with Keras's names and defaults (`{ type = "conv2d",
/// filters = 32, kernel_size = 3, activation = "relu" }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2DConfig {
    /// Output channels.
    pub filters: usize,
    /// Kernel height and width.
    pub kernel_size: Size2,
    /// Steps between output positions (default 1).
    #[serde(default = "one")]
    pub strides: Size2,
    /// `"valid"` (default) or `"same"`.
    #[serde(default)]
    pub padding: Padding,
    /// Spacing between kernel taps (default 1).
    #[serde(default = "one")]
    pub dilation_rate: Size2,
    /// Applied to the output (default linear).
    #[serde(default)]
    pub activation: Activation,
    /// Whether there is a bias (default true).
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Kernel start (default Glorot uniform, fans over the receptive field as Keras counts them).
    #[serde(default = "glorot_uniform")]
    pub kernel_initializer: Initializer,
    /// Bias start (default zeros).
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// The layer's name (default: "conv2d", "conv2d_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

fn one() -> Size2 {
    Size2::Both(1)
}

impl super::LayerKind for Conv2DConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

impl Conv2DConfig {
    /// `filters` output channels from a `kernel_size` square kernel, with Keras's defaults.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv2DConfig {
            filters,
            kernel_size: Size2::Both(kernel_size),
            strides: one(),
            padding: Padding::Valid,
            dilation_rate: one(),
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            name: None,
        }
    }

    /// Set the strides.
    pub fn strides(mut self, rows: usize, columns: usize) -> Self {
        self.strides = Size2::Each([rows, columns]);
        self
    }

    /// Set the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Set the dilation.
    pub fn dilation_rate(mut self, rows: usize, columns: usize) -> Self {
        self.dilation_rate = Size2::Each([rows, columns]);
        self
    }

    /// Set the activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Set whether there is a bias.
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Set the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn options(&self) -> Conv2dOptions {
        Conv2dOptions {
            strides: self.strides.pair(),
            dilation: self.dilation_rate.pair(),
            same_padding: self.padding == Padding::Same,
        }
    }

    /// Check the config against a per-sample input shape `[h, w, in]` and draw the parameters.
    ///
    /// # Errors
    /// When a size is 0, the input is not `[h, w, channels]`, or the kernel does not fit.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Conv2D<T>> {
        let what = format!("layer '{name}'");
        let (kh, kw) = self.kernel_size.pair();
        let sizes = [self.filters, kh, kw, self.strides.pair().0, self.strides.pair().1];
        if sizes.contains(&0) || self.dilation_rate.pair().0 == 0 || self.dilation_rate.pair().1 == 0 {
            return Err(Error::invalid(
                what,
                format!(
                    "filters ({}), kernel_size {:?}, strides {:?} and dilation_rate {:?} must all be >= 1",
                    self.filters,
                    self.kernel_size.pair(),
                    self.strides.pair(),
                    self.dilation_rate.pair()
                ),
            ));
        }
        let &[_, _, channels] = input.dims() else {
            return Err(Error::shape(&what, input, "Conv2D expects [height, width, channels] per sample"));
        };
        let weights = [kh, kw, channels, self.filters].iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if weights.is_none_or(|n| n > super::MAX_LAYER_PARAMS) {
            return Err(Error::invalid(
                what,
                format!(
                    "a {kh}x{kw}x{channels}x{} kernel exceeds the cap of {} weights per layer",
                    self.filters,
                    super::MAX_LAYER_PARAMS
                ),
            ));
        }
        for regularizer in [self.kernel_regularizer, self.bias_regularizer].iter().flatten() {
            regularizer.validate().map_err(|e| Error::invalid(what.clone(), e.to_string()))?;
        }
        // Before allocating, as Dense does: a spec's kernel can pass the cap and not fit in memory.
        let weights = kh * kw * channels * self.filters + if self.use_bias { self.filters } else { 0 };
        crate::memory::check(
            &what,
            (weights as u64).saturating_mul(std::mem::size_of::<T>() as u64),
            &format!("a {kh}x{kw}x{channels}x{} kernel ({weights} weights)", self.filters),
        )?;
        let layer = Conv2D {
            config: self.clone(),
            name,
            channels,
            kernel: Param::new(
                "kernel",
                self.kernel_initializer.init(&Shape::new([kh, kw, channels, self.filters]), rng)?,
                true,
            ),
            bias: None,
        };
        layer.output_shape(input)?;
        let bias = match self.use_bias {
            true => Some(Param::new("bias", self.bias_initializer.init(&Shape::new([self.filters]), rng)?, true)),
            false => None,
        };
        Ok(Conv2D { bias, ..layer })
    }
}

/// A 2-D convolution layer (see [`Conv2DConfig`]).
pub struct Conv2D<T: Element = f32> {
    config: Conv2DConfig,
    name: String,
    channels: usize,
    kernel: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Element> Conv2D<T> {
    /// The kernel `[kh, kw, in, filters]`.
    pub fn kernel(&self) -> &Param<T> {
        &self.kernel
    }

    /// The bias `[filters]`, if any.
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Conv2DConfig {
        &self.config
    }
}

impl<T: Element> Conv2D<T> {
    /// The same layer with its `[1, k, in, filters]` kernel stored as `[k, in, filters]`
    /// (Conv1D's layout; the forward pass views it as 4-D again).
    pub(crate) fn with_kernel_1d(self) -> Result<Self> {
        let value = self.kernel.value();
        let dims = value.dims()[1..].to_vec();
        let kernel = Param::new("kernel", Tensor::from_vec(value.to_vec(), dims)?, true);
        Ok(Conv2D { kernel, ..self })
    }
}

impl<T: Element> Layer<T> for Conv2D<T> {
    fn forward(&self, x: &Tensor<T>, _mode: Mode) -> Result<Tensor<T>> {
        if x.rank() != 4 {
            return Err(Error::shape(
                &format!("layer '{}'", self.name),
                x.shape(),
                format!("expected input [*, h, w, {}]", self.channels),
            ));
        }
        self.output_shape(&Shape::new(&x.dims()[1..]))?;
        let bias = self.bias.as_ref().map(Param::value);
        let kernel = match self.kernel.value() {
            // Conv1D's kernel, stored [k, in, filters] as Keras stores it: a view as [1, k, in, filters].
            k if k.rank() == 3 => k.reshape(std::iter::once(1).chain(k.dims().iter().copied()).collect::<Vec<_>>())?,
            k => k,
        };
        let y = x.conv2d(&kernel, bias.as_ref(), self.config.options())?;
        match self.config.activation {
            Activation::Linear => Ok(y),
            activation => activation.apply(&y),
        }
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let what = format!("layer '{}'", self.name);
        let &[h, w, c] = input.dims() else {
            return Err(Error::shape(&what, input, format!("expected input [h, w, {}]", self.channels)));
        };
        if c != self.channels {
            return Err(Error::shape(&what, input, format!("expected {} channels, got {c}", self.channels)));
        }
        let (o, (kh, kw)) = (self.config.options(), self.config.kernel_size.pair());
        let same = o.same_padding;
        let fit = |len, k, s, d| conv_output_len(len, k, s, d, same).map(|(n, _)| n).filter(|&n| n > 0);
        match (fit(h, kh, o.strides.0, o.dilation.0), fit(w, kw, o.strides.1, o.dilation.1)) {
            (Some(oh), Some(ow)) => Ok(Shape::new([oh, ow, self.config.filters])),
            _ => Err(Error::shape(
                &what,
                input,
                format!(
                    "a {kh}x{kw} kernel{} spans {}x{} positions, more than the input's {h}x{w} with valid padding (use padding = \"same\" or a smaller kernel)",
                    if o.dilation == (1, 1) { String::new() } else { format!(" with dilation {:?}", o.dilation) },
                    (kh - 1) * o.dilation.0 + 1,
                    (kw - 1) * o.dilation.1 + 1
                ),
            )),
        }
    }

    fn params(&self) -> Vec<&Param<T>> {
        std::iter::once(&self.kernel).chain(self.bias.as_ref()).collect()
    }

    fn kind(&self) -> &'static str {
        "Conv2D"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::kernel_bias_penalty(
            (self.config.kernel_regularizer, &self.kernel),
            (self.config.bias_regularizer, self.bias.as_ref()),
        )
    }
}
