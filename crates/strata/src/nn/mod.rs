//! Layers: the [`Layer`] trait, trainable [`Param`]s, and [`LayerConfig`], the one list of layer
//! kinds that `Sequential`, the spec file and the CLI can name.

mod activation;
mod batch_norm;
mod check;
mod conv1d;
mod conv2d;
mod dense;
mod drop_connect;
mod dropout;
mod embedding;
mod flatten;
mod functional;
mod global_pooling;
pub mod init;
mod maxout;
mod pooling2d;
mod recurrent;
mod regularizer;
mod reshape;
mod sequential;
mod summary;
mod time_distributed;

pub use activation::{Activation, ActivationConfig, ActivationLayer};
pub use batch_norm::{BatchNormalization, BatchNormalizationConfig};
pub use check::{check_layer, gradcheck_layer};
pub use conv1d::{Conv1D, Conv1DConfig, Padding1D};
pub use conv2d::{Conv2D, Conv2DConfig, Padding, Size2};
pub use dense::{Dense, DenseConfig, MAX_LAYER_PARAMS};
pub use drop_connect::{DropConnect, DropConnectConfig};
pub use dropout::{Dropout, DropoutConfig, SpatialDropout1DConfig, SpatialDropout2DConfig, SpatialDropoutConfig};
pub use embedding::{Embedding, EmbeddingConfig, Masking, MaskingConfig};
pub use flatten::{Flatten, FlattenConfig};
pub use functional::{Functional, GraphBuilder, Symbol};
pub use global_pooling::{
    GlobalAveragePooling1DConfig, GlobalAveragePooling2DConfig, GlobalMaxPooling1DConfig, GlobalMaxPooling2DConfig,
    GlobalPooling, GlobalPoolingConfig,
};
pub use init::Initializer;
pub use maxout::{Maxout, MaxoutConfig};
pub use pooling2d::{
    AveragePooling1DConfig, AveragePooling2DConfig, MaxPooling1DConfig, MaxPooling2DConfig, Pooling1D, Pooling1DConfig,
    Pooling2D, Pooling2DConfig,
};
pub use recurrent::{
    Bidirectional, BidirectionalConfig, GruConfig, LstmConfig, MergeMode, Recurrent, RecurrentConfig, RecurrentOutput,
    SimpleRnnConfig,
};
pub use regularizer::Regularizer;
pub use reshape::{Reshape, ReshapeConfig};
pub use sequential::Sequential;
pub use summary::SummaryRow;
pub use time_distributed::{TimeDistributed, TimeDistributedConfig};

use crate::error::Result;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor, TensorId};
use std::sync::RwLock;

/// Whether a forward pass trains (dropout active) or infers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Training: stochastic layers sample.
    Train,
    /// Inference: deterministic.
    Infer,
}

#[allow(non_upper_case_globals)]
impl Mode {
    /// [`Mode::Infer`] under the name PyTorch users know (`model.eval()`); also usable in patterns.
    pub const Eval: Mode = Mode::Infer;
    /// [`Mode::Infer`] as Keras's `training=False` reads: inference.
    pub const Inference: Mode = Mode::Infer;
}

/// A named tensor that a layer owns and the optimizer changes: the only mutable tensor.
///
/// Its identity ([`Param::id`]) stays the same across updates, so gradients and optimizer state
/// are keyed by it.
pub struct Param<T: Element = f32> {
    name: String,
    value: RwLock<Tensor<T>>,
    trainable: bool,
}

impl<T: Element> Param<T> {
    /// A parameter holding `value`; trainable ones collect gradients.
    pub fn new(name: impl Into<String>, value: Tensor<T>, trainable: bool) -> Self {
        Param { name: name.into(), value: RwLock::new(value.with_requires_grad(trainable)), trainable }
    }

    /// The name ("kernel", "bias").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current value (a cheap handle; use it in the forward pass).
    pub fn value(&self) -> Tensor<T> {
        self.value.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The identity under which this parameter's gradient is stored.
    pub fn id(&self) -> TensorId {
        self.value().id()
    }

    /// Whether the optimizer trains it.
    pub fn trainable(&self) -> bool {
        self.trainable
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.value().shape().clone()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.value().numel()
    }

    /// Replace the values (same shape), keeping the identity.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn set(&self, values: &Tensor<T>) -> Result<()> {
        let mut guard = self.value.write().unwrap_or_else(|p| p.into_inner());
        if guard.shape() != values.shape() {
            return Err(crate::Error::mismatch(
                &format!("set parameter '{}'", self.name),
                guard.shape(),
                values.shape(),
                "shapes must match",
            ));
        }
        *guard = guard.replaced(values.to_vec());
        Ok(())
    }

    /// Change the values in place (the optimizer's path). The buffer is reused when nothing else
    /// holds it, which is the case once backward has freed the graph.
    pub(crate) fn update(&self, f: impl FnOnce(&mut [T])) {
        let mut guard = self.value.write().unwrap_or_else(|p| p.into_inner());
        if let Some(data) = guard.data_mut() {
            f(data);
            return;
        }
        let mut data = guard.to_vec();
        f(&mut data);
        *guard = guard.replaced(data);
    }
}

/// A building block of a network: forward pass, output shape, parameters.
///
/// Shapes given to and returned by [`Layer::output_shape`] are per sample (no batch axis), as in
/// Keras's `(None, 32)`.
pub trait Layer<T: Element = f32>: Send + Sync {
    /// The layer applied to a batch.
    ///
    /// # Errors
    /// When the input does not fit (the message names the layer and both shapes).
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>>;
    /// The per-sample output shape for a per-sample input shape, without data.
    ///
    /// # Errors
    /// When the input shape does not fit.
    fn output_shape(&self, input: &Shape) -> Result<Shape>;
    /// Parameters, trainable or not.
    fn params(&self) -> Vec<&Param<T>>;
    /// The layer type for `summary()` ("Dense").
    fn kind(&self) -> &'static str;
    /// The layer's name ("dense_1").
    fn name(&self) -> &str;
    /// The regularization penalty this layer adds to the loss, if any.
    ///
    /// # Errors
    /// Only if a tensor op fails.
    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        Ok(None)
    }
    /// How far the layer's own random stream (dropout masks) has advanced, for training
    /// checkpoints; `None` for layers that draw no random numbers.
    fn random_position(&self) -> Option<u128> {
        None
    }
    /// Move the layer's random stream to a position [`Layer::random_position`] returned, so a
    /// resumed run draws the masks an uninterrupted one would have.
    fn set_random_position(&self, _position: u128) {}
    /// Whether a step mask arriving at this layer applies unchanged to its output (layers
    /// that work on each step alone: dropout, activations, Dense on each step). Such layers
    /// pass it on; other layers that do not override [`Layer::forward_masked`] refuse one.
    fn passes_mask(&self) -> bool {
        false
    }
    /// Whether the output carries a step mask, given whether the input does: checked when a
    /// network is built, so a mask that a layer would drop is an error before training.
    ///
    /// # Errors
    /// When a mask arrives at a layer that can neither use nor pass it.
    fn output_masked(&self, input_masked: bool) -> Result<bool> {
        match (input_masked, self.passes_mask()) {
            (false, _) => Ok(false),
            (true, true) => Ok(true),
            (true, false) => Err(mask_refused(self.name(), self.kind())),
        }
    }
    /// The forward pass with the step mask of the layers before (`[batch, steps]`, true for
    /// real steps, from `embedding`'s `mask_zero` or `masking`), returning the output's mask.
    ///
    /// # Errors
    /// As [`Layer::forward`], or when a mask arrives at a layer that cannot take it.
    fn forward_masked(
        &self,
        x: &Tensor<T>,
        mask: Option<&StepMask>,
        mode: Mode,
    ) -> Result<(Tensor<T>, Option<StepMask>)> {
        match mask {
            None => Ok((self.forward(x, mode)?, None)),
            Some(m) if self.passes_mask() => Ok((self.forward(x, mode)?, Some(m.clone()))),
            Some(_) => Err(mask_refused(self.name(), self.kind())),
        }
    }
}

/// Which steps of each sequence in a batch are real: `[batch, steps]`, row-major, true for a
/// real step, false for padding.
pub type StepMask = std::sync::Arc<[bool]>;

/// A step mask as factors `[batch, steps, 1]`: 1 for real steps, 0 for padding (what zeroes
/// padded steps or weighs a masked mean).
pub(crate) fn mask_factors<T: Element>(mask: &StepMask, batch: usize, steps: usize) -> Result<Tensor<T>> {
    Tensor::from_vec(mask.iter().map(|&k| if k { T::one() } else { T::zero() }).collect(), [batch, steps, 1])
}

fn mask_refused(name: &str, kind: &str) -> crate::Error {
    crate::Error::invalid(
        format!("layer '{name}'"),
        format!(
            "{kind} cannot use the step mask made by `mask_zero` or `masking` before it, and dropping it would let \
             padding change the result: put a recurrent layer or global_average_pooling1d first, or turn the mask off"
        ),
    )
}

/// Layer names unique within a network: Keras's "dense", "dense_1", ... or the name asked for.
#[derive(Default)]
pub(crate) struct LayerNames {
    taken: std::collections::HashSet<String>,
    counts: std::collections::HashMap<&'static str, usize>,
}

impl LayerNames {
    /// The requested name if free (an error if taken), else the next free name for `stem`.
    pub(crate) fn claim(&mut self, requested: Option<&str>, stem: &'static str) -> Result<String> {
        let name = match requested {
            Some(n) if self.taken.contains(n) => {
                return Err(crate::Error::invalid("layer name", format!("'{n}' is already used in this network")))
            }
            Some(n) => n.to_string(),
            None => loop {
                let count = self.counts.entry(stem).or_insert(0);
                let candidate = if *count == 0 { stem.to_string() } else { format!("{stem}_{count}") };
                *count += 1;
                if !self.taken.contains(&candidate) {
                    break candidate;
                }
            },
        };
        self.taken.insert(name.clone());
        Ok(name)
    }
}

/// The sum of the penalties that are present (None when there are none).
pub(crate) fn sum_penalties<T: Element>(
    terms: impl IntoIterator<Item = Result<Option<Tensor<T>>>>,
) -> Result<Option<Tensor<T>>> {
    let mut total: Option<Tensor<T>> = None;
    for term in terms {
        if let Some(p) = term? {
            total = Some(match total {
                Some(t) => t.add(&p)?,
                None => p,
            });
        }
    }
    Ok(total)
}

/// The penalty of a layer with a kernel and an optional bias, each with an optional regularizer.
pub(crate) fn kernel_bias_penalty<T: Element>(
    (kernel_regularizer, kernel): (Option<Regularizer>, &Param<T>),
    (bias_regularizer, bias): (Option<Regularizer>, Option<&Param<T>>),
) -> Result<Option<Tensor<T>>> {
    params_penalty([(kernel_regularizer, Some(kernel)), (bias_regularizer, bias)])
}

/// The sum of each present parameter's regularizer penalty (None when there are none).
pub(crate) fn params_penalty<'a, T: Element>(
    pairs: impl IntoIterator<Item = (Option<Regularizer>, Option<&'a Param<T>>)>,
) -> Result<Option<Tensor<T>>> {
    sum_penalties(pairs.into_iter().map(|pair| match pair {
        (Some(reg), Some(param)) => reg.penalty(&param.value()).map(Some),
        _ => Ok(None),
    }))
}

/// A layer's parameters named `"{layer}.{param}"`.
pub(crate) fn named_layer_params<T: Element>(layer: &dyn Layer<T>) -> Vec<(String, &Param<T>)> {
    layer.params().into_iter().map(|p| (format!("{}.{}", layer.name(), p.name()), p)).collect()
}

/// A whole network from one input to one output: what a [`crate::train::Model`] trains.
pub trait Network<T: Element = f32>: Layer<T> {
    /// The per-sample input shape.
    fn input_shape(&self) -> &Shape;

    /// The rows of the summary table, the input first.
    fn summary_rows(&self) -> Vec<SummaryRow>;

    /// Every parameter with its unique name, `"{layer}.{param}"` ("hidden1.kernel"): the keys
    /// of a weights file.
    fn named_params(&self) -> Vec<(String, &Param<T>)>;

    /// Every layer, in the order the forward pass runs them.
    fn each_layer(&self) -> Vec<&dyn Layer<T>>;

    /// Total number of parameter elements.
    fn count_params(&self) -> usize {
        self.params().iter().map(|p| p.numel()).sum()
    }

    /// Keras's `summary()`: layer name and type, output shape, parameter count, then totals.
    fn summary(&self) -> String {
        summary::render(self.name(), &self.summary_rows(), &self.params())
    }
}

/// A layer kind's configuration: what builds the layer, and the name it asks for. Each kind
/// implements it in its own file; [`LayerConfig`] dispatches to it, so a kind cannot be listed
/// without its name and build.
pub trait LayerKind {
    /// The name the config asks for, if any (default: Keras's stem, numbered).
    fn requested_name(&self) -> Option<&str>;

    /// Validate the config against the per-sample input shape and create the layer.
    ///
    /// # Errors
    /// When a hyper-parameter is out of range or the input shape does not fit.
    fn build_layer<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>>;
}

/// The one table of layer kinds: the variant, its config (which the spec's table deserializes
/// into directly) and its spec `type`, which is also Keras's default name stem ("dense",
/// "dense_1", ...). Adding a layer is its file and one row here.
macro_rules! layer_kinds {
    ($( $(#[$doc:meta])* $variant:ident($config:ty) = $type_name:literal, )*) => {
        /// Every layer kind by its configuration: what a model spec lists (`type = "dense"`).
        #[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(tag = "type")]
        pub enum LayerConfig {
            $( $(#[$doc])* #[serde(rename = $type_name)] $variant($config), )*
        }

        impl LayerConfig {
            /// Every spec `type`, in the table's order.
            pub const TYPES: &'static [&'static str] = &[$($type_name),*];

            /// Keras's default name stem for this kind ("dense" -> "dense", "dense_1", ...).
            pub fn stem(&self) -> &'static str {
                match self {
                    $(LayerConfig::$variant(_) => $type_name,)*
                }
            }

            /// The name the config asks for, if any.
            pub fn requested_name(&self) -> Option<&str> {
                match self {
                    $(LayerConfig::$variant(c) => c.requested_name(),)*
                }
            }

            /// Validate the config against the per-sample input shape and create the layer.
            ///
            /// # Errors
            /// When a hyper-parameter is out of range or the input shape does not fit.
            pub fn build<T: Element>(&self, input: &Shape, name: String, rng: &mut Rng) -> Result<Box<dyn Layer<T>>> {
                match self {
                    $(LayerConfig::$variant(c) => c.build_layer(input, name, rng),)*
                }
            }
        }

        $(
            impl From<$config> for LayerConfig {
                fn from(c: $config) -> Self {
                    LayerConfig::$variant(c)
                }
            }
        )*
    };
}

layer_kinds! {
    /// [`Dense`].
    Dense(DenseConfig) = "dense",
    /// [`ActivationLayer`].
    Activation(ActivationConfig) = "activation",
    /// [`Dropout`].
    Dropout(DropoutConfig) = "dropout",
    /// [`Flatten`].
    Flatten(FlattenConfig) = "flatten",
    /// [`DropConnect`].
    DropConnect(DropConnectConfig) = "drop_connect",
    /// [`Maxout`].
    Maxout(MaxoutConfig) = "maxout",
    /// [`Reshape`].
    Reshape(ReshapeConfig) = "reshape",
    /// [`Conv2D`].
    Conv2D(Conv2DConfig) = "conv2d",
    /// [`Pooling2D`], max.
    MaxPooling2D(MaxPooling2DConfig) = "max_pooling2d",
    /// [`Pooling2D`], average.
    AveragePooling2D(AveragePooling2DConfig) = "average_pooling2d",
    /// [`Conv1D`].
    Conv1D(Conv1DConfig) = "conv1d",
    /// [`Pooling1D`], max.
    MaxPooling1D(MaxPooling1DConfig) = "max_pooling1d",
    /// [`Pooling1D`], average.
    AveragePooling1D(AveragePooling1DConfig) = "average_pooling1d",
    /// [`GlobalPooling`], mean over steps.
    GlobalAveragePooling1D(GlobalAveragePooling1DConfig) = "global_average_pooling1d",
    /// [`GlobalPooling`], mean over height and width.
    GlobalAveragePooling2D(GlobalAveragePooling2DConfig) = "global_average_pooling2d",
    /// [`GlobalPooling`], maximum over steps.
    GlobalMaxPooling1D(GlobalMaxPooling1DConfig) = "global_max_pooling1d",
    /// [`GlobalPooling`], maximum over height and width.
    GlobalMaxPooling2D(GlobalMaxPooling2DConfig) = "global_max_pooling2d",
    /// [`BatchNormalization`].
    BatchNormalization(BatchNormalizationConfig) = "batch_normalization",
    /// [`Dropout`] of whole channels over steps.
    SpatialDropout1D(SpatialDropout1DConfig) = "spatial_dropout1d",
    /// [`Dropout`] of whole feature maps.
    SpatialDropout2D(SpatialDropout2DConfig) = "spatial_dropout2d",
    /// [`Embedding`].
    Embedding(EmbeddingConfig) = "embedding",
    /// [`Masking`].
    Masking(MaskingConfig) = "masking",
    /// [`Recurrent`], SimpleRNN.
    SimpleRnn(SimpleRnnConfig) = "simple_rnn",
    /// [`Recurrent`], LSTM.
    Lstm(LstmConfig) = "lstm",
    /// [`Recurrent`], GRU.
    Gru(GruConfig) = "gru",
    /// [`Bidirectional`].
    Bidirectional(BidirectionalConfig) = "bidirectional",
    /// [`TimeDistributed`].
    TimeDistributed(TimeDistributedConfig) = "time_distributed",
}

impl From<Activation> for LayerConfig {
    fn from(activation: Activation) -> Self {
        LayerConfig::Activation(ActivationConfig { activation, name: None })
    }
}
