//! Training checkpoints: everything `fit` needs to continue a run exactly where it stopped
//! (weights, optimizer buffers and step count, base learning rate, the loader's row order and
//! random streams, callbacks' counters, the history so far, and the settings it was trained
//! with). All of it is one safetensors file written atomically, so its parts are committed as
//! one unit: a crash leaves the previous checkpoint or the new one, never a mix.
//!
//! Tensors: `weights/<param>`, `optimizer/<param>/<slot>`, `loader/order` (u64),
//! `callbacks/<i>/values` (f64) and `callbacks/<i>/tensors/<k>`; the rest is JSON in the
//! header's `strata` metadata entry. Floats are stored as tensors or bit patterns, so a resumed
//! run continues bit for bit.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::{Callback, CallbackState, FitConfig, History, Model};
use crate::data::loader::DataLoader;
use crate::error::{Error, Result};
use crate::io::{dtype_of, write_atomic};
use crate::optim::OptimizerState;
use crate::tensor::{Element, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "strata-checkpoint-1";
const METADATA_KEY: &str = "strata";

/// The state of an interrupted (or finished) `fit`, as [`crate::train::FitConfig::checkpoint`]
/// writes it after every epoch; [`crate::train::Model::resume_with_callbacks`] continues from it.
#[derive(Clone, Debug)]
pub struct Checkpoint<T: Element = f32> {
    pub(crate) epochs_done: usize,
    pub(crate) finished: bool,
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) history: History,
    pub(crate) weights: Vec<(String, Tensor<T>)>,
    pub(crate) optimizer: OptimizerState<T>,
    pub(crate) loader_order: Vec<usize>,
    pub(crate) loader_stream: Option<u128>,
    pub(crate) augment_stream: u128,
    pub(crate) layer_streams: Vec<(String, u128)>,
    pub(crate) callbacks: Vec<CallbackState<T>>,
}

/// The JSON part of the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    element: String,
    epochs_done: usize,
    finished: bool,
    settings: Vec<(String, String)>,
    history_csv: String,
    iterations: u64,
    learning_rate_bits: u64,
    weights: Vec<String>,
    /// Parameter name and its number of optimizer buffers.
    optimizer_slots: Vec<(String, usize)>,
    /// u128 stream positions as decimal strings (JSON numbers stop at 64 bits).
    loader_stream: Option<String>,
    augment_stream: String,
    layer_streams: Vec<(String, String)>,
    /// Kind, value names and number of tensors of each callback's state.
    callbacks: Vec<(String, Vec<String>, usize)>,
}

impl<T: Element> Checkpoint<T> {
    /// Epochs completed when it was written.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// The number of epochs the checkpointed run was asked for (None for a checkpoint that
    /// does not record it).
    pub fn epochs_planned(&self) -> Option<usize> {
        self.settings.iter().find(|(n, _)| n == "epochs").and_then(|(_, v)| v.parse().ok())
    }

    /// Whether training had ended (all epochs run, or a callback stopped it).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The history of the completed epochs.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Optimizer steps taken.
    pub fn iterations(&self) -> u64 {
        self.optimizer.iterations
    }

    /// The settings the run was trained with (`("batch_size", "32")`, ...); a resumed run must
    /// match them.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The differences between the checkpoint's settings and `now`, one line each, naming the
    /// setting and both values.
    pub(crate) fn differences(&self, now: &[(String, String)]) -> Vec<String> {
        let clip = |s: &str| {
            if s.chars().count() > 120 {
                format!("{}...", s.chars().take(117).collect::<String>())
            } else {
                s.to_string()
            }
        };
        let mut out = Vec::new();
        // The number of epochs only says where to stop: training further (Keras's
        // `initial_epoch`) or less changes nothing trained so far.
        for (name, value) in now.iter().filter(|(n, _)| n != "epochs") {
            match self.settings.iter().find(|(n, _)| n == name) {
                Some((_, saved)) if saved == value => {}
                Some((_, saved)) => out.push(format!("{name}: {} in the checkpoint, {} now", clip(saved), clip(value))),
                None => out.push(format!("{name}: not in the checkpoint, {} now", clip(value))),
            }
        }
        for (name, saved) in &self.settings {
            if !now.iter().any(|(n, _)| n == name) {
                out.push(format!("{name}: {} in the checkpoint, not set now", clip(saved)));
            }
        }
        out
    }

    /// Write the checkpoint to `path` atomically.
    ///
    /// # Errors
    /// When the file cannot be written (names the path; an existing file stays intact).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    fn to_bytes(&self) -> Result<Vec<u8>> {
        let values_of = crate::io::le_bytes::<T>;
        let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, w) in &self.weights {
            buffers.push((format!("weights/{name}"), dtype_of::<T>(), w.dims().to_vec(), values_of(w.data())));
        }
        for (name, slots) in &self.optimizer.slots {
            for (k, slot) in slots.iter().enumerate() {
                buffers.push((format!("optimizer/{name}/{k}"), dtype_of::<T>(), vec![slot.len()], values_of(slot)));
            }
        }
        let order: Vec<u8> = self.loader_order.iter().flat_map(|&r| (r as u64).to_le_bytes()).collect();
        buffers.push(("loader/order".into(), Dtype::U64, vec![self.loader_order.len()], order));
        for (i, cb) in self.callbacks.iter().enumerate() {
            let values: Vec<u8> = cb.values.iter().flat_map(|(_, v)| v.to_le_bytes()).collect();
            buffers.push((format!("callbacks/{i}/values"), Dtype::F64, vec![cb.values.len()], values));
            for (k, t) in cb.tensors.iter().enumerate() {
                buffers.push((
                    format!("callbacks/{i}/tensors/{k}"),
                    dtype_of::<T>(),
                    t.dims().to_vec(),
                    values_of(t.data()),
                ));
            }
        }
        let header = Header {
            format: FORMAT.into(),
            element: T::NAME.into(),
            epochs_done: self.epochs_done,
            finished: self.finished,
            settings: self.settings.clone(),
            history_csv: self.history.to_csv(),
            iterations: self.optimizer.iterations,
            learning_rate_bits: self.optimizer.learning_rate.to_bits(),
            weights: self.weights.iter().map(|(n, _)| n.clone()).collect(),
            optimizer_slots: self.optimizer.slots.iter().map(|(n, s)| (n.clone(), s.len())).collect(),
            loader_stream: self.loader_stream.map(|p| p.to_string()),
            augment_stream: self.augment_stream.to_string(),
            layer_streams: self.layer_streams.iter().map(|(n, p)| (n.clone(), p.to_string())).collect(),
            callbacks: self
                .callbacks
                .iter()
                .map(|c| (c.kind.clone(), c.values.iter().map(|(k, _)| k.clone()).collect(), c.tensors.len()))
                .collect(),
        };
        let json = serde_json::to_string(&header).map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
        let views = buffers
            .iter()
            .map(|(name, dtype, shape, bytes)| Ok((name.as_str(), TensorView::new(*dtype, shape.clone(), bytes)?)))
            .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        safetensors::serialize(views, Some(metadata)).map_err(|e| Error::invalid("checkpoint", e.to_string()))
    }

    /// Read a checkpoint written by [`Checkpoint::save`].
    ///
    /// # Errors
    /// When the file is unreadable, not a checkpoint, of another element type, or inconsistent
    /// (the error names the file and the part).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(&bytes, path)
    }

    /// [`Checkpoint::load`] from the file's bytes; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Checkpoint::load`].
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |message: String| Error::Parse { path: path.to_path_buf(), line: 0, message };
        crate::io::check_header_size(bytes, path)?;
        let (_, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
        let file = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| bad(format!("no {METADATA_KEY:?} metadata: not a strata training checkpoint")))?;
        let header: Header = serde_json::from_str(json).map_err(|e| bad(format!("checkpoint header: {e}")))?;
        let mut reader = Reader { file, path, expected: Vec::new() };
        let (optimizer, history) = (reader.optimizer::<T>(&header)?, reader.history(&header)?);
        let (weights, loader_order) = (reader.weights::<T>(&header)?, reader.loader_order()?);
        let callbacks = reader.callbacks::<T>(&header)?;
        reader.nothing_unexpected()?;
        let stream = |text: &str, what: &str| -> Result<u128> {
            text.parse::<u128>().map_err(|_| reader.bad(format!("{what}: {text:?} is not a stream position")))
        };
        Ok(Checkpoint {
            epochs_done: header.epochs_done,
            finished: header.finished,
            settings: header.settings.clone(),
            history,
            weights,
            optimizer,
            loader_order,
            loader_stream: header.loader_stream.as_deref().map(|s| stream(s, "loader stream")).transpose()?,
            augment_stream: stream(&header.augment_stream, "augmentation stream")?,
            layer_streams: header
                .layer_streams
                .iter()
                .map(|(n, p)| Ok((n.clone(), stream(p, n)?)))
                .collect::<Result<Vec<_>>>()?,
            callbacks,
        })
    }
}

/// A checkpoint file being read: one reader per section, each checking what it reads and
/// noting the tensors it took, so that any other tensor is refused at the end.
struct Reader<'a> {
    file: SafeTensors<'a>,
    path: &'a Path,
    expected: Vec<String>,
}

impl Reader<'_> {
    /// A parse error naming the file.
    fn bad(&self, message: String) -> Error {
        Error::Parse { path: self.path.to_path_buf(), line: 0, message }
    }

    /// Tensor `name`'s shape and bytes, which must be of `dtype`.
    fn tensor(&mut self, name: &str, dtype: Dtype) -> Result<(Vec<usize>, &[u8])> {
        self.expected.push(name.to_string());
        let view = self.file.tensor(name).map_err(|_| self.bad(format!("missing tensor '{name}'")))?;
        if view.dtype() != dtype {
            return Err(self.bad(format!("tensor '{name}' is {:?}, expected {dtype:?}", view.dtype())));
        }
        Ok((view.shape().to_vec(), view.data()))
    }

    /// Tensor `name` of the model's element type. Weights, optimizer buffers and best weights
    /// are finite in any run that got this far (a non-finite gradient is refused before a
    /// step): anything else is a damaged file.
    fn elements<T: Element>(&mut self, name: &str) -> Result<Tensor<T>> {
        let (shape, data) = self.tensor(name, dtype_of::<T>())?;
        let values = crate::io::finite_values::<T>(data, name).map_err(|m| self.bad(m))?;
        Tensor::from_vec(values, shape)
    }

    /// The format and element type, then the optimizer's counters and buffers.
    fn optimizer<T: Element>(&mut self, header: &Header) -> Result<OptimizerState<T>> {
        if header.format != FORMAT {
            return Err(self.bad(format!("format {:?} is not {FORMAT:?}", header.format)));
        }
        if header.element != T::NAME {
            return Err(self.bad(format!("the checkpoint holds {} values, the model {}", header.element, T::NAME)));
        }
        let learning_rate = f64::from_bits(header.learning_rate_bits);
        if !(learning_rate.is_finite() && learning_rate >= 0.0) {
            return Err(self.bad(format!("the learning rate {learning_rate} is not finite and >= 0")));
        }
        // Adam divides by 1 - beta^t: a counter wrapped past u64::MAX to 0 would divide by zero.
        // No run takes 2^53 steps; beyond it t is not even exact as the f64 the rules use.
        if header.iterations >= 1 << 53 {
            return Err(self.bad(format!("the optimizer step counter {} is beyond 2^53", header.iterations)));
        }
        let mut slots = Vec::with_capacity(header.optimizer_slots.len());
        for (name, count) in &header.optimizer_slots {
            let mut buffers = Vec::new();
            for k in 0..*count {
                buffers.push(self.elements::<T>(&format!("optimizer/{name}/{k}"))?.to_vec());
            }
            slots.push((name.clone(), buffers));
        }
        Ok(OptimizerState { iterations: header.iterations, learning_rate, slots })
    }

    /// The weights, by parameter name.
    fn weights<T: Element>(&mut self, header: &Header) -> Result<Vec<(String, Tensor<T>)>> {
        header.weights.iter().map(|name| Ok((name.clone(), self.elements(&format!("weights/{name}"))?))).collect()
    }

    /// The loader's row order.
    fn loader_order(&mut self) -> Result<Vec<usize>> {
        let (_, bytes) = self.tensor("loader/order", Dtype::U64)?;
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut word = [0u8; 8];
                word.copy_from_slice(c);
                u64::from_le_bytes(word)
            })
            .collect();
        words
            .into_iter()
            .map(|w| usize::try_from(w).map_err(|_| self.bad("loader/order: a row index overflows".into())))
            .collect()
    }

    /// Each callback's named values and tensors.
    fn callbacks<T: Element>(&mut self, header: &Header) -> Result<Vec<CallbackState<T>>> {
        let mut callbacks = Vec::with_capacity(header.callbacks.len());
        for (i, (kind, names, tensors)) in header.callbacks.iter().enumerate() {
            let key = format!("callbacks/{i}/values");
            let (_, data) = self.tensor(&key, Dtype::F64)?;
            let values: Vec<f64> = data.chunks_exact(8).map(f64::read_le).collect();
            if values.len() != names.len() {
                return Err(self.bad(format!("{key}: {} values for {} names", values.len(), names.len())));
            }
            let mut state = CallbackState {
                kind: kind.clone(),
                values: names.iter().cloned().zip(values).collect(),
                tensors: Vec::new(),
            };
            for k in 0..*tensors {
                state.tensors.push(self.elements(&format!("callbacks/{i}/tensors/{k}"))?);
            }
            callbacks.push(state);
        }
        Ok(callbacks)
    }

    /// The history, one row per completed epoch.
    fn history(&self, header: &Header) -> Result<History> {
        let history = History::from_csv(&header.history_csv).map_err(|e| self.bad(format!("history: {e}")))?;
        if history.epochs() != header.epochs_done {
            return Err(self.bad(format!(
                "history has {} rows for {} completed epochs",
                history.epochs(),
                header.epochs_done
            )));
        }
        Ok(history)
    }

    /// No tensor beyond those the sections read.
    fn nothing_unexpected(&self) -> Result<()> {
        let mut unexpected: Vec<&str> =
            self.file.names().into_iter().filter(|n| !self.expected.iter().any(|e| e == n)).collect();
        unexpected.sort_unstable();
        match unexpected.first() {
            Some(name) => Err(self.bad(format!("unexpected tensor '{name}'"))),
            None => Ok(()),
        }
    }
}

/// The training data of a fit: inputs, targets and the validation pair, if any.
pub(crate) type FitData<'a, T> = (&'a Tensor<T>, &'a Tensor<T>, Option<&'a (Tensor<T>, Tensor<T>)>);

/// What `fit` keeps to write checkpoints and to resume from one: the settings a resumed run
/// must share with its checkpoint (empty when the fit neither writes nor resumes one).
pub(crate) struct ResumeState {
    settings: Vec<(String, String)>,
}

impl ResumeState {
    /// The state of a fit of `model` under `config` on `data`; `needed` is false when the fit
    /// neither writes nor resumes a checkpoint (then nothing is fingerprinted).
    pub(crate) fn new<T: Element>(
        model: &Model<T>,
        config: &FitConfig<T>,
        data: FitData<'_, T>,
        callbacks: &[&mut dyn Callback<T>],
        needed: bool,
    ) -> Self {
        let settings = if needed { Self::settings(model, config, data, callbacks) } else { Vec::new() };
        ResumeState { settings }
    }

    /// What a resumed run must share with the checkpoint it resumes: every setting that changes
    /// the numbers, the network's layout and fingerprints of the data.
    fn settings<T: Element>(
        model: &Model<T>,
        config: &FitConfig<T>,
        (x, y, validation): FitData<'_, T>,
        callbacks: &[&mut dyn Callback<T>],
    ) -> Vec<(String, String)> {
        let layout: Vec<String> = model
            .network
            .summary_rows()
            .iter()
            .map(|r| format!("{} {} {} {}", r.name, r.kind, r.output_shape, r.params))
            .collect();
        let stateful: Vec<String> = callbacks.iter().filter_map(|c| c.state()).map(|s| s.kind).collect();
        [
            ("element type", T::NAME.to_string()),
            ("network", layout.join("; ")),
            ("optimizer", model.optimizer.describe()),
            ("loss", format!("{:?}", model.loss)),
            ("metrics", format!("{:?}", model.metrics)),
            ("epochs", config.epochs.to_string()),
            ("batch_size", config.batch_size.to_string()),
            ("shuffle", config.shuffle.to_string()),
            ("seed", config.seed.to_string()),
            ("validation_split", config.validation_split.to_string()),
            ("augment", format!("{:?}", config.augment)),
            ("training inputs", fingerprint(x)),
            ("training targets", fingerprint(y)),
            (
                "validation data",
                validation
                    .map_or_else(|| "none".into(), |(xv, yv)| format!("{} / {}", fingerprint(xv), fingerprint(yv))),
            ),
            ("callbacks with state", stateful.join(", ")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The checkpoint after `epochs_done` epochs (`finished` when no more will run).
    pub(crate) fn checkpoint<T: Element>(
        &self,
        model: &Model<T>,
        (epochs_done, finished): (usize, bool),
        history: &History,
        loader: &DataLoader<'_, T>,
        augment_rng: &crate::rng::Rng,
        callbacks: &[&mut dyn Callback<T>],
    ) -> Checkpoint<T> {
        let named = model.network.named_params();
        let (loader_order, loader_stream) = loader.position();
        Checkpoint {
            epochs_done,
            finished,
            settings: self.settings.clone(),
            history: history.clone(),
            weights: named.iter().map(|(n, p)| (n.clone(), p.value().detach())).collect(),
            optimizer: model.optimizer.state(&named),
            loader_order,
            loader_stream,
            augment_stream: augment_rng.get_word_pos(),
            layer_streams: model
                .network
                .each_layer()
                .iter()
                .filter_map(|l| l.random_position().map(|p| (l.name().to_string(), p)))
                .collect(),
            callbacks: callbacks.iter().filter_map(|c| c.state()).collect(),
        }
    }

    /// Put the model, loader, streams and callbacks where the checkpoint left them; nothing is
    /// changed unless the settings match.
    pub(crate) fn restore<T: Element>(
        &self,
        model: &mut Model<T>,
        checkpoint: &Checkpoint<T>,
        loader: &mut DataLoader<'_, T>,
        augment_rng: &mut crate::rng::Rng,
        callbacks: &mut [&mut dyn Callback<T>],
    ) -> Result<()> {
        let differences = checkpoint.differences(&self.settings);
        if !differences.is_empty() {
            return Err(Error::invalid(
                "resume",
                format!("the run differs from its checkpoint:\n  {}", differences.join("\n  ")),
            ));
        }
        let named = model.network.named_params();
        if named.len() != checkpoint.weights.len()
            || named.iter().zip(&checkpoint.weights).any(|((a, _), (b, _))| a != b)
        {
            return Err(Error::invalid("resume", "the checkpoint's weights do not name this network's parameters"));
        }
        loader.set_position(checkpoint.loader_order.clone(), checkpoint.loader_stream)?;
        for ((_, param), (_, value)) in named.iter().zip(&checkpoint.weights) {
            param.set(value)?;
        }
        model.optimizer.restore(&named, checkpoint.optimizer.clone())?;
        augment_rng.set_word_pos(checkpoint.augment_stream);
        for layer in model.network.each_layer() {
            if layer.random_position().is_some() {
                let position = checkpoint.layer_streams.iter().find(|(n, _)| n == layer.name()).ok_or_else(|| {
                    Error::invalid(
                        "resume",
                        format!("the checkpoint has no random stream for layer '{}'", layer.name()),
                    )
                })?;
                layer.set_random_position(position.1);
            }
        }
        let mut saved = checkpoint.callbacks.iter();
        for cb in callbacks.iter_mut() {
            if cb.state().is_some() {
                let state =
                    saved.next().ok_or_else(|| Error::invalid("resume", "the checkpoint lacks a callback's state"))?;
                cb.restore(state)?;
            }
        }
        Ok(())
    }
}

/// A short fingerprint of a tensor's shape and every value's bits, so a resumed run can tell
/// that its data is the data the checkpoint was trained on.
pub(crate) fn fingerprint<T: Element>(t: &Tensor<T>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in t.data() {
        // Widening f32 to f64 is exact, so distinct values give distinct words.
        h = (h ^ v.f64().to_bits()).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5);
    }
    format!("{} values {:016x}", t.shape(), h)
}
