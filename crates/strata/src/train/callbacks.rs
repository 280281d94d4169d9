//! Callbacks: hooks into `fit`. Implement only the hooks you need; the built-ins are
//! EarlyStopping, ReduceLROnPlateau, TerminateOnNaN and CsvLogger.

use super::Model;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::tensor::{Element, Tensor};
use std::path::PathBuf;

/// What a callback asks `fit` to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// A hook into training. `logs` holds this epoch's values ("loss", "val_loss", metrics).
pub trait Callback<T: Element = f32> {
    /// Before the first epoch.
    ///
    /// # Errors
    /// Stops `fit` with this error.
    fn on_train_begin(&mut self, _model: &mut Model<T>) -> Result<()> {
        Ok(())
    }
    /// After each epoch (0-based), with its logs.
    ///
    /// # Errors
    /// Stops `fit` with this error.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &[(String, f64)], _model: &mut Model<T>) -> Result<Control> {
        Ok(Control::Continue)
    }
    /// After the last epoch.
    ///
    /// # Errors
    /// Stops `fit` with this error.
    fn on_train_end(&mut self, _model: &mut Model<T>) -> Result<()> {
        Ok(())
    }
    /// What the callback has counted so far, for a training checkpoint; `None` when it keeps
    /// nothing across epochs.
    fn state(&self) -> Option<CallbackState<T>> {
        None
    }
    /// The logged value the callback watches, if any: `fit` refuses to start when it will not
    /// be logged (a typo, or `val_*` without validation data).
    fn monitor(&self) -> Option<&str> {
        None
    }
    /// Put back a [`Callback::state`] (called after `on_train_begin` when a run resumes).
    ///
    /// # Errors
    /// When the state is not one this callback wrote (names the missing value).
    fn restore(&mut self, _state: &CallbackState<T>) -> Result<()> {
        Ok(())
    }
}

/// A callback's state in a training checkpoint: named numbers and tensors.
#[derive(Clone, Debug)]
pub struct CallbackState<T: Element = f32> {
    /// Which callback wrote it ("EarlyStopping"); a resumed run checks it.
    pub kind: String,
    /// Named numbers; a name may repeat (a list). `None` options are stored as NaN.
    pub values: Vec<(String, f64)>,
    /// Tensors (EarlyStopping's best weights).
    pub tensors: Vec<Tensor<T>>,
}

impl<T: Element> CallbackState<T> {
    fn new(kind: &str, values: Vec<(&str, f64)>, tensors: Vec<Tensor<T>>) -> Self {
        let values = values.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        CallbackState { kind: kind.into(), values, tensors }
    }

    fn check_kind(&self, kind: &str) -> Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(Error::invalid(kind, format!("the checkpoint holds the state of a {} here", self.kind)))
        }
    }

    /// The first value called `name`.
    fn get(&self, name: &str) -> Result<f64> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::invalid(self.kind.as_str(), format!("the checkpoint lacks its value {name:?}")))
    }

    /// The first value called `name` as a count (NaN for `None`).
    fn get_count(&self, name: &str) -> Result<Option<usize>> {
        let v = self.get(name)?;
        if v.is_nan() {
            return Ok(None);
        }
        if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) {
            Ok(Some(v as usize))
        } else {
            Err(Error::invalid(self.kind.as_str(), format!("{name} = {v} in the checkpoint is not a count")))
        }
    }
}

fn option_value(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn option_count(v: Option<usize>) -> f64 {
    v.map_or(f64::NAN, |v| v as f64)
}

fn nan_to_none(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// Refuse a `monitor` that `fit` will not log, listing what it will log.
///
/// # Errors
/// When `monitor` is not in `logged`.
pub fn check_monitor(who: &str, monitor: &str, logged: &[String]) -> Result<()> {
    if logged.iter().any(|n| n == monitor) {
        return Ok(());
    }
    let hint = if monitor.starts_with("val_") && !logged.iter().any(|n| n.starts_with("val_")) {
        " (there is no validation data: set a validation split or validation data for val_ values)"
    } else {
        ""
    };
    Err(Error::invalid(
        who,
        format!("monitor {monitor:?} will not be logged; the logged values are: {}{hint}", logged.join(", ")),
    ))
}

/// A learning rate to four significant digits, in the notation that shows them: 0.001, 3.906e-5
/// (never 0.0000).
pub(crate) fn format_rate(lr: f64) -> String {
    let rounded: f64 = format!("{lr:.3e}").parse().unwrap_or(lr);
    if rounded == 0.0 || (1e-3..1e4).contains(&rounded.abs()) {
        format!("{rounded}")
    } else {
        format!("{rounded:e}")
    }
}

fn monitored(logs: &[(String, f64)], monitor: &str, who: &str) -> Result<f64> {
    logs.iter().find(|(k, _)| k == monitor).map(|(_, v)| *v).ok_or_else(|| {
        let known: Vec<&str> = logs.iter().map(|(k, _)| k.as_str()).collect();
        Error::invalid(who, format!("monitored value {monitor:?} is not logged (logged: {})", known.join(", ")))
    })
}

/// Whether smaller or larger values of the monitored quantity are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorMode {
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
    /// Max for names containing "acc", else Min (Keras's rule).
    Auto,
}

impl MonitorMode {
    pub(crate) fn improved(self, monitor: &str, value: f64, best: f64, min_delta: f64) -> bool {
        let max = match self {
            MonitorMode::Min => false,
            MonitorMode::Max => true,
            MonitorMode::Auto => monitor.contains("acc"),
        };
        if max {
            value > best + min_delta
        } else {
            value < best - min_delta
        }
    }
}

/// Stop when the monitored value has not improved for `patience` epochs (lectures 000-002);
/// optionally put back the weights of the best epoch.
pub struct EarlyStopping<T: Element = f32> {
    /// Logged value to watch (default "val_loss").
    pub monitor: String,
    /// Direction of improvement.
    pub mode: MonitorMode,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as improvement.
    pub min_delta: f64,
    /// Restore the best epoch's weights when training ends.
    pub restore_best_weights: bool,
    best: Option<f64>,
    wait: usize,
    best_weights: Option<Vec<Tensor<T>>>,
    /// The epoch (0-based) of the best value.
    pub best_epoch: Option<usize>,
    /// The epoch at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
    /// Say on standard error when training stops and which epoch's weights come back (Keras's
    /// `verbose=1`; default off in the library, on in `strata fit`).
    pub verbose: bool,
}

impl<T: Element> EarlyStopping<T> {
    /// Watch `monitor` with `patience`.
    pub fn new(monitor: impl Into<String>, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            mode: MonitorMode::Auto,
            patience,
            min_delta: 0.0,
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: None,
            best_epoch: None,
            stopped_epoch: None,
            verbose: false,
        }
    }

    /// Restore the best weights at the end.
    pub fn restore_best_weights(mut self, yes: bool) -> Self {
        self.restore_best_weights = yes;
        self
    }
}

impl<T: Element> Callback<T> for EarlyStopping<T> {
    fn on_train_begin(&mut self, _model: &mut Model<T>) -> Result<()> {
        (self.best, self.wait, self.best_weights, self.best_epoch, self.stopped_epoch) = (None, 0, None, None, None);
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &[(String, f64)], model: &mut Model<T>) -> Result<Control> {
        let value = monitored(logs, &self.monitor, "EarlyStopping")?;
        let better = match self.best {
            None => !value.is_nan(),
            Some(best) => self.mode.improved(&self.monitor, value, best, self.min_delta),
        };
        if better {
            self.best = Some(value);
            self.best_epoch = Some(epoch);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        if self.wait >= self.patience {
            self.stopped_epoch = Some(epoch);
            if self.verbose {
                eprintln!(
                    "Epoch {}: early stopping ({} has not improved for {} epochs)",
                    epoch + 1,
                    self.monitor,
                    self.wait
                );
            }
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, model: &mut Model<T>) -> Result<()> {
        if let Some(weights) = self.best_weights.take() {
            if let (true, Some(best), Some(value)) = (self.verbose, self.best_epoch, self.best) {
                eprintln!("Restored the weights of epoch {} ({} {value:.4}), the best epoch", best + 1, self.monitor);
            }
            model.set_weights(&weights)?;
        }
        Ok(())
    }

    fn monitor(&self) -> Option<&str> {
        Some(&self.monitor)
    }

    fn state(&self) -> Option<CallbackState<T>> {
        let values = vec![
            ("best", option_value(self.best)),
            ("wait", self.wait as f64),
            ("best_epoch", option_count(self.best_epoch)),
            ("stopped_epoch", option_count(self.stopped_epoch)),
            ("has_best_weights", if self.best_weights.is_some() { 1.0 } else { 0.0 }),
        ];
        Some(CallbackState::new("EarlyStopping", values, self.best_weights.clone().unwrap_or_default()))
    }

    fn restore(&mut self, state: &CallbackState<T>) -> Result<()> {
        state.check_kind("EarlyStopping")?;
        self.best = nan_to_none(state.get("best")?);
        self.wait = state.get_count("wait")?.unwrap_or(0);
        self.best_epoch = state.get_count("best_epoch")?;
        self.stopped_epoch = state.get_count("stopped_epoch")?;
        self.best_weights = (state.get("has_best_weights")? == 1.0).then(|| state.tensors.clone());
        Ok(())
    }
}

/// Multiply the learning rate by `factor` when the monitored value stalls for `patience` epochs.
pub struct ReduceLrOnPlateau {
    /// Logged value to watch (default "val_loss").
    pub monitor: String,
    /// Multiplier in (0, 1).
    pub factor: f64,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// Smallest change that counts as improvement.
    pub min_delta: f64,
    /// Floor of the learning rate.
    pub min_lr: f64,
    /// Say on standard error when the rate is reduced and to what (default off in the library,
    /// on in `strata fit`).
    pub verbose: bool,
    best: Option<f64>,
    wait: usize,
}

impl ReduceLrOnPlateau {
    /// Keras's defaults: factor 0.1, patience 10, min_delta 1e-4, min_lr 0.
    pub fn new(monitor: impl Into<String>) -> Self {
        ReduceLrOnPlateau {
            monitor: monitor.into(),
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            min_lr: 0.0,
            verbose: false,
            best: None,
            wait: 0,
        }
    }
}

impl<T: Element> Callback<T> for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, _model: &mut Model<T>) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::invalid("ReduceLROnPlateau", format!("factor must be in (0, 1), got {}", self.factor)));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &[(String, f64)], model: &mut Model<T>) -> Result<Control> {
        let value = monitored(logs, &self.monitor, "ReduceLROnPlateau")?;
        if self.best.is_none_or(|b| MonitorMode::Auto.improved(&self.monitor, value, b, self.min_delta)) {
            self.best = Some(value);
            self.wait = 0;
        } else {
            self.wait += 1;
            if self.wait >= self.patience {
                let opt = model.optimizer_mut();
                let old = opt.base_learning_rate();
                let lr = (old * self.factor).max(self.min_lr);
                opt.set_learning_rate(lr);
                self.wait = 0;
                if self.verbose && lr != old {
                    eprintln!(
                        "Epoch {}: ReduceLROnPlateau reduced the learning rate from {} to {} ({} has not improved for {} epochs)",
                        epoch + 1,
                        format_rate(old),
                        format_rate(lr),
                        self.monitor,
                        self.patience
                    );
                }
            }
        }
        Ok(Control::Continue)
    }

    fn monitor(&self) -> Option<&str> {
        Some(&self.monitor)
    }

    fn state(&self) -> Option<CallbackState<T>> {
        let values = vec![("best", option_value(self.best)), ("wait", self.wait as f64)];
        Some(CallbackState::new("ReduceLROnPlateau", values, Vec::new()))
    }

    fn restore(&mut self, state: &CallbackState<T>) -> Result<()> {
        state.check_kind("ReduceLROnPlateau")?;
        self.best = nan_to_none(state.get("best")?);
        self.wait = state.get_count("wait")?.unwrap_or(0);
        Ok(())
    }
}

/// Stop (without an error) when a logged value is NaN or infinite, e.g. a diverging validation loss.
#[derive(Default)]
pub struct TerminateOnNaN;

impl<T: Element> Callback<T> for TerminateOnNaN {
    fn on_epoch_end(&mut self, _epoch: usize, logs: &[(String, f64)], _model: &mut Model<T>) -> Result<Control> {
        Ok(if logs.iter().any(|(_, v)| !v.is_finite()) { Control::Stop } else { Control::Continue })
    }
}

/// Writes the history as CSV after every epoch (atomically: a crash leaves the previous version).
pub struct CsvLogger {
    path: PathBuf,
    rows: super::History,
}

impl CsvLogger {
    /// Log to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger { path: path.into(), rows: super::History::new() }
    }
}

impl<T: Element> Callback<T> for CsvLogger {
    fn on_epoch_end(&mut self, _epoch: usize, logs: &[(String, f64)], _model: &mut Model<T>) -> Result<Control> {
        self.rows.push(logs);
        write_atomic(&self.path, self.rows.to_csv().as_bytes())?;
        Ok(Control::Continue)
    }

    fn state(&self) -> Option<CallbackState<T>> {
        // Rows as (column, value) pairs, each epoch opened by an ("epoch", n) marker.
        let mut values = Vec::new();
        for epoch in 0..self.rows.epochs() {
            values.push(("epoch".to_string(), epoch as f64));
            for name in self.rows.names() {
                let v = self.rows.get(name).and_then(|v| v.get(epoch)).copied().unwrap_or(f64::NAN);
                values.push((name.to_string(), v));
            }
        }
        Some(CallbackState { kind: "CsvLogger".into(), values, tensors: Vec::new() })
    }

    fn restore(&mut self, state: &CallbackState<T>) -> Result<()> {
        state.check_kind("CsvLogger")?;
        self.rows = super::History::new();
        let mut row: Vec<(String, f64)> = Vec::new();
        for (name, value) in &state.values {
            if name == "epoch" {
                if !row.is_empty() {
                    self.rows.push(&row);
                }
                row.clear();
            } else {
                row.push((name.clone(), *value));
            }
        }
        if !row.is_empty() {
            self.rows.push(&row);
        }
        Ok(())
    }
}

/// Save the weights after an epoch: every epoch, or only when the monitored value improves
/// (`save_best_only`). Each save replaces the file atomically.
pub struct ModelCheckpoint {
    /// The weights file (safetensors).
    pub path: PathBuf,
    /// Logged value to watch (default "val_loss").
    pub monitor: String,
    /// Save only on improvement.
    pub save_best_only: bool,
    /// Direction of improvement.
    pub mode: MonitorMode,
    best: Option<f64>,
    /// Epochs (0-based) at which the file was written.
    pub saved_epochs: Vec<usize>,
}

impl ModelCheckpoint {
    /// Save to `path` whenever `monitor` improves.
    pub fn best_only(path: impl Into<PathBuf>, monitor: impl Into<String>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: monitor.into(),
            save_best_only: true,
            mode: MonitorMode::Auto,
            best: None,
            saved_epochs: Vec::new(),
        }
    }
}

impl<T: Element> Callback<T> for ModelCheckpoint {
    fn on_epoch_end(&mut self, epoch: usize, logs: &[(String, f64)], model: &mut Model<T>) -> Result<Control> {
        if self.save_best_only {
            let value = monitored(logs, &self.monitor, "ModelCheckpoint")?;
            let better = match self.best {
                None => !value.is_nan(),
                Some(best) => self.mode.improved(&self.monitor, value, best, 0.0),
            };
            if !better {
                return Ok(Control::Continue);
            }
            self.best = Some(value);
        }
        model.save_weights(&self.path)?;
        self.saved_epochs.push(epoch);
        Ok(Control::Continue)
    }

    fn monitor(&self) -> Option<&str> {
        self.save_best_only.then_some(self.monitor.as_str())
    }

    fn state(&self) -> Option<CallbackState<T>> {
        let mut values = vec![("best".to_string(), option_value(self.best))];
        values.extend(self.saved_epochs.iter().map(|&e| ("saved_epoch".to_string(), e as f64)));
        Some(CallbackState { kind: "ModelCheckpoint".into(), values, tensors: Vec::new() })
    }

    fn restore(&mut self, state: &CallbackState<T>) -> Result<()> {
        state.check_kind("ModelCheckpoint")?;
        self.best = nan_to_none(state.get("best")?);
        self.saved_epochs = state.values.iter().filter(|(k, _)| k == "saved_epoch").map(|&(_, v)| v as usize).collect();
        Ok(())
    }
}
