//! Optimizers: an [`UpdateRule`] per algorithm (one file each) and the [`Optimizer`] driver that
//! does the shared work once: per-parameter state, step count, learning-rate schedule, decoupled
//! weight decay and gradient clipping.
//!
//! Update rules follow PyTorch's documented algorithms (epsilon outside the square root, Adam's
//! bias corrections as in Kingma & Ba's Algorithm 1); default hyper-parameters are Keras's.

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod lion;
mod nadam;
mod rmsprop;
mod schedule;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use adamw::AdamW;
pub use lion::Lion;
pub use nadam::Nadam;
pub use rmsprop::RmsProp;
pub use schedule::Schedule;
pub use sgd::Sgd;

use crate::autograd::Gradients;
use crate::error::{Error, Result};
use crate::kernel::threads::split_in_two;
use crate::nn::Param;
use crate::tensor::{Element, IdMap};
use std::borrow::Cow;

/// The per-parameter math of one algorithm.
pub trait UpdateRule<T: Element>: Send + Sync {
    /// How many state buffers (of the parameter's size) it keeps: SGD 0, momentum 1, Adam 2.
    fn slots(&self) -> usize;
    /// Update `w` in place from its gradient `g` at step `t` (from 1) with learning rate `lr`.
    fn update(&self, t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]);
}

/// Gradient clipping, applied before the update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    /// Each element to [-v, v] (Keras's `clipvalue`).
    Value(f64),
    /// Each parameter's gradient scaled so its L2 norm is at most this (Keras's `clipnorm`).
    Norm(f64),
    /// All gradients scaled together so their joint L2 norm is at most this (`global_clipnorm`).
    GlobalNorm(f64),
}

impl Clip {
    /// Checks the bound: finite and > 0 (a bound of 0 or below would zero or flip gradients).
    ///
    /// # Errors
    /// Naming Keras's key (`clipvalue`, `clipnorm`, `global_clipnorm`) and the value.
    pub fn validate(&self) -> Result<()> {
        let (name, v) = match *self {
            Clip::Value(v) => ("clipvalue", v),
            Clip::Norm(v) => ("clipnorm", v),
            Clip::GlobalNorm(v) => ("global_clipnorm", v),
        };
        check_range("optimizer", name, v, v > 0.0, "finite and > 0")
    }
}

/// An update rule's config: Keras's defaults (`Default`), its spec keys, its rate, and its
/// checked rule. Each optimizer implements it in its own file; [`OptimizerConfig`] dispatches.
pub(crate) trait OptimizerKind: Default {
    /// The config from a spec table's keys (Keras's names), defaults for the rest. Unread keys
    /// are left for the caller, which refuses them listing the accepted ones.
    ///
    /// # Errors
    /// When a value has the wrong type.
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String>;

    /// The base learning rate.
    fn learning_rate(&self) -> f64;

    /// The validated rule and its decoupled weight decay (0 for all but AdamW).
    ///
    /// # Errors
    /// When a hyper-parameter is out of range (names it and its value).
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)>;
}

/// The one table of optimizers: the variant, its config type (one file each) and its name.
/// The enum, `NAMES`, `from_name`, `learning_rate`, the spec reader and the rule are generated
/// from it: adding an optimizer is its file and one row.
macro_rules! optimizer_kinds {
    ($( $(#[$doc:meta])* $variant:ident($config:ty) = $name:literal, )*) => {
        /// An optimizer by name and hyper-parameters: what `compile` and the spec take.
        #[derive(Clone, PartialEq, serde::Serialize)]
        #[serde(tag = "type")]
        pub enum OptimizerConfig {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($config), )*
        }

        /// `Sgd(Sgd { .. })` for each, as derived, but AdamW as its own struct (the variant it
        /// was): checkpoints compare optimizer settings by this text.
        impl std::fmt::Debug for OptimizerConfig {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                #[allow(unreachable_patterns)]
                match self {
                    OptimizerConfig::AdamW(c) => write!(f, "{c:?}"),
                    $( OptimizerConfig::$variant(c) => f.debug_tuple(stringify!($variant)).field(c).finish(), )*
                }
            }
        }

        impl OptimizerConfig {
            /// Every name [`OptimizerConfig::from_name`] accepts.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The optimizer called `name` with Keras's defaults.
            ///
            /// # Errors
            /// When the name is unknown.
            pub fn from_name(name: &str) -> Result<Self> {
                match name {
                    $( $name => Ok(OptimizerConfig::$variant(<$config>::default())), )*
                    other => Err(Self::unknown(other)),
                }
            }

            /// The error for an optimizer name not in the table (it lists the known ones).
            fn unknown(name: &str) -> Error {
                Error::invalid(
                    "optimizer",
                    format!("unknown optimizer {name:?} (expected one of: {})", Self::NAMES.join(", ")),
                )
            }

            /// The optimizer `kind` with its hyper-parameters read from a spec table.
            pub(crate) fn read(kind: &str, f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
                match kind {
                    $( $name => Ok(OptimizerConfig::$variant(<$config as OptimizerKind>::read(f)?)), )*
                    other => Err(Self::unknown(other).to_string()),
                }
            }

            /// The learning rate.
            pub fn learning_rate(&self) -> f64 {
                match self {
                    $( OptimizerConfig::$variant(c) => c.learning_rate(), )*
                }
            }

            fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
                match self {
                    $( OptimizerConfig::$variant(c) => c.rule(), )*
                }
            }
        }

        $(
            impl From<$config> for OptimizerConfig {
                fn from(c: $config) -> Self {
                    OptimizerConfig::$variant(c)
                }
            }
        )*
    };
}

optimizer_kinds! {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    Sgd(Sgd) = "sgd",
    /// Adam (and AMSGrad).
    Adam(Adam) = "adam",
    /// Adam with decoupled weight decay (Loshchilov & Hutter): `w -= lr * weight_decay * w` each step.
    AdamW(AdamW) = "adamw",
    /// Nadam.
    Nadam(Nadam) = "nadam",
    /// RMSProp.
    RmsProp(RmsProp) = "rmsprop",
    /// Adagrad.
    Adagrad(Adagrad) = "adagrad",
    /// Adadelta.
    Adadelta(Adadelta) = "adadelta",
    /// Adamax (Adam with the infinity norm).
    Adamax(Adamax) = "adamax",
    /// Lion (sign of an interpolated momentum).
    Lion(Lion) = "lion",
}

impl OptimizerConfig {
    /// Build the driver.
    ///
    /// # Errors
    /// When a hyper-parameter is out of range (names it and its value).
    pub fn build<T: Element>(&self) -> Result<Optimizer<T>> {
        let lr = self.learning_rate();
        // Finite in the element type too: 1e300 is a finite f64 but an infinite f32 step.
        if !(lr.is_finite() && lr >= 0.0 && T::of(lr).is_finite()) {
            return Err(Error::invalid(
                "optimizer",
                format!("learning_rate must be finite in {} and >= 0, got {lr}", std::any::type_name::<T>()),
            ));
        }
        let (rule, weight_decay) = self.rule::<T>()?;
        Ok(Optimizer {
            rule,
            config: self.clone(),
            learning_rate: lr,
            weight_decay,
            schedule: None,
            clip: None,
            slots: IdMap::default(),
            iterations: 0,
        })
    }
}

/// Every built-in rule keeps at most 3 buffers per parameter (AMSGrad, centered RMSProp).
const MAX_INLINE_SLOTS: usize = 4;

/// Parameters of at least this many elements are updated by two threads, each taking half.
const SPLIT_MIN_ELEMENTS: usize = 1 << 15;

/// Whether every value is finite, in one vectorizable pass: `v * 0` is 0 for a finite `v` and
/// NaN for an infinity or NaN, and a sum with a NaN stays NaN (a search for the first bad value
/// would branch per element and run several times slower).
/// [`all_finite`], for a large gradient one half on each core: a split product wrote each half
/// into its own core's cache, where the half of the update that follows also runs, so neither
/// core reads the other's half (reading it all here cost more than the check).
fn all_finite_split<T: Element>(values: &[T]) -> bool {
    let (first, second) = split_in_two(values, values.len() >= SPLIT_MIN_ELEMENTS, all_finite);
    first && second.unwrap_or(true)
}

fn all_finite<T: Element>(values: &[T]) -> bool {
    let mut lanes = [T::zero(); 16];
    let mut chunks = values.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + v * T::zero();
        }
    }
    let tail = chunks.remainder().iter().fold(T::zero(), |acc, &v| acc + v * T::zero());
    (lanes.iter().fold(tail, |acc, &l| acc + l)).is_finite()
}

pub(crate) use crate::error::check_range;

/// What [`Optimizer::state`] exports for a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OptimizerState<T> {
    pub(crate) iterations: u64,
    pub(crate) learning_rate: f64,
    /// Per parameter name, its [`UpdateRule::slots`] buffers.
    pub(crate) slots: Vec<(String, Vec<Vec<T>>)>,
}

/// Applies an [`UpdateRule`] to a model's parameters (see the module docs).
pub struct Optimizer<T: Element = f32> {
    rule: Box<dyn UpdateRule<T>>,
    config: OptimizerConfig,
    learning_rate: f64,
    weight_decay: f64,
    schedule: Option<Schedule>,
    clip: Option<Clip>,
    slots: IdMap<Vec<Vec<T>>>,
    iterations: u64,
}

impl<T: Element> Optimizer<T> {
    /// Use a learning-rate schedule (evaluated at each step).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Checks the clipping bound and the schedule ([`Model::new`](crate::train::Model::new)
    /// calls it, so a bad one is refused before training).
    ///
    /// # Errors
    /// As [`Clip::validate`] and [`Schedule::validate`].
    pub fn validate(&self) -> Result<()> {
        self.clip.as_ref().map_or(Ok(()), Clip::validate)?;
        self.schedule.as_ref().map_or(Ok(()), Schedule::validate)
    }

    /// Clip gradients before each update.
    pub fn with_clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// The config this optimizer was built from.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Steps taken so far.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The base learning rate (before the schedule).
    pub fn base_learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Change the base learning rate (ReduceLROnPlateau does).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.learning_rate = lr;
    }

    /// The learning rate the next step will use.
    pub fn current_learning_rate(&self) -> f64 {
        match &self.schedule {
            Some(s) => s.at(self.iterations, self.learning_rate),
            None => self.learning_rate,
        }
    }

    /// One update of every trainable parameter from its gradient.
    ///
    /// # Errors
    /// When a trainable parameter received no gradient, or a gradient's shape differs from its
    /// parameter's.
    pub fn step(&mut self, params: &[&Param<T>], grads: &Gradients<T>) -> Result<()> {
        let trainable: Vec<&Param<T>> = params.iter().copied().filter(|p| p.trainable()).collect();
        let mut gradients = Vec::with_capacity(trainable.len());
        for p in &trainable {
            let g = grads.get_id(p.id()).ok_or_else(|| {
                Error::Autograd(format!(
                    "optimizer: parameter '{}' {} received no gradient (is it used in the forward pass?)",
                    p.name(),
                    p.shape()
                ))
            })?;
            let value = p.value();
            if g.shape() != value.shape() {
                return Err(Error::mismatch(
                    "optimizer",
                    value.shape(),
                    g.shape(),
                    format!("gradient of '{}' has the wrong shape", p.name()),
                ));
            }
            if !all_finite_split(g.data()) {
                // Refused before any parameter changes: a step never makes weights non-finite.
                let bad = g.data().iter().find(|v| !v.is_finite()).map_or(f64::NAN, |v| v.f64());
                return Err(Error::NonFinite {
                    context: format!("gradient of parameter '{}' {}", p.name(), p.shape()),
                    value: bad,
                });
            }
            // Borrowed: copied only if clipping has to change it.
            gradients.push(Cow::Borrowed(g.data()));
        }
        self.clip_gradients(&mut gradients);
        let lr = self.current_learning_rate();
        self.iterations = self.iterations.saturating_add(1);
        let t = self.iterations;
        let decay = T::of(lr * self.weight_decay);
        for (p, g) in trainable.iter().zip(&gradients) {
            let slots = self.slots.entry(p.id()).or_insert_with(|| vec![vec![T::zero(); g.len()]; self.rule.slots()]);
            let rule = &self.rule;
            p.update(|w| {
                if decay != T::zero() {
                    w.iter_mut().for_each(|v| *v = *v - decay * *v);
                }
                let split = w.len() >= SPLIT_MIN_ELEMENTS;
                if slots.len() <= MAX_INLINE_SLOTS {
                    // Borrowed views on the stack: no allocation per parameter per step.
                    let count = slots.len();
                    let mut views: [&mut [T]; MAX_INLINE_SLOTS] = Default::default();
                    views.iter_mut().zip(slots.iter_mut()).for_each(|(v, s)| *v = s.as_mut_slice());
                    // Elementwise rules split anywhere with the same result. The halves match
                    // the row halves a split matrix product wrote the gradient in, so each core
                    // updates what its own cache holds.
                    split_in_two((w, &g[..], views), split, |(w, g, mut views)| {
                        rule.update(t, T::of(lr), w, g, &mut views[..count])
                    });
                } else {
                    let views: Vec<&mut [T]> = slots.iter_mut().map(Vec::as_mut_slice).collect();
                    split_in_two((w, &g[..], views), split, |(w, g, mut views)| {
                        rule.update(t, T::of(lr), w, g, &mut views)
                    });
                }
            });
        }
        Ok(())
    }

    /// Every setting that changes the updates, for a checkpoint to compare.
    /// Buffers the update rule keeps per parameter (Adam: 2, AMSGrad: 3, SGD without momentum: 0).
    pub(crate) fn slots(&self) -> usize {
        self.rule.slots()
    }

    pub(crate) fn describe(&self) -> String {
        format!("{:?}, clip {:?}, schedule {:?}", self.config, self.clip, self.schedule)
    }

    /// The state a checkpoint must keep: steps taken, the base learning rate (callbacks change
    /// it), and each parameter's buffers by name (empty before the first step).
    pub(crate) fn state(&self, named: &[(String, &Param<T>)]) -> OptimizerState<T> {
        let slots = named
            .iter()
            .filter_map(|(name, p)| self.slots.get(&p.id()).map(|buffers| (name.clone(), buffers.clone())))
            .collect();
        OptimizerState { iterations: self.iterations, learning_rate: self.learning_rate, slots }
    }

    /// Put back a [`Optimizer::state`]; every buffer is checked against its parameter first.
    ///
    /// # Errors
    /// When a buffer names no parameter, is missing, or has the wrong count or length (named).
    pub(crate) fn restore(&mut self, named: &[(String, &Param<T>)], state: OptimizerState<T>) -> Result<()> {
        let mut slots = IdMap::default();
        for (name, buffers) in state.slots {
            let (_, param) = named.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                Error::invalid("optimizer state", format!("buffers for '{name}', which the network does not have"))
            })?;
            if buffers.len() != self.rule.slots() || buffers.iter().any(|b| b.len() != param.numel()) {
                return Err(Error::invalid(
                    "optimizer state",
                    format!(
                        "'{name}' has {} buffers of lengths {:?}; this optimizer keeps {} of {}",
                        buffers.len(),
                        buffers.iter().map(Vec::len).collect::<Vec<_>>(),
                        self.rule.slots(),
                        param.numel()
                    ),
                ));
            }
            slots.insert(param.id(), buffers);
        }
        let trainable = named.iter().filter(|(_, p)| p.trainable()).count();
        if state.iterations > 0 && slots.len() != trainable && self.rule.slots() > 0 {
            return Err(Error::invalid(
                "optimizer state",
                format!(
                    "buffers for {} of the {trainable} trainable parameters after {} steps",
                    slots.len(),
                    state.iterations
                ),
            ));
        }
        (self.slots, self.iterations, self.learning_rate) = (slots, state.iterations, state.learning_rate);
        Ok(())
    }

    fn clip_gradients(&self, gradients: &mut [Cow<'_, [T]>]) {
        let norm = |g: &[T]| g.iter().map(|v| v.f64() * v.f64()).sum::<f64>().sqrt();
        let scale_all = |gs: &mut [Cow<'_, [T]>], s: f64| {
            gs.iter_mut().flat_map(|g| g.to_mut().iter_mut()).for_each(|v| *v = *v * T::of(s))
        };
        match self.clip {
            None => {}
            Some(Clip::Value(c)) => {
                gradients
                    .iter_mut()
                    .flat_map(|g| g.to_mut().iter_mut())
                    .for_each(|v| *v = v.max(T::of(-c)).min(T::of(c)));
            }
            Some(Clip::Norm(c)) => {
                for g in gradients.iter_mut() {
                    let n = norm(g);
                    if n > c {
                        scale_all(std::slice::from_mut(g), c / n);
                    }
                }
            }
            Some(Clip::GlobalNorm(c)) => {
                let n = gradients.iter().map(|g| norm(g).powi(2)).sum::<f64>().sqrt();
                if n > c {
                    scale_all(gradients, c / n);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may panic: that is how they fail
mod spec_form_tests {
    use super::OptimizerConfig;

    /// Every optimizer written as a spec's table reads back as the same config, with
    /// non-default values so that a key written under the wrong name would show.
    #[test]
    fn every_optimizer_config_reads_back_from_its_spec_form() {
        for name in OptimizerConfig::NAMES {
            let mut config = OptimizerConfig::from_name(name).unwrap();
            let mut value = toml::Value::try_from(&config).unwrap();
            // Nudge every float key: the read-back must pick each one up under its own name.
            if let toml::Value::Table(table) = &mut value {
                for (_, v) in table.iter_mut() {
                    if let Some(x) = v.as_float() {
                        *v = toml::Value::Float(x * 0.5 + 0.01);
                    }
                }
            }
            let (kind, mut fields) = crate::config::Fields::new("optimizer", value.clone()).unwrap();
            config = OptimizerConfig::read(&kind, &mut fields).unwrap();
            fields.done(&kind).unwrap();
            assert_eq!(toml::Value::try_from(&config).unwrap(), value, "{name}");
        }
    }

    /// Every schedule, likewise.
    #[test]
    fn every_schedule_reads_back_from_its_spec_form() {
        use super::Schedule;
        for schedule in [
            Schedule::StepDecay { every: 7, factor: 0.3 },
            Schedule::ExponentialDecay { decay_steps: 9, rate: 0.7, staircase: true },
            Schedule::CosineDecay { decay_steps: 11, alpha: 0.2 },
        ] {
            let value = toml::Value::try_from(schedule).unwrap();
            let (kind, mut fields) = crate::config::Fields::new("schedule", value).unwrap();
            assert_eq!(Schedule::read(&kind, &mut fields).unwrap(), schedule);
            fields.done(&kind).unwrap();
        }
    }
}
