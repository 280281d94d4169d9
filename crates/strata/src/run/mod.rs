//! Runs: train from a spec into a run directory, and load a run directory back to evaluate or
//! predict. The command line calls these functions and nothing else.
//!
//! A run directory holds `model.safetensors` (weights, `<layer>.kernel` / `<layer>.bias`),
//! `model.json` (the spec text, the fitted scaler and class names: everything needed to use the
//! run alone), `history.csv`, `learning_curves.png` and `.svg`, and `spec.toml`.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Indexing here reads tables whose rows the loader has already checked to be of equal width.

use crate::data::idx::{load_mnist_dir_raw, read_idx, FASHION_MNIST_CLASSES};
use crate::data::preprocess::{train_test_split, Scaler};
use crate::data::table::{ColumnKind, NumericBatches, Table};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::nn::Sequential;
use crate::spec::{CallbackSpec, DataSpec, Spec};
use crate::tensor::Tensor;
use crate::train::metrics::{classification_report, confusion_matrix, row_classes, ClassificationReport};
use crate::train::{Callback, Evaluation, FitConfig, History, Model};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod data;
mod figures;
mod trained;

pub use data::*;
use figures::*;
pub use trained::*;

/// Build and compile the network a spec describes.
///
/// # Errors
/// When a layer does not fit the previous one (both named) or a setting is invalid.
pub fn build_model(spec: &Spec, seed: u64) -> Result<Model<f32>> {
    let mut net = Sequential::new(spec.model.input_shape.clone(), spec.model.seed.unwrap_or(seed));
    for (i, layer) in spec.model.layers.iter().enumerate() {
        // A layer that cannot be built (too large, does not fit its input) is an error at its line.
        net.push(layer.clone()).map_err(|e| Error::Parse {
            path: spec.origin.clone(),
            line: spec.model.layer_lines.get(i).copied().unwrap_or(0),
            message: e.to_string(),
        })?;
    }
    let mut optimizer = spec.compile.optimizer.config.build()?;
    if let Some(clip) = spec.compile.optimizer.clip {
        optimizer = optimizer.with_clip(clip);
    }
    if let Some(schedule) = spec.compile.optimizer.schedule {
        optimizer = optimizer.with_schedule(schedule);
    }
    let metrics: Vec<_> = spec.compile.metrics.iter().map(|m| m.0).collect();
    Model::new(net, optimizer, spec.compile.loss.0, &metrics)
}

/// What `model.json` holds.
#[derive(Serialize, Deserialize)]
struct RunFile {
    format: String,
    spec_toml: String,
    scaler: Scaler,
    class_names: Option<Vec<String>>,
    summary: String,
    /// The data file or folder trained on, absolute (none for a built-in source; absent in runs
    /// written before it was recorded, which fall back to the spec's path).
    #[serde(default)]
    data_path: Option<PathBuf>,
    /// [`weights_fingerprint`] of `model.safetensors` as written with this file (absent in runs
    /// written before it was recorded).
    #[serde(default)]
    weights_fingerprint: Option<String>,
}

/// A fingerprint of every weight's bits, so `model.json` and `model.safetensors` from different
/// runs (an edited or half-replaced directory) are refused rather than used together.
fn weights_fingerprint(model: &Model<f32>) -> String {
    model.get_weights().iter().map(crate::train::checkpoint::fingerprint).collect::<Vec<_>>().join("; ")
}

const RUN_FORMAT: &str = "strata-run-1";

/// Options of [`fit_spec`] that override the spec.
#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Replaces the path of `data.source`.
    pub data: Option<PathBuf>,
    /// Replaces `fit.epochs` (0 with `init_weights` evaluates those weights).
    pub epochs: Option<usize>,
    /// Replaces `fit.seed`.
    pub seed: Option<u64>,
    /// The run directory (default `runs/<spec name>-<UTC timestamp>`).
    pub out: Option<PathBuf>,
    /// A weights file to load before training.
    pub init_weights: Option<PathBuf>,
    /// 0 silent, 1 progress bars, 2 a line per epoch; `None`: the spec's `fit.verbose` (default 1).
    pub verbose: Option<u8>,
    /// Replace a run already in the run directory (refused otherwise, so a trained model is
    /// never lost to a mistyped `--out`).
    pub overwrite: bool,
    /// Print the model's summary to standard output once it is built, before training (as a
    /// Keras user calls `summary()` before `fit`).
    pub print_summary: bool,
    /// Continue the run in this directory from its `checkpoint.strata` (the spec and options
    /// must be the ones it was started with).
    pub resume: Option<PathBuf>,
}

/// The training checkpoint a run directory holds (see [`crate::train::Checkpoint`]), written
/// after every epoch so `strata fit --resume` can continue a killed run.
pub const CHECKPOINT_FILE: &str = "checkpoint.strata";

/// The outcome of [`fit_spec`].
pub struct RunReport {
    /// The run directory written.
    pub run_dir: PathBuf,
    /// Per-epoch history.
    pub history: History,
    /// Final loss and metrics, on the test set when there is one, else on the training data.
    pub results: Evaluation,
    /// Which data `results` are on: "test" or "train".
    pub evaluated_on: &'static str,
    /// Epochs trained.
    pub epochs: usize,
    /// Mean wall time per epoch.
    pub seconds_per_epoch: f64,
    /// The trained model.
    pub model: Model<f32>,
}

/// Train the network of the spec at `spec_path` and write a run directory.
///
/// # Errors
/// When the spec, data or weights are invalid, training fails, or a file cannot be written
/// (every error names its file or setting).
pub fn fit_spec(spec_path: &Path, options: &FitOptions) -> Result<RunReport> {
    fit_spec_text(&crate::spec::read_spec_text(spec_path)?, spec_path, options)
}

/// [`fit_spec`] from the spec's text; `spec_path` names it (errors, default run directory) and
/// relative paths in it are relative to its folder.
///
/// # Errors
/// As [`fit_spec`].
pub fn fit_spec_text(text: &str, spec_path: &Path, options: &FitOptions) -> Result<RunReport> {
    let fit = prepare_fit(text, spec_path, options)?;
    fit_into_run_dir(text, fit)
}

/// Everything one `fit` needs, read and checked before anything is written.
struct PreparedFit {
    spec: Spec,
    run_dir: PathBuf,
    resume: Option<crate::train::Checkpoint<f32>>,
    model: Model<f32>,
    data: Prepared,
    config: FitConfig<f32>,
    data_path: Option<PathBuf>,
    verbose: u8,
}

/// Read the spec, choose the run directory, build the model, load the data and check the
/// settings against each other: every refusal comes before a file is touched.
fn prepare_fit(text: &str, spec_path: &Path, options: &FitOptions) -> Result<PreparedFit> {
    let spec = Spec::parse(text, spec_path)?;
    let seed = options.seed.unwrap_or(spec.fit.seed);
    let run_dir = run_dir_for(spec_path, options)?;
    let resume = match &options.resume {
        Some(dir) => Some(checkpoint_to_resume(dir, text, options)?),
        None => None,
    };
    let mut model = build_model(&spec, seed)?;
    let verbose = options.verbose.unwrap_or_else(|| spec.fit.verbose.unwrap_or(1));
    let data_path = options.data.clone().or_else(|| spec_data_path(&spec.data, spec_path));
    let input_shape = model.network().input_shape().clone();
    let fixed = Fixed { class_outputs: class_outputs(&model)?, input_shape: Some(&input_shape), ..Fixed::default() };
    let data = prepare_data_with(&spec.data, data_path.as_deref(), fixed)?;
    if let Some(path) = &options.init_weights {
        model.load_weights(path)?;
    }
    let validation_data = match spec.fit.validation.as_deref() {
        None => None,
        Some("test") => Some(
            data.test
                .clone()
                .ok_or_else(|| Error::invalid("fit.validation", "\"test\" needs a test set (set data.test_split)"))?,
        ),
        Some(other) => {
            return Err(Error::invalid(
                "fit.validation",
                format!("{other:?}: the only named validation set is \"test\""),
            ))
        }
    };
    let config = FitConfig {
        epochs: options.epochs.unwrap_or(spec.fit.epochs),
        batch_size: spec.fit.batch_size,
        shuffle: spec.fit.shuffle,
        seed,
        validation_data,
        validation_split: spec.fit.validation_split.unwrap_or(0.0),
        verbose,
        augment: spec.data.augment.clone(),
        checkpoint: None,
    };
    check_monitors(&spec, &model, config.validation_data.is_some() || config.validation_split > 0.0)?;
    if options.print_summary {
        println!("{}", model.summary());
    }
    Ok(PreparedFit { spec, run_dir, resume, model, data, config, data_path, verbose })
}

/// The directory a fit writes: `--resume`'s or `--out`'s, else beside the spec; refused when it
/// holds a trained run that is neither resumed nor to be overwritten.
fn run_dir_for(spec_path: &Path, options: &FitOptions) -> Result<PathBuf> {
    let run_dir = match (&options.resume, &options.out) {
        (Some(resume), Some(out)) if resume != out => {
            return Err(Error::invalid(
                "--resume",
                format!("resumes {} in place; --out {} names another directory", resume.display(), out.display()),
            ))
        }
        (Some(dir), _) | (None, Some(dir)) => dir.clone(),
        (None, None) => default_run_dir(spec_path),
    };
    if options.resume.is_none() && !options.overwrite && is_run_dir(&run_dir) {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} holds a trained run already; pass --overwrite to replace it, --resume {} to continue it, or choose another --out",
                run_dir.display(),
                run_dir.display()
            ),
        ));
    }
    Ok(run_dir)
}

/// Train and write the run: one writer per run directory, and a trained run being replaced is
/// rebuilt beside it and swapped in whole at the end.
fn fit_into_run_dir(text: &str, fit: PreparedFit) -> Result<RunReport> {
    let (run_dir, resuming) = (fit.run_dir.clone(), fit.resume.is_some());
    let lock = crate::rundir::RunLock::acquire(&run_dir).map_err(|e| match e {
        Error::Io { source, .. } => Error::Io { path: run_dir.clone(), source },
        other => other,
    })?;
    let replacing = !resuming && is_run_dir(&run_dir);
    let work_dir = if replacing { crate::rundir::staging_dir(&run_dir, &lock)? } else { run_dir.clone() };
    let trained = train_into(&work_dir, text, fit);
    match trained {
        Ok(report) if replacing => {
            crate::rundir::replace_with(&run_dir, &work_dir, &lock)?;
            Ok(report)
        }
        // A failed replacement leaves the old run as it was, and no half-built one beside it.
        Err(e) if replacing => {
            let _ = std::fs::remove_dir_all(&work_dir);
            Err(e)
        }
        other => other,
    }
}

/// Train into `work_dir` (the run directory, or the staging folder of its replacement) and
/// write every result file there.
fn train_into(work_dir: &Path, text: &str, fit: PreparedFit) -> Result<RunReport> {
    let PreparedFit { spec, run_dir, resume, mut model, data, config, data_path, verbose } = fit;
    let run_dir = run_dir.as_path();
    let checkpoint_path = work_dir.join(CHECKPOINT_FILE);
    let config = FitConfig { checkpoint: Some(checkpoint_path.clone()), ..config };
    std::fs::create_dir_all(work_dir).map_err(|source| Error::Io { path: run_dir.to_path_buf(), source })?;
    crate::io::remove_stale_temporaries(work_dir)?;
    if resume.is_none() {
        // A fresh run: a checkpoint left by an earlier run here belongs to another spec. The
        // spec goes in first, so a checkpoint is never found beside a spec it was not trained by.
        remove_if_present(&checkpoint_path)?;
        write_atomic(&work_dir.join("spec.toml"), text.as_bytes())?;
    }
    let mut callbacks = make_callbacks(&spec, work_dir, verbose > 0);
    let mut refs: Vec<&mut dyn Callback<f32>> =
        callbacks.iter_mut().map(|b| b.as_mut() as &mut dyn Callback<f32>).collect();
    let start = Instant::now();
    let history = match &resume {
        Some(checkpoint) => {
            if verbose > 0 {
                eprintln!("{}", resume_message(checkpoint, config.epochs, run_dir));
            }
            model.resume_with_callbacks(&data.x_train, &data.y_train, &config, &mut refs, checkpoint)?
        }
        None if config.epochs == 0 => History::new(),
        None => model.fit_with_callbacks(&data.x_train, &data.y_train, &config, &mut refs)?,
    };
    let seconds_per_epoch = start.elapsed().as_secs_f64() / history.epochs().max(1) as f64;
    let (results, evaluated_on) = match &data.test {
        Some((x, y)) => (model.evaluate(x, y, spec.fit.batch_size)?, "test"),
        None => (model.evaluate(&data.x_train, &data.y_train, spec.fit.batch_size)?, "train"),
    };
    write_results(work_dir, text, &spec, &model, &data, &history, data_path)?;
    Ok(RunReport {
        run_dir: run_dir.to_path_buf(),
        epochs: history.epochs(),
        history,
        results,
        evaluated_on,
        seconds_per_epoch,
        model,
    })
}

/// The run's files: weights, model.json, the spec, the history, learning curves and figures.
fn write_results(
    work_dir: &Path,
    text: &str,
    spec: &Spec,
    model: &Model<f32>,
    data: &Prepared,
    history: &History,
    data_path: Option<PathBuf>,
) -> Result<()> {
    let run_file = RunFile {
        format: RUN_FORMAT.into(),
        spec_toml: text.to_string(),
        scaler: data.scaler.clone(),
        class_names: data.class_names.clone(),
        summary: model.summary(),
        weights_fingerprint: Some(weights_fingerprint(model)),
        // A built-in source's "path" is its name (`--data or`), kept as given.
        data_path: match source_kind(&spec.data)?.0 {
            "builtin" => data_path.clone(),
            _ => data_path.as_deref().map(absolute),
        },
    };
    let json = serde_json::to_string_pretty(&run_file).map_err(|e| Error::invalid("model.json", e.to_string()))?;
    // Weights first, model.json (which names their fingerprint) after: a reader that finds the
    // two from different moments refuses them instead of mixing them.
    model.save_weights(work_dir.join("model.safetensors"))?;
    write_atomic(&work_dir.join("model.json"), json.as_bytes())?;
    write_atomic(&work_dir.join("spec.toml"), text.as_bytes())?;
    write_atomic(&work_dir.join("history.csv"), history.to_csv().as_bytes())?;
    if history.epochs() > 0 {
        let marked = best_epoch(spec, history);
        crate::plot::learning_curves_marked(
            history,
            marked,
            &work_dir.join("learning_curves.png"),
            &work_dir.join("learning_curves.svg"),
        )?;
    }
    write_figures(work_dir, data, model)?;
    Ok(())
}

/// Whether `dir` holds a run `strata fit` wrote (its spec, model or checkpoint).
fn is_run_dir(dir: &Path) -> bool {
    ["model.json", "model.safetensors", "spec.toml", CHECKPOINT_FILE].iter().any(|f| dir.join(f).exists())
}

/// What resuming does, in words: from which epoch to which.
fn resume_message(checkpoint: &crate::train::Checkpoint<f32>, epochs: usize, run_dir: &Path) -> String {
    let done = checkpoint.epochs_done();
    let planned = checkpoint.epochs_planned().unwrap_or(done);
    if checkpoint.finished() && epochs <= planned || done >= epochs {
        format!("Resuming {}: it ended after epoch {done}; nothing left to train", run_dir.display())
    } else {
        format!("Resuming {} after epoch {done}: training epochs {} to {epochs}", run_dir.display(), done + 1)
    }
}

/// The output units a loss of class indices needs labels for (None for other losses).
fn class_outputs(model: &Model<f32>) -> Result<Option<usize>> {
    let network = model.network();
    let width = network.output_shape(network.input_shape())?.dims().last().copied().unwrap_or(1);
    Ok(match model.loss() {
        crate::loss::Loss::SparseCategoricalCrossentropy { .. } => Some(width),
        _ => None,
    })
}

/// The data path of a spec's `csv:` or `idx:` source, relative to the spec's folder.
fn spec_data_path(data: &DataSpec, spec_path: &Path) -> Option<PathBuf> {
    let (kind, location) = data.source.split_once(':')?;
    if kind == "builtin" {
        return None;
    }
    let location = Path::new(location);
    Some(match spec_path.parent() {
        Some(dir) if location.is_relative() => dir.join(location),
        _ => location.to_path_buf(),
    })
}

/// `path` made absolute (against the working directory), so a run finds its data from anywhere.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Every callback's `monitor` is a value `fit` will log, checked before anything is written.
fn check_monitors(spec: &Spec, model: &Model<f32>, validation: bool) -> Result<()> {
    let logged = model.log_names(validation);
    for (i, callback) in spec.fit.callbacks.iter().enumerate() {
        let Some(monitor) = callback.0.monitor() else { continue };
        crate::train::check_monitor(&format!("{}: fit.callbacks[{i}]", spec.origin.display()), monitor, &logged)?;
    }
    Ok(())
}

/// The epoch to mark on the learning curves (1-based) and its label: the one whose weights
/// early stopping restored, else the best of its monitor, else the best validation loss. Found
/// by EarlyStopping's own rule ([`MonitorMode::improved`](crate::train::MonitorMode)).
fn best_epoch(spec: &Spec, history: &History) -> Option<(usize, String)> {
    let stopping = spec.fit.callbacks.iter().find_map(|c| match &c.0 {
        CallbackSpec::EarlyStopping { monitor, min_delta, restore_best_weights, .. } => {
            Some((monitor.as_str(), *min_delta, *restore_best_weights))
        }
        _ => None,
    });
    let (monitor, min_delta, restored) = stopping.unwrap_or(("val_loss", 0.0, false));
    let values = history.get(monitor)?;
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in values.iter().enumerate() {
        let better = match best {
            None => !v.is_nan(),
            Some((_, b)) => crate::train::MonitorMode::Auto.improved(monitor, v, b, min_delta),
        };
        if better {
            best = Some((i, v));
        }
    }
    let (i, v) = best?;
    let what = if restored { "restored" } else { "best" };
    Some((i + 1, format!("{what}: epoch {} ({monitor} {v:.4})", i + 1)))
}

/// The checkpoint of the run in `dir`, once the spec text is known to be the run's own.
fn checkpoint_to_resume(dir: &Path, text: &str, options: &FitOptions) -> Result<crate::train::Checkpoint<f32>> {
    if options.init_weights.is_some() {
        return Err(Error::invalid("--resume", "takes the weights from the checkpoint; drop --init-weights"));
    }
    if !dir.is_dir() {
        return Err(Error::invalid("--resume", format!("{} is not a run directory", dir.display())));
    }
    let spec_path = dir.join("spec.toml");
    let run_text = crate::spec::read_spec_text(&spec_path)?;
    let differences = crate::spec::differences(&run_text, text);
    if !differences.is_empty() {
        return Err(Error::invalid(
            "--resume",
            format!(
                "the spec differs from the run's {}; resume with the spec the run was started with:\n  {}",
                spec_path.display(),
                differences.join("\n  ")
            ),
        ));
    }
    let path = dir.join(CHECKPOINT_FILE);
    if !path.exists() {
        return Err(Error::invalid(
            "--resume",
            format!(
                "{} does not exist: the run was stopped before its first epoch ended; start it again",
                path.display()
            ),
        ));
    }
    crate::train::Checkpoint::load(&path)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io { path: path.to_path_buf(), source: e }),
        _ => Ok(()),
    }
}

fn make_callbacks(spec: &Spec, run_dir: &Path, verbose: bool) -> Vec<Box<dyn Callback<f32>>> {
    spec.fit.callbacks.iter().map(|c| c.0.build(run_dir, verbose)).collect()
}

/// `runs/<spec stem>-<UTC yyyymmdd-hhmmss>`, with a suffix if that exists already.
fn default_run_dir(spec_path: &Path) -> PathBuf {
    let stem = spec_path.file_stem().map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!("runs/{stem}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    let mut dir = PathBuf::from(&base);
    let mut k = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{base}-{k}"));
        k += 1;
    }
    dir
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
