//! Training, Keras-style: `compile` a network into a [`Model`], then `fit`, `evaluate`, `predict`.

pub mod callback_kinds;
pub mod callbacks;
pub(crate) mod checkpoint;
mod history;
pub mod metrics;
mod progress;

pub use callbacks::{
    check_monitor, Callback, CallbackState, Control, CsvLogger, EarlyStopping, ModelCheckpoint, MonitorMode,
    ReduceLrOnPlateau, TerminateOnNaN,
};
pub use checkpoint::Checkpoint;
use checkpoint::ResumeState;
pub use history::History;
pub use metrics::Metric;

use crate::autograd::no_grad;
use crate::data::augment::Augmentation;
use crate::data::loader::DataLoader;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::nn::{Mode, Network, Sequential};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::rng::seeded_rng;
use crate::tensor::{Element, Tensor};
use progress::ProgressBar;

/// Settings of [`Model::fit`], with Keras's defaults.
#[derive(Clone, Debug)]
pub struct FitConfig<T: Element = f32> {
    /// Passes over the data (default 1).
    pub epochs: usize,
    /// Samples per step (default 32).
    pub batch_size: usize,
    /// Shuffle the training rows each epoch (default true).
    pub shuffle: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Data to evaluate after each epoch (`val_loss` and `val_` metrics).
    pub validation_data: Option<(Tensor<T>, Tensor<T>)>,
    /// Fraction of the training rows, taken from the end before shuffling, held out for
    /// validation when `validation_data` is not given (default 0).
    pub validation_split: f64,
    /// 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    pub verbose: u8,
    /// Perturb each training batch (seeded from `seed`); validation data is left as it is.
    pub augment: Option<Augmentation>,
    /// Write a [`Checkpoint`] of the whole training state here after every epoch (atomically),
    /// so [`Model::resume_with_callbacks`] can continue the run after a crash.
    pub checkpoint: Option<std::path::PathBuf>,
}

impl<T: Element> Default for FitConfig<T> {
    fn default() -> Self {
        FitConfig {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_data: None,
            validation_split: 0.0,
            verbose: 1,
            augment: None,
            checkpoint: None,
        }
    }
}

/// A network with its optimizer, loss and metrics.
pub struct Model<T: Element = f32> {
    network: Box<dyn Network<T>>,
    optimizer: Optimizer<T>,
    loss: Loss,
    /// Each metric under the name it is logged by (the name asked for, as Keras 3: `accuracy`
    /// stays `accuracy` once resolved to a concrete kind) and its resolved kind.
    metrics: Vec<(String, Metric)>,
}

impl<T: Element> Sequential<T> {
    /// Attach an optimizer, a loss and metrics (`Accuracy` is resolved from the loss).
    ///
    /// # Errors
    /// When an optimizer hyper-parameter is invalid.
    pub fn compile(self, optimizer: OptimizerConfig, loss: Loss, metrics: &[Metric]) -> Result<Model<T>> {
        Model::new(self, optimizer.build()?, loss, metrics)
    }
}

impl<T: Element> crate::nn::Functional<T> {
    /// Attach an optimizer, a loss and metrics (`Accuracy` is resolved from the loss).
    ///
    /// # Errors
    /// When an optimizer hyper-parameter is invalid.
    pub fn compile(self, optimizer: OptimizerConfig, loss: Loss, metrics: &[Metric]) -> Result<Model<T>> {
        Model::new(self, optimizer.build()?, loss, metrics)
    }
}

impl<T: Element> Model<T> {
    /// A model from a network and a built optimizer (schedules, clipping already set).
    ///
    /// # Errors
    /// When the network's output shape cannot be worked out.
    pub fn new(
        network: impl Network<T> + 'static,
        optimizer: Optimizer<T>,
        loss: Loss,
        metrics: &[Metric],
    ) -> Result<Self> {
        optimizer.validate()?;
        let output = network.output_shape(network.input_shape())?;
        let width = output.dims().last().copied().unwrap_or(1);
        let metrics = metrics.iter().map(|m| (m.name().to_string(), m.resolve(loss, width))).collect();
        Ok(Model { network: Box::new(network), optimizer, loss, metrics })
    }

    /// The network.
    pub fn network(&self) -> &dyn Network<T> {
        self.network.as_ref()
    }

    /// The optimizer.
    pub fn optimizer_mut(&mut self) -> &mut Optimizer<T> {
        &mut self.optimizer
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The metrics: the name each is logged under and the kind it resolved to.
    pub fn metrics(&self) -> &[(String, Metric)] {
        &self.metrics
    }

    /// The names `fit` logs each epoch, in order: `loss`, the metrics, with validation data
    /// the same with `val_`, and `learning_rate`. Callbacks' `monitor` must be one of them.
    pub fn log_names(&self, validation: bool) -> Vec<String> {
        let own: Vec<String> =
            std::iter::once("loss".to_string()).chain(self.metrics.iter().map(|(k, _)| k.clone())).collect();
        let mut names = own.clone();
        if validation {
            names.extend(own.iter().map(|k| format!("val_{k}")));
        }
        names.push("learning_rate".into());
        names
    }

    /// The Keras-style summary table.
    pub fn summary(&self) -> String {
        self.network.summary()
    }

    /// Save every parameter to a safetensors file, atomically (see [`crate::io::save_weights`]).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::io::save_weights(self.network.as_ref(), path)
    }

    /// Load parameters saved by [`Model::save_weights`]; all or nothing.
    ///
    /// # Errors
    /// When the file is unreadable, malformed, or does not fit the network (names the tensor).
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::io::load_weights(self.network.as_ref(), path)
    }

    /// Copies of every parameter's values, in `params()` order.
    pub fn get_weights(&self) -> Vec<Tensor<T>> {
        self.network.params().iter().map(|p| p.value().detach()).collect()
    }

    /// Replace every parameter's values.
    ///
    /// # Errors
    /// When the count or a shape differs.
    pub fn set_weights(&mut self, weights: &[Tensor<T>]) -> Result<()> {
        let params = self.network.params();
        if params.len() != weights.len() {
            return Err(Error::invalid(
                "set_weights",
                format!("the model has {} parameters, got {} tensors", params.len(), weights.len()),
            ));
        }
        params.iter().zip(weights).try_for_each(|(p, w)| p.set(w))
    }

    /// One optimization step on a batch: forward, loss (plus penalties), backward, update.
    /// Returns the loss and the (detached) predictions for the metrics.
    ///
    /// # Errors
    /// When shapes do not fit, or the loss is not finite (nothing is updated then).
    pub fn train_step(&mut self, x: &Tensor<T>, y: &Tensor<T>) -> Result<(f64, Tensor<T>)> {
        let pred = self.network.forward(x, Mode::Train)?;
        let mut loss = self.loss.compute(&pred, y)?;
        if let Some(penalty) = self.network.penalty()? {
            loss = loss.add(&penalty)?;
        }
        let value = loss.item()?.f64();
        if !value.is_finite() {
            let context = match crate::autograd::anomaly::take_anomaly() {
                Some(anomaly) => format!("loss ({anomaly})"),
                None => "loss (turn on strata::autograd::anomaly::set_detect_anomaly to find the op that produced it)"
                    .into(),
            };
            return Err(Error::NonFinite { context, value });
        }
        let grads = loss.backward()?;
        self.optimizer.step(&self.network.params(), &grads)?;
        Ok((value, pred.detach()))
    }

    /// Train for `config.epochs` epochs; returns the per-epoch history.
    ///
    /// # Errors
    /// On bad data (no rows, row counts or target shapes that do not fit the network, a batch
    /// size of 0), or a non-finite loss (the message names the epoch and batch).
    pub fn fit(&mut self, x: &Tensor<T>, y: &Tensor<T>, config: &FitConfig<T>) -> Result<History> {
        self.fit_with_callbacks(x, y, config, &mut [])
    }

    /// [`Model::fit`] with callbacks.
    ///
    /// # Errors
    /// As [`Model::fit`], or a callback's error.
    pub fn fit_with_callbacks(
        &mut self,
        x: &Tensor<T>,
        y: &Tensor<T>,
        config: &FitConfig<T>,
        callbacks: &mut [&mut dyn Callback<T>],
    ) -> Result<History> {
        self.run_fit(x, y, config, callbacks, None)
    }

    /// Continue a `fit` from a [`Checkpoint`] that `config.checkpoint` wrote, as if it had never
    /// stopped: the result is bit for bit that of an uninterrupted run (weights, optimizer
    /// state, learning rate, random streams, callbacks' counters, history). Give the same data,
    /// settings and callbacks as the interrupted run; differences are refused. A finished
    /// checkpoint trains no further (callbacks' `on_train_end` still runs).
    ///
    /// # Errors
    /// When a setting, the data or the network differ from the checkpoint's (each difference is
    /// named with both values), or as [`Model::fit`].
    pub fn resume_with_callbacks(
        &mut self,
        x: &Tensor<T>,
        y: &Tensor<T>,
        config: &FitConfig<T>,
        callbacks: &mut [&mut dyn Callback<T>],
        checkpoint: &Checkpoint<T>,
    ) -> Result<History> {
        self.run_fit(x, y, config, callbacks, Some(checkpoint))
    }

    fn run_fit(
        &mut self,
        x: &Tensor<T>,
        y: &Tensor<T>,
        config: &FitConfig<T>,
        callbacks: &mut [&mut dyn Callback<T>],
        resume: Option<&Checkpoint<T>>,
    ) -> Result<History> {
        let (x_train, y_train, validation) = self.split_validation(x, y, config)?;
        let mut loader = DataLoader::new(&x_train, &y_train, config.batch_size)?;
        if config.shuffle {
            loader = loader.shuffle(config.seed);
        }
        // A stream of its own, so augmenting does not change the shuffling order.
        let mut augment_rng = seeded_rng(config.seed ^ 0x5eed_a06e);
        if let Some(a) = &config.augment {
            a.validate()?;
        }
        let logged = self.log_names(validation.is_some());
        for cb in callbacks.iter() {
            if let Some(monitor) = cb.monitor() {
                callbacks::check_monitor("fit", monitor, &logged)?;
            }
        }
        let mut history = History::new();
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        let state = ResumeState::new(
            self,
            config,
            (&x_train, &y_train, validation.as_ref()),
            callbacks,
            config.checkpoint.is_some() || resume.is_some(),
        );
        let (mut first_epoch, mut finished) = (0, false);
        if let Some(checkpoint) = resume {
            state.restore(self, checkpoint, &mut loader, &mut augment_rng, callbacks)?;
            (first_epoch, finished, history) =
                (checkpoint.epochs_done, checkpoint.finished, checkpoint.history.clone());
        }
        // A finished run trains on only when asked for more epochs than it was given.
        let planned = resume.and_then(Checkpoint::epochs_planned).unwrap_or(first_epoch);
        let epochs = if finished && config.epochs <= planned { first_epoch } else { config.epochs };
        for epoch in first_epoch..epochs {
            let logs = self.train_epoch(epoch, config, &mut loader, &mut augment_rng, validation.as_ref())?;
            history.push(&logs);
            let mut stop = false;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(epoch, &logs, self)? == Control::Stop;
            }
            if let Some(path) = &config.checkpoint {
                let done = stop || epoch + 1 == config.epochs;
                state.checkpoint(self, (epoch + 1, done), &history, &loader, &augment_rng, callbacks).save(path)?;
            }
            if stop {
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(self)?;
        }
        Ok(history)
    }

    /// One epoch: every batch (augmented when asked) through a training step, the progress bar
    /// or line, then validation and the learning rate; returns the epoch's logs.
    fn train_epoch(
        &mut self,
        epoch: usize,
        config: &FitConfig<T>,
        loader: &mut DataLoader<'_, T>,
        augment_rng: &mut crate::rng::Rng,
        validation: Option<&(Tensor<T>, Tensor<T>)>,
    ) -> Result<Vec<(String, f64)>> {
        let mut bar = (config.verbose == 1).then(|| ProgressBar::new(loader.len(), epoch, config.epochs));
        let mut totals = Totals::new(&self.metrics);
        for (batch, xy) in loader.epoch().enumerate() {
            let (mut xb, yb) = xy?;
            if let Some(a) = &config.augment {
                xb = a.apply(&xb, augment_rng)?;
            }
            let (loss, pred) = self.train_step(&xb, &yb).map_err(|e| match e {
                Error::NonFinite { value, context } => {
                    Error::NonFinite { context: format!("epoch {}, batch {}: {context}", epoch + 1, batch + 1), value }
                }
                other => other,
            })?;
            totals.add(loss, &pred, &yb)?;
            if let Some(bar) = bar.as_mut() {
                bar.update(batch + 1, || totals.logs(&self.metrics, ""));
            }
        }
        let mut logs = totals.logs(&self.metrics, "");
        if let Some((xv, yv)) = validation {
            logs.extend(self.evaluate(xv, yv, config.batch_size)?.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
        }
        logs.push(("learning_rate".into(), self.optimizer.current_learning_rate()));
        if let Some(bar) = bar.as_mut() {
            bar.finish(&logs);
        } else if config.verbose == 2 {
            let line: Vec<String> = logs.iter().map(|(k, v)| format!("{k}: {}", progress::value(*v))).collect();
            eprintln!("Epoch {}/{} - {}", epoch + 1, config.epochs, line.join(" - "));
        }
        Ok(logs)
    }

    /// Check the data against the network and carve out the validation set.
    #[allow(clippy::type_complexity)]
    fn split_validation(
        &self,
        x: &Tensor<T>,
        y: &Tensor<T>,
        config: &FitConfig<T>,
    ) -> Result<(Tensor<T>, Tensor<T>, Option<(Tensor<T>, Tensor<T>)>)> {
        if config.batch_size == 0 {
            return Err(Error::invalid("fit", "batch_size must be > 0, got 0"));
        }
        if !(0.0..1.0).contains(&config.validation_split) {
            return Err(Error::invalid(
                "fit",
                format!("validation_split must be in [0, 1), got {}", config.validation_split),
            ));
        }
        self.check_data("fit", x, y)?;
        self.check_classes(y)?;
        let n = x.dims()[0];
        crate::memory::check_training(
            &self.network.summary_rows(),
            std::mem::size_of::<T>(),
            config.batch_size.min(n),
            self.optimizer.slots(),
        )?;
        if let Some((xv, yv)) = &config.validation_data {
            self.check_data("fit (validation_data)", xv, yv)?;
            return Ok((x.clone(), y.clone(), Some((xv.clone(), yv.clone()))));
        }
        let held_out = (n as f64 * config.validation_split).floor() as usize;
        if held_out == 0 {
            return Ok((x.clone(), y.clone(), None));
        }
        if held_out == n {
            return Err(Error::invalid(
                "fit",
                format!("validation_split {} leaves no training rows of {n}", config.validation_split),
            ));
        }
        let keep = n - held_out;
        Ok((x.slice_batch(0, keep)?, y.slice_batch(0, keep)?, Some((x.slice_batch(keep, n)?, y.slice_batch(keep, n)?))))
    }

    /// A classifier cannot learn from targets of one class: refuse them before training.
    fn check_classes(&self, y: &Tensor<T>) -> Result<()> {
        let classifier = self.loss.is_classifier();
        let first = y.data().first().copied();
        let one_class = match self.loss {
            // One-hot rows: a single class means every row is the same.
            Loss::CategoricalCrossentropy { .. } => {
                let width = y.numel() / y.dims()[0].max(1);
                y.data().chunks(width.max(1)).all(|row| row == &y.data()[..width.min(y.numel())])
            }
            _ => y.data().iter().all(|&v| Some(v) == first),
        };
        if classifier && one_class && y.numel() > 0 {
            let value = first.map_or(f64::NAN, |v| v.f64());
            return Err(Error::invalid(
                "fit",
                format!(
                    "every target has the same class ({value}): a classifier ({}) needs at least two classes",
                    self.loss.name()
                ),
            ));
        }
        Ok(())
    }

    /// Rows present, row counts equal, input and target shapes fit the network and the loss.
    fn check_data(&self, op: &str, x: &Tensor<T>, y: &Tensor<T>) -> Result<()> {
        let n = *x.dims().first().ok_or_else(|| Error::shape(op, x.shape(), "inputs need a batch axis"))?;
        if n == 0 {
            return Err(Error::shape(op, x.shape(), "the dataset is empty"));
        }
        if y.dims().first() != Some(&n) {
            return Err(Error::mismatch(
                op,
                x.shape(),
                y.shape(),
                "inputs and targets must have the same number of rows",
            ));
        }
        let input = crate::Shape::new(&x.dims()[1..]);
        if &input != self.network.input_shape() {
            return Err(Error::mismatch(
                op,
                self.network.input_shape(),
                &input,
                "the network's input shape vs the data's per-sample shape",
            ));
        }
        let out = self.network.output_shape(&input)?;
        let target = &y.dims()[1..];
        let sparse = matches!(self.loss, Loss::SparseCategoricalCrossentropy { .. });
        let fits = if sparse { target.is_empty() || target == [1] } else { target == out.dims() };
        let width = out.dims().last().copied().unwrap_or(1);
        if !fits
            && matches!(self.loss, Loss::CategoricalCrossentropy { .. })
            && (target.is_empty() || target == [1])
            && width > 1
        {
            return Err(Error::mismatch(
                op,
                &out,
                y.shape(),
                format!(
                    "categorical_crossentropy needs one-hot targets [n, {width}], and these are class indices: set one_hot = true in [data], or use the loss sparse_categorical_crossentropy"
                ),
            ));
        }
        if !fits && sparse && target == out.dims() && width > 1 {
            return Err(Error::mismatch(
                op,
                &out,
                y.shape(),
                "sparse_categorical_crossentropy needs class indices [n], and these are one-hot rows: use categorical_crossentropy, or drop one_hot = true",
            ));
        }
        if !fits {
            let want = if sparse {
                "class indices [n] or [n, 1]".to_string()
            } else {
                format!("[n, {}]", out.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
            };
            return Err(Error::mismatch(
                op,
                &out,
                y.shape(),
                format!("targets must be {want} for loss {} and network output {out}", self.loss.name()),
            ));
        }
        if sparse {
            // Checked over the whole set so the message names the dataset's row, not a batch's.
            let classes = out.dims().last().copied().unwrap_or(1);
            crate::loss::class_indices(op, y, n, classes)?;
        }
        Ok(())
    }

    /// Loss and metrics over a dataset, in batches, without recording a graph.
    ///
    /// # Errors
    /// When shapes do not fit or the batch size is 0.
    pub fn evaluate(&self, x: &Tensor<T>, y: &Tensor<T>, batch_size: usize) -> Result<Evaluation> {
        if batch_size == 0 {
            return Err(Error::invalid("evaluate", "batch_size must be > 0, got 0"));
        }
        self.check_data("evaluate", x, y)?;
        let _guard = no_grad();
        let n = x.dims()[0];
        let mut totals = Totals::new(&self.metrics);
        for start in (0..n).step_by(batch_size) {
            let end = (start + batch_size).min(n);
            let (xb, yb) = (x.slice_batch(start, end)?, y.slice_batch(start, end)?);
            let pred = self.network.forward(&xb, Mode::Infer)?;
            let mut loss = self.loss.compute(&pred, &yb)?;
            if let Some(p) = self.network.penalty()? {
                loss = loss.add(&p)?;
            }
            totals.add(loss.item()?.f64(), &pred, &yb)?;
        }
        Ok(Evaluation(totals.logs(&self.metrics, "")))
    }

    /// The network's outputs for `x`, in batches, without recording a graph.
    ///
    /// # Errors
    /// When the input shape does not fit or the batch size is 0.
    pub fn predict(&self, x: &Tensor<T>, batch_size: usize) -> Result<Tensor<T>> {
        if batch_size == 0 {
            return Err(Error::invalid("predict", "batch_size must be > 0, got 0"));
        }
        let _guard = no_grad();
        let n = *x.dims().first().ok_or_else(|| Error::shape("predict", x.shape(), "inputs need a batch axis"))?;
        if n <= batch_size {
            return self.network.forward(x, Mode::Infer);
        }
        let mut parts = Vec::with_capacity(n.div_ceil(batch_size));
        for start in (0..n).step_by(batch_size) {
            parts.push(self.network.forward(&x.slice_batch(start, (start + batch_size).min(n))?, Mode::Infer)?);
        }
        Tensor::concat(&parts.iter().collect::<Vec<_>>(), 0)
    }
}

/// What [`Model::evaluate`] returns: the loss, then each metric, by the names `fit` logs them
/// under. Indexes as the list of `(name, value)` pairs it derefs to; [`Evaluation::get`] finds a
/// value by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation(pub Vec<(String, f64)>);

impl Evaluation {
    /// The value logged as `name` ("loss", "accuracy", ...).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// The loss.
    pub fn loss(&self) -> f64 {
        self.get("loss").unwrap_or(f64::NAN)
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

impl std::ops::Deref for Evaluation {
    type Target = [(String, f64)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl IntoIterator for Evaluation {
    type Item = (String, f64);
    type IntoIter = std::vec::IntoIter<(String, f64)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Evaluation {
    type Item = &'a (String, f64);
    type IntoIter = std::slice::Iter<'a, (String, f64)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Running sums for sample-weighted averages of the loss, and each metric's state, over an
/// epoch.
struct Totals {
    loss: f64,
    samples: usize,
    metrics: Vec<metrics::MetricAccumulator>,
}

impl Totals {
    fn new(metrics: &[(String, Metric)]) -> Self {
        Totals { loss: 0.0, samples: 0, metrics: metrics.iter().map(|(_, m)| m.accumulator()).collect() }
    }

    fn add<T: Element>(&mut self, loss: f64, pred: &Tensor<T>, y: &Tensor<T>) -> Result<()> {
        let n = pred.dims().first().copied().unwrap_or(1);
        self.loss += loss * n as f64;
        self.samples += n;
        self.metrics.iter_mut().try_for_each(|m| m.update(pred, y))
    }

    fn logs(&self, metrics: &[(String, Metric)], prefix: &str) -> Vec<(String, f64)> {
        let mut logs = vec![(format!("{prefix}loss"), self.loss / self.samples.max(1) as f64)];
        for (state, (key, _)) in self.metrics.iter().zip(metrics) {
            logs.push((format!("{prefix}{key}"), state.result()));
        }
        logs
    }
}
