//! 1-D convolution, Keras's `Conv1D`: input `[steps, in]` per sample, kernel `[k, in, filters]`
//! and bias `[filters]` (saved as `<layer>.kernel`, `<layer>.bias`, Keras's layout), output
//! `[out_steps, filters]`. Built on [`Conv2D`]: a sequence is an image one row high, so the
//! same kernels (tiled im2col, direct path, both cores) run it. `padding = "causal"` pads
//! `dilation·(k - 1)` zeros before the first step only, so step t sees no later step.

use super::conv2d::{Conv2D, Conv2DConfig, Padding, Size2};
use super::dense::{glorot_uniform, yes, zeros};
use super::{Activation, Initializer, Layer, Mode, Param, Regularizer};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// Keras's padding modes for 1-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding1D {
    /// No padding.
    #[default]
    Valid,
    /// Output `ceil(steps / stride)` long, zeros split around the sequence.
    Same,
    /// Zeros before the sequence only: the output at step t depends on steps <= t.
    Causal,
}

/// Hyper-parameters of [`Conv1D`], with Keras's names and defaults (`{ type = "conv1d",
/// filters = 16, kernel_size = 3 }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Conv1DConfig {
    /// Output channels.
    pub filters: usize,
    /// Kernel length.
    pub kernel_size: usize,
    /// Step between output positions (default 1).
    #[serde(default = "one")]
    pub strides: usize,
    /// `"valid"` (default), `"same"` or `"causal"`.
    #[serde(default)]
    pub padding: Padding1D,
    /// Spacing between kernel taps (default 1).
    #[serde(default = "one")]
    pub dilation_rate: usize,
    /// Applied to the output (default linear).
    #[serde(default)]
    pub activation: Activation,
    /// Whether there is a bias (default true).
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Kernel start (default Glorot uniform).
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
    /// The layer's name (default: "conv1d", "conv1d_1", ...).
    #[serde(default)]
    pub name: Option<String>,
}

fn one() -> usize {
    1
}

impl Conv1DConfig {
    /// `filters` output channels from a kernel of `kernel_size` steps, Keras's defaults.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv1DConfig {
            filters,
            kernel_size,
            strides: 1,
            padding: Padding1D::Valid,
            dilation_rate: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            name: None,
        }
    }

    /// Set the stride.
    pub fn strides(mut self, strides: usize) -> Self {
        self.strides = strides;
        self
    }

    /// Set the padding.
    pub fn padding(mut self, padding: Padding1D) -> Self {
        self.padding = padding;
        self
    }

    /// Set the dilation.
    pub fn dilation_rate(mut self, dilation_rate: usize) -> Self {
        self.dilation_rate = dilation_rate;
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

    /// The equivalent one-row Conv2D.
    fn as_conv2d(&self) -> Conv2DConfig {
        Conv2DConfig {
            filters: self.filters,
            kernel_size: Size2::Each([1, self.kernel_size]),
            strides: Size2::Each([1, self.strides]),
            padding: if self.padding == Padding1D::Same { Padding::Same } else { Padding::Valid },
            dilation_rate: Size2::Each([1, self.dilation_rate]),
            activation: self.activation,
            use_bias: self.use_bias,
            kernel_initializer: self.kernel_initializer,
            bias_initializer: self.bias_initializer,
            kernel_regularizer: self.kernel_regularizer,
            bias_regularizer: self.bias_regularizer,
            name: self.name.clone(),
        }
    }
}

impl super::LayerKind for Conv1DConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        let &[steps, channels] = input.dims() else {
            return Err(Error::shape(&format!("layer '{name}'"), input, "Conv1D expects [steps, channels] per sample"));
        };
        let causal = match self.padding {
            Padding1D::Causal => self.dilation_rate.saturating_mul(self.kernel_size.saturating_sub(1)),
            _ => 0,
        };
        let valid = self.padding == Padding1D::Valid;
        check_span(&format!("layer '{name}'"), input, self.kernel_size, self.dilation_rate, valid, steps)?;
        let inner = self.as_conv2d().build(&Shape::new([1, steps + causal, channels]), name, rng)?.with_kernel_1d()?;
        let layer = Conv1D { inner, channels, causal };
        layer.output_shape(input)?;
        Ok(Box::new(layer))
    }
}

/// Refuses a kernel that spans more steps than a valid-padded input has, in steps (the inner
/// Conv2D's own error would describe the one-row image it sees).
fn check_span(what: &str, input: &Shape, kernel: usize, dilation: usize, valid: bool, steps: usize) -> Result<()> {
    let span = kernel.saturating_sub(1).saturating_mul(dilation).saturating_add(1);
    if valid && span > steps {
        let dilated = if dilation == 1 { String::new() } else { format!(" with dilation {dilation}") };
        return Err(Error::shape(
            what,
            input,
            format!(
                "a kernel of {kernel}{dilated} spans {span} steps, more than the input's {steps} with valid padding (use padding = \"same\" or \"causal\", or a smaller kernel)"
            ),
        ));
    }
    Ok(())
}

/// A 1-D convolution layer (see [`Conv1DConfig`]).
pub struct Conv1D<T: Element = f32> {
    inner: Conv2D<T>,
    channels: usize,
    /// Zeros before the first step ("causal" padding).
    causal: usize,
}

impl<T: Element> Conv1D<T> {
    fn what(&self) -> String {
        format!("layer '{}'", self.inner.name())
    }
}

impl<T: Element> Layer<T> for Conv1D<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        let &[n, steps, channels] = x.dims() else {
            return Err(Error::shape(&self.what(), x.shape(), format!("expected input [*, steps, {}]", self.channels)));
        };
        let out = self.output_shape(&Shape::new([steps, channels]))?;
        let padded = match self.causal {
            0 => x.clone(),
            pad => Tensor::concat(&[&Tensor::zeros([n, pad, channels]), x], 1)?,
        };
        let y = self.inner.forward(&padded.reshape([n, 1, steps + self.causal, channels])?, mode)?;
        y.reshape([n, out.dims()[0], out.dims()[1]])
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let &[steps, c] = input.dims() else {
            return Err(Error::shape(&self.what(), input, format!("expected input [steps, {}]", self.channels)));
        };
        if c != self.channels {
            return Err(Error::shape(&self.what(), input, format!("expected {} channels, got {c}", self.channels)));
        }
        let config = self.inner.config();
        let valid = self.causal == 0 && config.padding == Padding::Valid;
        check_span(&self.what(), input, config.kernel_size.pair().1, config.dilation_rate.pair().1, valid, steps)?;
        let out = self.inner.output_shape(&Shape::new([1, steps + self.causal, c]))?;
        Ok(Shape::new(&out.dims()[1..]))
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.inner.params()
    }

    fn kind(&self) -> &'static str {
        "Conv1D"
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        self.inner.penalty()
    }
}
