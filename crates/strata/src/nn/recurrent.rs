//! Keras's recurrent layers `SimpleRNN`, `LSTM` and `GRU` (one config type, three spec names),
//! run by the fused sequence op [`Tensor::recurrent`], and `Bidirectional`, which runs one
//! forwards and one backwards.
//!
//! Weights as Keras saves them: `kernel [in, gates·units]`, `recurrent_kernel [units,
//! gates·units]`, `bias [gates·units]` (GRU with `reset_after`: `[2, 3·units]`, the input and
//! the recurrent bias), gates in Keras's order (LSTM i, f, c, o; GRU z, r, h). Defaults as
//! Keras's: Glorot-uniform kernels, orthogonal recurrent kernels, zero biases with LSTM's forget
//! gate at 1 (`unit_forget_bias`), tanh and sigmoid.
//!
//! Dropout follows Keras: one mask per sequence on the inputs (`dropout`) and one on the state
//! where it enters the recurrent product (`recurrent_dropout`), both redrawn each batch.

use super::dense::{glorot_uniform, yes, zeros};
use super::{Activation, Initializer, Layer, LayerConfig, Mode, Param, Regularizer, StepMask};
use crate::error::{Error, Result};
use crate::ops::{CellActivation, RecurrentCell, RecurrentOptions};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use rand::{Rng as _, RngCore};
use std::sync::Mutex;

/// Which recurrent layer a [`RecurrentConfig`] builds.
pub mod kind {
    /// `SimpleRNN`.
    pub const SIMPLE_RNN: u8 = 0;
    /// `LSTM`.
    pub const LSTM: u8 = 1;
    /// `GRU`.
    pub const GRU: u8 = 2;
}

/// Hyper-parameters of a recurrent layer, with Keras's names and defaults (`{ type = "lstm",
/// units = 128 }`). `KIND` is one of [`kind`]'s constants; use the aliases [`SimpleRnnConfig`],
/// [`LstmConfig`], [`GruConfig`].
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentConfig<const KIND: u8> {
    /// Size of the state.
    pub units: usize,
    /// The candidate's (and LSTM's cell output's) activation (default tanh).
    #[serde(default = "tanh")]
    pub activation: Activation,
    /// The gates' activation, LSTM and GRU only (default sigmoid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_activation: Option<Activation>,
    /// Whether there are biases (default true).
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Start of the kernel (default Glorot uniform).
    #[serde(default = "glorot_uniform")]
    pub kernel_initializer: Initializer,
    /// Start of the recurrent kernel (default orthogonal).
    #[serde(default = "orthogonal")]
    pub recurrent_initializer: Initializer,
    /// Start of the bias (default zeros).
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    /// LSTM only: start the forget gate's bias at 1 (default true, Jozefowicz et al. 2015).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_forget_bias: Option<bool>,
    /// GRU only: apply the reset gate after the recurrent product (default and only value: true,
    /// PyTorch's formulation and what cuDNN runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_after: Option<bool>,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the recurrent kernel.
    #[serde(default)]
    pub recurrent_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Fraction of the inputs dropped in training, one mask per sequence (default 0).
    #[serde(default)]
    pub dropout: f64,
    /// Fraction of the state dropped where it enters the recurrent product (default 0).
    #[serde(default)]
    pub recurrent_dropout: f64,
    /// Output every step's state `[steps, units]` rather than the last `[units]` (default false).
    #[serde(default)]
    pub return_sequences: bool,
    /// Also return the final states: several outputs, which a layer stack cannot pass on; from
    /// Rust use [`Recurrent::forward_with_states`] instead (default false).
    #[serde(default)]
    pub return_state: bool,
    /// Read the sequence last step first, and return the outputs in that order (default false).
    #[serde(default)]
    pub go_backwards: bool,
    /// Seed of the dropout masks (default: drawn from the network's seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The layer's name (default "simple_rnn", "lstm", "gru", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

/// `{ type = "simple_rnn" }`: `h = act(x·W + h·U + b)`.
pub type SimpleRnnConfig = RecurrentConfig<{ kind::SIMPLE_RNN }>;
/// `{ type = "lstm" }`: Hochreiter and Schmidhuber's LSTM, with Keras's gates and layouts.
pub type LstmConfig = RecurrentConfig<{ kind::LSTM }>;
/// `{ type = "gru" }`: Cho et al.'s GRU with the reset gate after the product.
pub type GruConfig = RecurrentConfig<{ kind::GRU }>;

fn tanh() -> Activation {
    Activation::Tanh
}
fn orthogonal() -> Initializer {
    Initializer::Orthogonal { gain: 1.0 }
}

impl<const KIND: u8> RecurrentConfig<KIND> {
    /// A layer of `units`, Keras's defaults.
    pub fn new(units: usize) -> Self {
        RecurrentConfig {
            units,
            activation: Activation::Tanh,
            recurrent_activation: None,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            recurrent_initializer: orthogonal(),
            bias_initializer: Initializer::Zeros,
            unit_forget_bias: None,
            reset_after: None,
            kernel_regularizer: None,
            recurrent_regularizer: None,
            bias_regularizer: None,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            seed: None,
            name: None,
        }
    }

    /// Output every step (Keras's `return_sequences=True`).
    pub fn return_sequences(mut self, yes: bool) -> Self {
        self.return_sequences = yes;
        self
    }

    /// Read the sequence backwards.
    pub fn go_backwards(mut self, yes: bool) -> Self {
        self.go_backwards = yes;
        self
    }

    /// Set the input and recurrent dropout.
    pub fn dropout(mut self, dropout: f64, recurrent_dropout: f64) -> Self {
        self.dropout = dropout;
        self.recurrent_dropout = recurrent_dropout;
        self
    }

    /// Set the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn stem(&self) -> &'static str {
        match KIND {
            kind::SIMPLE_RNN => "simple_rnn",
            kind::LSTM => "lstm",
            _ => "gru",
        }
    }

    fn layer_kind(&self) -> &'static str {
        match KIND {
            kind::SIMPLE_RNN => "SimpleRNN",
            kind::LSTM => "LSTM",
            _ => "GRU",
        }
    }

    /// Validate against the per-sample input `[steps, features]` and create the layer.
    ///
    /// # Errors
    /// When the input is not a sequence, a hyper-parameter is out of range, an option belongs
    /// to another kind of layer, or an activation has no derivative from its output.
    pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Recurrent<T>> {
        let what = format!("layer '{name}'");
        let kind_name = self.layer_kind();
        let &[_, features] = input.dims() else {
            return Err(Error::shape(
                &what,
                input,
                format!(
                    "{kind_name} expects a sequence [steps, features] per sample; for flat data add a \
                     reshape (e.g. {{ type = \"reshape\", target_shape = [28, 28] }} for 784 pixels read row by row)"
                ),
            ));
        };
        if self.units == 0 {
            return Err(Error::invalid(what, "units must be at least 1"));
        }
        let cell_activation = |a: Activation, key: &str| match a {
            Activation::Tanh => Ok(CellActivation::Tanh),
            Activation::Sigmoid => Ok(CellActivation::Sigmoid),
            Activation::Relu => Ok(CellActivation::Relu),
            Activation::Linear => Ok(CellActivation::Linear),
            other => Err(Error::invalid(
                what.clone(),
                format!(
                    "{key} {:?} is not supported in a recurrent cell (tanh, sigmoid, relu or linear)",
                    other.name()
                ),
            )),
        };
        let activation = cell_activation(self.activation, "activation")?;
        let recurrent_activation = match (KIND, self.recurrent_activation) {
            (kind::SIMPLE_RNN, Some(_)) => {
                return Err(Error::invalid(what, "SimpleRNN has no gates: recurrent_activation does not apply"))
            }
            (_, Some(a)) => cell_activation(a, "recurrent_activation")?,
            (_, None) => CellActivation::Sigmoid,
        };
        if self.unit_forget_bias.is_some() && KIND != kind::LSTM {
            return Err(Error::invalid(what, "unit_forget_bias belongs to LSTM"));
        }
        match (KIND, self.reset_after) {
            (kind::GRU, Some(false)) => {
                return Err(Error::invalid(
                    what,
                    "reset_after = false (the original GRU) is not supported: use reset_after = true, Keras's default",
                ))
            }
            (kind::GRU, _) | (_, None) => {}
            (_, Some(_)) => return Err(Error::invalid(what, "reset_after belongs to GRU")),
        }
        for (key, rate) in [("dropout", self.dropout), ("recurrent_dropout", self.recurrent_dropout)] {
            crate::error::check_range(&what, key, rate, (0.0..1.0).contains(&rate), "in [0, 1)")?;
        }
        if self.return_state {
            return Err(Error::invalid(
                what,
                "return_state gives several outputs, which a layer stack cannot pass on: from Rust call \
                 Recurrent::forward_with_states",
            ));
        }
        for regularizer in [self.kernel_regularizer, self.recurrent_regularizer, self.bias_regularizer].iter().flatten()
        {
            regularizer.validate().map_err(|e| Error::invalid(what.clone(), e.to_string()))?;
        }
        let cell = match KIND {
            kind::SIMPLE_RNN => RecurrentCell::SimpleRnn { activation },
            kind::LSTM => RecurrentCell::Lstm { activation, recurrent_activation },
            _ => RecurrentCell::Gru { activation, recurrent_activation },
        };
        let units = self.units;
        let width = cell.gates().checked_mul(units).ok_or_else(|| Error::invalid(what.clone(), "units too large"))?;
        let weights = (features + units + 2).saturating_mul(width);
        if weights > super::MAX_LAYER_PARAMS {
            return Err(Error::invalid(
                what,
                format!("{weights} weights exceed the cap of {} per layer", super::MAX_LAYER_PARAMS),
            ));
        }
        crate::memory::check(
            &what,
            (weights as u64).saturating_mul(T::BYTES as u64),
            &format!("{features} features x {units} units"),
        )?;
        let kernel = self.kernel_initializer.init(&Shape::new([features, width]), rng)?;
        let recurrent_kernel = self.recurrent_initializer.init(&Shape::new([units, width]), rng)?;
        let bias = if self.use_bias {
            let shape = if KIND == kind::GRU { Shape::new([2, width]) } else { Shape::new([width]) };
            let mut bias = self.bias_initializer.init::<T>(&shape, rng)?;
            if KIND == kind::LSTM && self.unit_forget_bias.unwrap_or(true) {
                // Keras: the forget gate's quarter starts at ones, the rest from the initializer.
                let mut values = bias.to_vec();
                values[units..2 * units].iter_mut().for_each(|v| *v = T::one());
                bias = Tensor::from_vec(values, shape)?;
            }
            Some(Param::new("bias", bias, true))
        } else {
            None
        };
        let seed = self.seed.unwrap_or_else(|| rng.next_u64());
        Ok(Recurrent {
            config: RecurrentSettings {
                units,
                dropout: self.dropout,
                recurrent_dropout: self.recurrent_dropout,
                return_sequences: self.return_sequences,
                go_backwards: self.go_backwards,
                regularizers: [self.kernel_regularizer, self.recurrent_regularizer, self.bias_regularizer],
            },
            cell,
            kind: kind_name,
            features,
            kernel: Param::new("kernel", kernel, true),
            recurrent_kernel: Param::new("recurrent_kernel", recurrent_kernel, true),
            bias,
            rng: Mutex::new(seeded_rng(seed)),
            name,
        })
    }
}

impl<const KIND: u8> super::LayerKind for RecurrentConfig<KIND> {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(self.build(input, name, rng)?))
    }
}

/// What a built recurrent layer keeps of its config.
#[derive(Clone, Copy)]
struct RecurrentSettings {
    units: usize,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    go_backwards: bool,
    regularizers: [Option<Regularizer>; 3],
}

/// A recurrent layer (see [`RecurrentConfig`]).
pub struct Recurrent<T: Element = f32> {
    config: RecurrentSettings,
    cell: RecurrentCell,
    kind: &'static str,
    features: usize,
    kernel: Param<T>,
    recurrent_kernel: Param<T>,
    bias: Option<Param<T>>,
    rng: Mutex<Rng>,
    name: String,
}

/// What [`Recurrent::forward_with_states`] returns.
pub struct RecurrentOutput<T: Element> {
    /// The layer's output: `[batch, steps, units]` with `return_sequences`, else `[batch, units]`.
    pub output: Tensor<T>,
    /// The final states, `[batch, units]` each: `h`, and `c` for LSTM (Keras's `return_state`).
    pub states: Vec<Tensor<T>>,
}

impl<T: Element> Recurrent<T> {
    /// The same layer with its weights named `"{prefix}.kernel"`, ... (inside a wrapper).
    fn prefixed(self, prefix: &str) -> Self {
        let rename = |p: Param<T>| Param::new(format!("{prefix}.{}", p.name()), p.value(), p.trainable());
        Recurrent {
            kernel: rename(self.kernel),
            recurrent_kernel: rename(self.recurrent_kernel),
            bias: self.bias.map(rename),
            ..self
        }
    }

    /// The cell this layer runs.
    pub fn cell(&self) -> RecurrentCell {
        self.cell
    }

    /// The number of units.
    pub fn units(&self) -> usize {
        self.config.units
    }

    /// The layer on a batch `[batch, steps, features]`, starting from `initial_states` (or
    /// zeros), with an optional step mask; returns the output and the final states. Carrying
    /// the states into the next call continues the sequence (text generation does).
    ///
    /// # Errors
    /// When the input or the states do not fit.
    pub fn forward_with_states(
        &self,
        x: &Tensor<T>,
        initial_states: &[&Tensor<T>],
        mask: Option<&[bool]>,
        mode: Mode,
    ) -> Result<RecurrentOutput<T>> {
        let what = format!("layer '{}'", self.name);
        let &[batch, steps, features] = x.dims() else {
            return Err(Error::shape(
                &what,
                x.shape(),
                format!("expected a batch of sequences [batch, steps, {}]", self.features),
            ));
        };
        if features != self.features {
            return Err(Error::shape(&what, x.shape(), format!("expected [batch, steps, {}]", self.features)));
        }
        let units = self.config.units;
        let training = mode == Mode::Train;
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mut draw = |rate: f64, len: usize| -> Vec<T> {
            let scale = T::of(1.0 / (1.0 - rate));
            (0..len).map(|_| if rng.gen::<f64>() < rate { T::zero() } else { scale }).collect()
        };
        let x = if training && self.config.dropout > 0.0 {
            let keep = Tensor::from_vec(draw(self.config.dropout, batch * features), [batch, 1, features])?;
            x.mul(&keep)?
        } else {
            x.clone()
        };
        let recurrent_factors = (training && self.config.recurrent_dropout > 0.0)
            .then(|| draw(self.config.recurrent_dropout, batch * units));
        drop(rng);
        let bias = self.bias.as_ref().map(Param::value);
        let options = RecurrentOptions {
            mask,
            go_backwards: self.config.go_backwards,
            recurrent_dropout: recurrent_factors.as_deref(),
            last_step_only: !self.config.return_sequences,
        };
        let packed = x.recurrent(
            self.cell,
            &self.kernel.value(),
            &self.recurrent_kernel.value(),
            bias.as_ref(),
            initial_states,
            options,
        )?;
        let last = match self.config.return_sequences {
            true => packed.narrow(1, steps - 1, 1)?,
            false => packed.clone(),
        };
        let last = last.reshape([batch, self.cell.states() * units])?;
        let states = (0..self.cell.states()).map(|i| last.narrow(1, i * units, units)).collect::<Result<Vec<_>>>()?;
        let output = match (self.config.return_sequences, self.cell.states()) {
            (true, 1) => packed,
            (true, _) => packed.narrow(2, 0, units)?,
            (false, 1) => last,
            (false, _) => states[0].clone(),
        };
        Ok(RecurrentOutput { output, states })
    }
}

impl<T: Element> Layer<T> for Recurrent<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        Ok(self.forward_with_states(x, &[], None, mode)?.output)
    }

    fn output_masked(&self, _input_masked: bool) -> Result<bool> {
        Ok(self.config.return_sequences)
    }

    fn forward_masked(
        &self,
        x: &Tensor<T>,
        mask: Option<&StepMask>,
        mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        let out = self.forward_with_states(x, &[], mask.map(|m| &m[..]), mode)?.output;
        // With return_sequences the steps keep their places, so the mask still applies
        // (reversed with the outputs when reading backwards).
        let mask = match (self.config.return_sequences, mask) {
            (true, Some(m)) if self.config.go_backwards => Some(reverse_steps(m, x.dims()[1])),
            (true, m) => m.cloned(),
            (false, _) => None,
        };
        Ok((out, mask))
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        match input.dims() {
            &[steps, f] if f == self.features && steps > 0 => Ok(if self.config.return_sequences {
                Shape::new([steps, self.config.units])
            } else {
                Shape::new([self.config.units])
            }),
            _ => Err(Error::shape(
                &format!("layer '{}'", self.name),
                input,
                format!("expected [steps, {}] per sample, with at least one step", self.features),
            )),
        }
    }

    fn params(&self) -> Vec<&Param<T>> {
        [&self.kernel, &self.recurrent_kernel].into_iter().chain(self.bias.as_ref()).collect()
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        let [k, r, b] = self.config.regularizers;
        super::params_penalty([(k, Some(&self.kernel)), (r, Some(&self.recurrent_kernel)), (b, self.bias.as_ref())])
    }

    fn random_position(&self) -> Option<u128> {
        Some(self.rng.lock().unwrap_or_else(|p| p.into_inner()).get_word_pos())
    }

    fn set_random_position(&self, position: u128) {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).set_word_pos(position);
    }
}

/// A `[batch, steps]` mask with each row's steps in reverse order.
fn reverse_steps(mask: &StepMask, steps: usize) -> StepMask {
    mask.chunks(steps.max(1)).flat_map(|row| row.iter().rev().copied()).collect()
}

/// How [`Bidirectional`] joins its two directions (Keras's `merge_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// Side by side on the last axis: `2·units` wide (default).
    #[default]
    Concat,
    /// Summed.
    Sum,
    /// Averaged.
    Ave,
    /// Multiplied.
    Mul,
}

/// Hyper-parameters of [`Bidirectional`]: the recurrent layer to run both ways
/// (`{ type = "bidirectional", layer = { type = "lstm", units = 64 } }`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BidirectionalConfig {
    /// A `simple_rnn`, `lstm` or `gru`: the forward layer; the backward one is a copy reading
    /// the other way, with its own weights.
    pub layer: Box<LayerConfig>,
    /// How the two outputs are joined (default "concat").
    #[serde(default)]
    pub merge_mode: MergeMode,
    /// The layer's name (default "bidirectional", numbered).
    #[serde(default)]
    pub name: Option<String>,
}

impl BidirectionalConfig {
    /// `layer` both ways, concatenated.
    pub fn new(layer: impl Into<LayerConfig>) -> Self {
        BidirectionalConfig { layer: Box::new(layer.into()), merge_mode: MergeMode::Concat, name: None }
    }
}

impl super::LayerKind for BidirectionalConfig {
    fn requested_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
        fn both<T: Element, const K: u8>(
            c: &RecurrentConfig<K>,
            input: &Shape,
            name: &str,
            rng: &mut Rng,
        ) -> Result<(Recurrent<T>, Recurrent<T>)> {
            // Keras's names for the two directions, which also prefix their weights
            // ("bidirectional.forward_lstm.kernel") so the two sets stay apart.
            let stem = c.name.clone().unwrap_or_else(|| c.stem().to_string());
            let forward = c.build(input, name.to_string(), rng)?.prefixed(&format!("forward_{stem}"));
            let reversed = RecurrentConfig { go_backwards: !c.go_backwards, ..c.clone() };
            let backward = reversed.build(input, name.to_string(), rng)?.prefixed(&format!("backward_{stem}"));
            Ok((forward, backward))
        }
        let (forward, backward) = match self.layer.as_ref() {
            LayerConfig::SimpleRnn(c) => both(c, input, &name, rng)?,
            LayerConfig::Lstm(c) => both(c, input, &name, rng)?,
            LayerConfig::Gru(c) => both(c, input, &name, rng)?,
            other => {
                return Err(Error::invalid(
                    format!("layer '{name}'"),
                    format!("Bidirectional wraps a simple_rnn, lstm or gru, not a {}", other.stem()),
                ))
            }
        };
        let return_sequences = forward.config.return_sequences;
        Ok(Box::new(Bidirectional { forward, backward, merge_mode: self.merge_mode, return_sequences, name }))
    }
}

/// A recurrent layer run forwards and backwards over the sequence, its two outputs joined.
/// With `return_sequences` the backward outputs are put back in time order and padded steps
/// output zeros (as Keras does), so step t of the output sees the whole sequence.
pub struct Bidirectional<T: Element = f32> {
    forward: Recurrent<T>,
    backward: Recurrent<T>,
    merge_mode: MergeMode,
    return_sequences: bool,
    name: String,
}

impl<T: Element> Bidirectional<T> {
    fn run(&self, x: &Tensor<T>, mask: Option<&StepMask>, mode: Mode) -> Result<Tensor<T>> {
        let m = mask.map(|m| &m[..]);
        let ahead = self.forward.forward_with_states(x, &[], m, mode)?.output;
        let mut behind = self.backward.forward_with_states(x, &[], m, mode)?.output;
        let steps = x.dims()[1];
        if self.return_sequences {
            // Back in time order: output step s of the backward layer is input step steps-1-s.
            let order: Vec<usize> = (0..steps).rev().collect();
            behind = behind.transpose(0, 1)?.index_select(&order)?.transpose(0, 1)?;
        }
        let mut merged = match self.merge_mode {
            MergeMode::Concat => Tensor::concat(&[&ahead, &behind], -1)?,
            MergeMode::Sum => ahead.add(&behind)?,
            MergeMode::Ave => ahead.add(&behind)?.mul_scalar(0.5)?,
            MergeMode::Mul => ahead.mul(&behind)?,
        };
        if let (true, Some(mask)) = (self.return_sequences, mask) {
            merged = merged.mul(&super::mask_factors(mask, x.dims()[0], steps)?)?;
        }
        Ok(merged)
    }
}

impl<T: Element> Layer<T> for Bidirectional<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        self.run(x, None, mode)
    }

    fn output_masked(&self, _input_masked: bool) -> Result<bool> {
        Ok(self.return_sequences)
    }

    fn forward_masked(
        &self,
        x: &Tensor<T>,
        mask: Option<&StepMask>,
        mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        let out = self.run(x, mask, mode)?;
        Ok((out, if self.return_sequences { mask.cloned() } else { None }))
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        let one = self.forward.output_shape(input)?;
        if self.merge_mode != MergeMode::Concat {
            return Ok(one);
        }
        let mut dims = one.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last *= 2;
        }
        Ok(Shape::new(dims))
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.forward.params().into_iter().chain(self.backward.params()).collect()
    }

    fn kind(&self) -> &'static str {
        "Bidirectional"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::sum_penalties([self.forward.penalty(), self.backward.penalty()])
    }

    fn random_position(&self) -> Option<u128> {
        self.forward.random_position()
    }

    fn set_random_position(&self, position: u128) {
        // Both streams were seeded apart and advance together: one position restores both.
        self.forward.set_random_position(position);
        self.backward.set_random_position(position);
    }
}
