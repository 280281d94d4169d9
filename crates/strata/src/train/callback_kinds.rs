//! The callbacks a spec can name (`fit.callbacks = [{ type = "early_stopping", ... }]`): one
//! table generates the [`CallbackSpec`] enum, its names, its reader (keys with Keras's defaults)
//! and the monitor each watches; each row says how its callback is built for a run directory.
//! Adding a callback a spec can use is its type in `callbacks.rs` and one row here.

use super::callbacks::{Callback, EarlyStopping, ModelCheckpoint, ReduceLrOnPlateau, TerminateOnNaN};
use crate::config::{ConfigValue, Fields};
use std::path::Path;

impl ConfigValue for usize {
    fn read(f: &mut Fields<'_>, key: &str, default: usize) -> std::result::Result<usize, String> {
        let v = f.u64(key, default as u64)?;
        usize::try_from(v).map_err(|_| format!("{} key `{key}` is too large: {v}", f.what))
    }
}

impl ConfigValue for String {
    fn read(f: &mut Fields<'_>, key: &str, default: String) -> std::result::Result<String, String> {
        f.string(key, &default)
    }
}

macro_rules! callback_kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({ $($(#[$fdoc:meta])* $field:ident: $fty:ty = $default:expr),* $(,)? })?
            = $name:literal, monitor: $monitor:expr,
            build: |$run_dir:ident, $verbose:ident| $build:expr;
    )*) => {
        /// A callback from the spec.
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        #[serde(tag = "type")]
        pub enum CallbackSpec {
            $( $(#[$doc])* #[serde(rename = $name)] $variant $({ $($(#[$fdoc])* $field: $fty),* })?, )*
        }

        impl CallbackSpec {
            /// Every callback `type` a spec may name.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The callback `kind` with its keys read from a spec table (unread keys are left
            /// for the caller to refuse, listing the accepted ones).
            pub(crate) fn read(kind: &str, f: &mut Fields<'_>) -> std::result::Result<Self, String> {
                let spec = match kind {
                    $( $name => CallbackSpec::$variant $({ $($field: ConfigValue::read(f, stringify!($field), $default)?),* })?, )*
                    other => {
                        return Err(format!(
                            "unknown callback {other:?} (expected one of: {})",
                            CallbackSpec::NAMES.join(", ")
                        ))
                    }
                };
                spec.validate()?;
                Ok(spec)
            }

            /// The logged value it watches, if its behaviour depends on one.
            pub fn monitor(&self) -> Option<&str> {
                match self {
                    $( CallbackSpec::$variant $({ $($field),* })? => { $($(let _ = &$field;)*)? $monitor } )*
                }
            }

            /// The callback for a run writing into `run_dir` (`verbose`: say what it does).
            pub fn build(&self, run_dir: &Path, verbose: bool) -> Box<dyn Callback<f32>> {
                match self {
                    $( CallbackSpec::$variant $({ $($field),* })? => {
                        let ($run_dir, $verbose) = (run_dir, verbose);
                        let _ = (&$run_dir, &$verbose);
                        $($(let _ = &$field;)*)?
                        $build
                    } )*
                }
            }
        }
    };
}

callback_kinds! {
    /// EarlyStopping.
    EarlyStopping {
        /// Logged value to watch.
        monitor: String = "val_loss".to_string(),
        /// Epochs without improvement.
        patience: usize = 0,
        /// Smallest improvement (>= 0).
        min_delta: f64 = 0.0,
        /// Restore the best weights at the end.
        restore_best_weights: bool = false,
    } = "early_stopping",
        monitor: Some(monitor.as_str()),
        build: |run_dir, verbose| {
            let mut es = EarlyStopping::new(monitor.clone(), *patience).restore_best_weights(*restore_best_weights);
            (es.min_delta, es.verbose) = (*min_delta, verbose);
            Box::new(es)
        };
    /// ReduceLROnPlateau.
    ReduceLrOnPlateau {
        /// Logged value to watch.
        monitor: String = "val_loss".to_string(),
        /// Multiplier, in (0, 1).
        factor: f64 = 0.1,
        /// Epochs without improvement.
        patience: usize = 10,
        /// Floor of the rate (>= 0).
        min_lr: f64 = 0.0,
        /// Smallest improvement (Keras's default 1e-4, >= 0).
        min_delta: f64 = 1e-4,
    } = "reduce_lr_on_plateau",
        monitor: Some(monitor.as_str()),
        build: |run_dir, verbose| {
            let mut r = ReduceLrOnPlateau::new(monitor.clone());
            (r.factor, r.patience, r.min_lr, r.min_delta, r.verbose) = (*factor, *patience, *min_lr, *min_delta, verbose);
            Box::new(r)
        };
    /// TerminateOnNaN.
    TerminateOnNan = "terminate_on_nan",
        monitor: None,
        build: |run_dir, verbose| Box::new(TerminateOnNaN);
    /// ModelCheckpoint into the run directory: `best.safetensors`, or with `save_best_only =
    /// false` `checkpoint.safetensors` after every epoch.
    ModelCheckpoint {
        /// Logged value to watch.
        monitor: String = "val_loss".to_string(),
        /// Save only on improvement (default true).
        save_best_only: bool = true,
    } = "model_checkpoint",
        // Saving every epoch watches nothing.
        monitor: save_best_only.then_some(monitor.as_str()),
        build: |run_dir, verbose| {
            let file = if *save_best_only { "best.safetensors" } else { "checkpoint.safetensors" };
            let mut checkpoint = ModelCheckpoint::best_only(run_dir.join(file), monitor.clone());
            checkpoint.save_best_only = *save_best_only;
            Box::new(checkpoint)
        };
}

impl CallbackSpec {
    /// Checks the ranges: `min_delta` and `min_lr` >= 0, ReduceLROnPlateau's `factor` in (0, 1).
    fn validate(&self) -> std::result::Result<(), String> {
        let check = |name: &str, v: f64, ok: bool, expected: &str| {
            crate::error::check_range("callback", name, v, ok, expected).map_err(|e| e.to_string())
        };
        match *self {
            CallbackSpec::EarlyStopping { min_delta, .. } => check("min_delta", min_delta, min_delta >= 0.0, ">= 0"),
            CallbackSpec::ReduceLrOnPlateau { factor, min_lr, min_delta, .. } => {
                check("factor", factor, factor > 0.0 && factor < 1.0, "in (0, 1)")?;
                check("min_lr", min_lr, min_lr >= 0.0, ">= 0")?;
                check("min_delta", min_delta, min_delta >= 0.0, ">= 0")
            }
            _ => Ok(()),
        }
    }
}
