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
use crate::data::table::{ColumnKind, Missing, NumericBatches, Table};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::nn::Sequential;
use crate::spec::{CallbackSpec, DataSpec, Spec};
use crate::tensor::Tensor;
use crate::train::metrics::{classification_report, confusion_matrix, row_classes, ClassificationReport};
use crate::train::{
    Callback, EarlyStopping, Evaluation, FitConfig, History, Model, ModelCheckpoint, ReduceLrOnPlateau, TerminateOnNaN,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Training and test data prepared from a `[data]` table.
pub struct Prepared {
    /// Training inputs, scaled.
    pub x_train: Tensor<f32>,
    /// Training targets.
    pub y_train: Tensor<f32>,
    /// Test inputs and targets, when the data has a test set.
    pub test: Option<(Tensor<f32>, Tensor<f32>)>,
    /// The scaler fitted on the training inputs.
    pub scaler: Scaler,
    /// Class names of a categorical target.
    pub class_names: Option<Vec<String>>,
    /// For figures: the training rows' classes (a categorical column) and the classes' names.
    pub colors: Option<(Vec<usize>, Vec<String>)>,
    /// Names of the feature columns (tables) for axis labels.
    pub feature_names: Vec<String>,
    /// Names of the target columns (tables).
    pub target_names: Vec<String>,
    /// The training inputs before scaling (for figures in the data's own units).
    pub x_train_raw: Tensor<f32>,
}

/// Load and prepare the data a spec describes. `data_path` replaces the path in `source`;
/// `scaler`, when given (a saved run), is applied instead of fitting a new one.
///
/// # Errors
/// When the source is unknown or unreadable, a column is missing, or the split is invalid.
pub fn prepare_data(spec: &DataSpec, data_path: Option<&Path>, scaler: Option<&Scaler>) -> Result<Prepared> {
    prepare_data_with(spec, data_path, Fixed { scaler, ..Fixed::default() })
}

/// What a model fixes about the data read for it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fixed<'a> {
    /// The scaler fitted at training time (applied instead of fitting a new one).
    pub scaler: Option<&'a Scaler>,
    /// The class names of the target, in the order of the model's outputs: a file holding
    /// only some of them still maps each to its trained index.
    pub class_names: Option<&'a [String]>,
    /// For a loss of class indices, the model's output units: a label outside `0..units` is an
    /// error naming the CSV line, and one-hot targets get this width.
    pub class_outputs: Option<usize>,
}

/// [`prepare_data`] with what a model fixes about its data.
///
/// # Errors
/// As [`prepare_data`], and for a label the model cannot score or a class it never saw.
pub fn prepare_data_with(spec: &DataSpec, data_path: Option<&Path>, fixed: Fixed<'_>) -> Result<Prepared> {
    let (kind, location) = source_kind(spec)?;
    let location = data_path.map_or_else(|| PathBuf::from(location), Path::to_path_buf);
    let (x_train, y_train, test, class_names, colors) = match kind {
        "idx" => {
            let d = load_mnist_dir_raw::<f32>(&location)?;
            let names = Some(FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect());
            (d.x_train, d.y_train, Some((d.x_test, d.y_test)), names, None)
        }
        "builtin" | "csv" => {
            let table = if kind == "builtin" {
                Table::builtin(location.to_string_lossy().as_ref())?
            } else {
                let missing = missing_rule(spec)?;
                let mut kinds = numeric(&spec.features);
                if let (Some(names), [target]) = (fixed.class_names, spec.targets.as_slice()) {
                    kinds.push((target.clone(), ColumnKind::Classes(names.to_vec())));
                }
                Table::from_csv_with(&location, spec.header, missing, &kinds)?
            };
            if let Some(outputs) = fixed.class_outputs {
                check_labels(spec, &table, &location, outputs)?;
            }
            table_data(spec, &table, fixed.class_outputs)?
        }
        other => {
            return Err(Error::invalid(
                "data.source",
                format!("unknown source kind {other:?} (expected builtin, csv or idx)"),
            ))
        }
    };
    let scaler = match fixed.scaler {
        Some(s) => s.clone(),
        None => Scaler::fit(&spec.scale, &x_train)?,
    };
    // Kept for figures of 2-feature tables only: for images it would double the memory.
    let x_train_raw = if x_train.rank() == 2 { x_train.clone() } else { Tensor::zeros([0]) };
    let x_train = finite_after_scaling(scaler.apply(x_train)?, &spec.scale, "training")?;
    let test = test
        .map(|(x, y)| Ok::<_, Error>((finite_after_scaling(scaler.apply(x)?, &spec.scale, "test")?, y)))
        .transpose()?;
    Ok(Prepared {
        x_train,
        y_train,
        test,
        scaler,
        class_names,
        colors,
        feature_names: spec.features.clone(),
        target_names: spec.targets.clone(),
        x_train_raw,
    })
}

/// The scaled features, or an error naming the row and feature that scaling made non-finite
/// (values near f32's limit divided by a small range or divisor).
fn finite_after_scaling(x: Tensor<f32>, scale: &str, which: &str) -> Result<Tensor<f32>> {
    let width = x.dims().iter().skip(1).product::<usize>().max(1);
    match x.data().iter().position(|v| !v.is_finite()) {
        None => Ok(x),
        Some(at) => Err(Error::invalid(
            "data.scale",
            format!("scale = {scale:?} makes feature {} of {which} row {} non-finite in f32", at % width, at / width),
        )),
    }
}

type Split = (
    Tensor<f32>,
    Tensor<f32>,
    Option<(Tensor<f32>, Tensor<f32>)>,
    Option<Vec<String>>,
    Option<(Vec<usize>, Vec<String>)>,
);

/// The kind and location of `data.source` (`csv:FILE` gives `("csv", "FILE")`).
fn source_kind(spec: &DataSpec) -> Result<(&str, &str)> {
    spec.source.split_once(':').ok_or_else(|| {
        Error::invalid("data.source", format!("{:?} must be builtin:NAME, csv:FILE or idx:DIR", spec.source))
    })
}

fn missing_rule(spec: &DataSpec) -> Result<Missing> {
    match spec.missing.as_str() {
        "error" => Ok(Missing::Error),
        "drop" => Ok(Missing::Drop),
        other => Err(Error::invalid("data.missing", format!("{other:?} must be \"error\" or \"drop\""))),
    }
}

/// Feature columns hold numbers: text in one is a typo, never a class.
fn numeric(features: &[String]) -> Vec<(String, ColumnKind)> {
    features.iter().map(|f| (f.clone(), ColumnKind::Number)).collect()
}

/// Every label of a single target column is a class index the model's `outputs` units can
/// score; the error names the file's line.
fn check_labels(spec: &DataSpec, table: &Table, location: &Path, outputs: usize) -> Result<()> {
    let [target] = spec.targets.as_slice() else { return Ok(()) };
    let c = table.column(target)?;
    for (r, row) in table.rows.iter().enumerate() {
        let v = row.get(c).copied().unwrap_or(f64::NAN);
        if !(v >= 0.0 && v.fract() == 0.0 && v < outputs as f64) {
            let shown = match &table.categories.get(c) {
                Some(Some(names)) => {
                    names.get(v as usize).map_or_else(|| v.to_string(), |n| format!("{n:?} (class {v})"))
                }
                _ => v.to_string(),
            };
            let message =
                format!("label {shown} in column {target:?} is out of range: {}", crate::loss::valid_labels(outputs));
            return Err(match table.lines.get(r) {
                Some(&line) => Error::Parse { path: location.to_path_buf(), line: line as usize, message },
                None => Error::invalid("data", format!("row {r}: {message}")),
            });
        }
    }
    Ok(())
}

fn table_data(spec: &DataSpec, table: &Table, class_outputs: Option<usize>) -> Result<Split> {
    if spec.features.is_empty() || spec.targets.is_empty() {
        return Err(Error::invalid("data", "a table source needs `features` and `targets` column names"));
    }
    let n = table.rows.len();
    let target_col = if spec.targets.len() == 1 { Some(table.column(&spec.targets[0])?) } else { None };
    let classes = target_col.and_then(|c| table.categories[c].clone());
    let labels: Option<Vec<usize>> = target_col.map(|c| table.rows.iter().map(|r| r[c] as usize).collect());
    let lecture_iris =
        spec.source == "builtin:iris" && spec.test_split == Some(0.2) && spec.split_seed == 42 && !spec.stratify;
    let (train, test) = match spec.test_split {
        None => ((0..n).collect(), Vec::new()),
        // Lecture 000's call, train_test_split(test_size=0.2, random_state=42), reproduced row for
        // row from scikit-learn so the lecture's spec trains on the lecture's split.
        Some(_) if lecture_iris => {
            (crate::data::iris::LECTURE_TRAIN_ROWS.to_vec(), crate::data::iris::LECTURE_TEST_ROWS.to_vec())
        }
        Some(f) => {
            let strata = if spec.stratify {
                Some(labels.as_deref().ok_or_else(|| Error::invalid("data.stratify", "needs a single target column"))?)
            } else {
                None
            };
            train_test_split(n, f, spec.split_seed, strata)?
        }
    };
    let targets = |rows: &[usize]| -> Result<Tensor<f32>> {
        let y = table.select::<f32>(&spec.targets, rows)?;
        if !spec.one_hot {
            return Ok(y);
        }
        // The model's width when known: a file may hold only some of the classes.
        let count = class_outputs.unwrap_or_else(|| {
            classes
                .as_ref()
                .map_or_else(|| labels.as_ref().map_or(0, |l| l.iter().max().map_or(0, |m| m + 1)), Vec::len)
        });
        let idx: Vec<usize> = y.data().iter().map(|&v| v as usize).collect();
        if spec.targets.len() != 1 {
            return Err(Error::invalid("data.one_hot", "needs a single target column of class indices"));
        }
        Tensor::one_hot(&idx, count)
    };
    let x_train = table.select::<f32>(&spec.features, &train)?;
    let y_train = targets(&train)?;
    let test =
        if test.is_empty() { None } else { Some((table.select::<f32>(&spec.features, &test)?, targets(&test)?)) };
    // Figures colour points by the target's classes, else by the table's first categorical
    // column (Iris species in the regression), else by a 0/1 target (the logic gates).
    let color_col = target_col
        .filter(|&c| table.categories[c].is_some())
        .or_else(|| table.categories.iter().position(Option::is_some));
    let colors = match color_col {
        Some(c) => Some((
            train.iter().map(|&r| table.rows[r][c] as usize).collect(),
            table.categories[c].clone().unwrap_or_default(),
        )),
        None => target_col.filter(|&c| table.rows.iter().all(|r| r[c] == 0.0 || r[c] == 1.0)).map(|c| {
            (train.iter().map(|&r| table.rows[r][c] as usize).collect(), vec!["0".to_string(), "1".to_string()])
        }),
    };
    Ok((x_train, y_train, test, classes, colors))
}

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
    let spec = Spec::parse(text, spec_path)?;
    let seed = options.seed.unwrap_or(spec.fit.seed);
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
    let resume = match &options.resume {
        Some(dir) => Some(checkpoint_to_resume(dir, text, options)?),
        None => None,
    };
    let mut model = build_model(&spec, seed)?;
    let verbose = options.verbose.unwrap_or_else(|| spec.fit.verbose.unwrap_or(1));
    let data_path = options.data.clone().or_else(|| spec_data_path(&spec.data, spec_path));
    let fixed = Fixed { class_outputs: class_outputs(&model)?, ..Fixed::default() };
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
    // One writer per run directory; a trained run being replaced is rebuilt beside it and
    // swapped in whole at the end (see `rundir`).
    let lock = crate::rundir::RunLock::acquire(&run_dir).map_err(|e| match e {
        Error::Io { source, .. } => Error::Io { path: run_dir.clone(), source },
        other => other,
    })?;
    let replacing = resume.is_none() && is_run_dir(&run_dir);
    let work_dir = if replacing { crate::rundir::staging_dir(&run_dir, &lock)? } else { run_dir.clone() };
    let trained = train_into(&work_dir, &run_dir, text, &spec, model, data, config, resume, data_path, verbose);
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

/// The part of [`fit_spec_text`] that writes: train into `work_dir` (the run directory, or the
/// staging folder of its replacement) and write every result file there.
#[allow(clippy::too_many_arguments)]
fn train_into(
    work_dir: &Path,
    run_dir: &Path,
    text: &str,
    spec: &Spec,
    mut model: Model<f32>,
    data: Prepared,
    config: FitConfig<f32>,
    resume: Option<crate::train::Checkpoint<f32>>,
    data_path: Option<PathBuf>,
    verbose: u8,
) -> Result<RunReport> {
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
    let mut callbacks = make_callbacks(spec, work_dir, verbose > 0);
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
    let run_file = RunFile {
        format: RUN_FORMAT.into(),
        spec_toml: text.to_string(),
        scaler: data.scaler.clone(),
        class_names: data.class_names.clone(),
        summary: model.summary(),
        weights_fingerprint: Some(weights_fingerprint(&model)),
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
        let marked = best_epoch(spec, &history);
        crate::plot::learning_curves_marked(
            &history,
            marked,
            &work_dir.join("learning_curves.png"),
            &work_dir.join("learning_curves.svg"),
        )?;
    }
    write_figures(work_dir, &data, &model)?;
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
        let monitor = match &callback.0 {
            CallbackSpec::EarlyStopping { monitor, .. }
            | CallbackSpec::ReduceLrOnPlateau { monitor, .. }
            | CallbackSpec::ModelCheckpoint { monitor, save_best_only: true } => monitor,
            _ => continue,
        };
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

/// The figures a run's data calls for: a scatter of 2-feature data coloured by class, the
/// decision regions of a 2-input classifier, and for images a grid of samples and of test
/// predictions.
fn write_figures(run_dir: &Path, data: &Prepared, model: &Model<f32>) -> Result<()> {
    let classes_of = |x: &Tensor<f32>| -> Result<Vec<usize>> {
        let p = model.predict(x, 1024)?;
        Ok(if p.dims().get(1) == Some(&1) {
            p.data().iter().map(|&v| usize::from(v > 0.5)).collect()
        } else {
            crate::train::metrics::argmax_rows(&p)?
        })
    };
    let classifier = model.loss().is_classifier();
    if let (Some((labels, names)), [f0, f1]) = (&data.colors, data.feature_names.as_slice()) {
        let mut panels = vec![("Input variables X", &data.x_train_raw, [f0.as_str(), f1.as_str()])];
        if let (false, [t0, t1]) = (classifier, data.target_names.as_slice()) {
            panels.push(("Output variables Y", &data.y_train, [t0.as_str(), t1.as_str()]));
        }
        crate::plot::scatter_by_class(&panels, labels, names, &run_dir.join("data.png"))?;
        if classifier {
            let predict = |g: &Tensor<f32>| classes_of(&data.scaler.transform(g)?);
            crate::plot::decision_regions(
                &data.x_train_raw,
                labels,
                names,
                [f0, f1],
                predict,
                &run_dir.join("decision_regions.png"),
            )?;
        }
    }
    if let (3, Some(names)) = (data.x_train.rank(), &data.class_names) {
        let name = |v: f32| names.get(v as usize).cloned().unwrap_or_else(|| v.to_string());
        let shown = data.x_train.dims()[0].min(25);
        let samples = data.x_train.slice_batch(0, shown)?;
        let captions: Vec<String> = data.y_train.data()[..shown].iter().map(|&v| name(v)).collect();
        crate::plot::image_grid(
            &samples,
            &captions,
            "Training images and their classes",
            &[],
            &run_dir.join("samples.png"),
        )?;
        if let Some((x, y)) = &data.test {
            let shown = x.dims()[0].min(25);
            let images = x.slice_batch(0, shown)?;
            let predicted = classes_of(&images)?;
            let pairs: Vec<(usize, usize)> = predicted.iter().zip(y.data()).map(|(&p, &t)| (p, t as usize)).collect();
            let captions: Vec<String> =
                pairs.iter().map(|&(p, t)| format!("{} / {}", name(p as f32), name(t as f32))).collect();
            let wrong: Vec<bool> = pairs.iter().map(|(p, t)| p != t).collect();
            let errors = wrong.iter().filter(|&&w| w).count();
            let title = format!("Test images: predicted / true ({errors} of {shown} wrong, in red)");
            crate::plot::image_grid(&images, &captions, &title, &wrong, &run_dir.join("predictions.png"))?;
        }
    }
    if let Some((x, y)) = &data.test {
        if classifier {
            let (matrix, names) = confusion_of(model, x, y, data.class_names.as_deref(), 1024)?;
            crate::plot::confusion_matrix(&matrix, &names, &run_dir.join("confusion_matrix.png"))?;
        } else {
            let predicted = model.predict(x, 1024)?;
            if predicted.shape() == y.shape() && predicted.rank() == 2 {
                crate::plot::predicted_vs_true(
                    &predicted,
                    y,
                    &data.target_names,
                    &run_dir.join("predicted_vs_true.png"),
                )?;
            }
        }
    }
    Ok(())
}

fn make_callbacks(spec: &Spec, run_dir: &Path, verbose: bool) -> Vec<Box<dyn Callback<f32>>> {
    spec.fit
        .callbacks
        .iter()
        .map(|c| -> Box<dyn Callback<f32>> {
            match &c.0 {
                CallbackSpec::EarlyStopping { monitor, patience, min_delta, restore_best_weights } => {
                    let mut es =
                        EarlyStopping::new(monitor.clone(), *patience).restore_best_weights(*restore_best_weights);
                    (es.min_delta, es.verbose) = (*min_delta, verbose);
                    Box::new(es)
                }
                CallbackSpec::ReduceLrOnPlateau { monitor, factor, patience, min_lr, min_delta } => {
                    let mut r = ReduceLrOnPlateau::new(monitor.clone());
                    (r.factor, r.patience, r.min_lr, r.min_delta, r.verbose) =
                        (*factor, *patience, *min_lr, *min_delta, verbose);
                    Box::new(r)
                }
                CallbackSpec::TerminateOnNan => Box::new(TerminateOnNaN),
                CallbackSpec::ModelCheckpoint { monitor, save_best_only: true } => {
                    Box::new(ModelCheckpoint::best_only(run_dir.join("best.safetensors"), monitor.clone()))
                }
                CallbackSpec::ModelCheckpoint { monitor, save_best_only: false } => {
                    let mut every = ModelCheckpoint::best_only(run_dir.join("checkpoint.safetensors"), monitor.clone());
                    every.save_best_only = false;
                    Box::new(every)
                }
            }
        })
        .collect()
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

/// A run directory loaded back: its spec, model (with the saved weights) and preprocessing.
pub struct LoadedRun {
    /// The spec the run was trained from.
    pub spec: Spec,
    /// The model with its trained weights.
    pub model: Model<f32>,
    /// The scaler fitted at training time.
    pub scaler: Scaler,
    /// Class names of a categorical target.
    pub class_names: Option<Vec<String>>,
    /// The data it was trained on, absolute (None: a built-in source, or an older run).
    pub data_path: Option<PathBuf>,
}

/// Load a run directory written by [`fit_spec`].
///
/// # Errors
/// When a file is missing or malformed, or the weights do not fit the architecture.
pub fn load_run(run_dir: &Path) -> Result<LoadedRun> {
    let json_path = run_dir.join("model.json");
    let text = std::fs::read_to_string(&json_path).map_err(|source| Error::Io { path: json_path.clone(), source })?;
    let run: RunFile = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: json_path.clone(),
        line: e.line(),
        message: e.to_string(),
    })?;
    if run.format != RUN_FORMAT {
        return Err(Error::Parse {
            path: json_path,
            line: 0,
            message: format!("format {:?} is not {RUN_FORMAT:?}", run.format),
        });
    }
    // The spec that counts is the copy inside model.json (spec.toml is for people): errors name it.
    let spec = Spec::parse(&run.spec_toml, &PathBuf::from(format!("{} (its spec_toml)", json_path.display())))?;
    run.scaler.validate().map_err(|e| Error::Parse { path: json_path.clone(), line: 0, message: e.to_string() })?;
    let mut model = build_model(&spec, spec.fit.seed)?;
    let weights_path = run_dir.join("model.safetensors");
    model.load_weights(&weights_path)?;
    if run.weights_fingerprint.as_ref().is_some_and(|f| *f != weights_fingerprint(&model)) {
        return Err(Error::Parse {
            path: weights_path,
            line: 0,
            message: format!(
                "these weights are not the ones {} was written with (the files come from different runs); train again or --resume",
                json_path.display()
            ),
        });
    }
    Ok(LoadedRun { spec, model, scaler: run.scaler, class_names: run.class_names, data_path: run.data_path })
}

/// What [`evaluate_run`] measured, and on what.
pub struct EvaluationReport {
    /// The loss and metrics, by name.
    pub results: Evaluation,
    /// Which rows: "test", "train", or "all 40 rows of FILE".
    pub evaluated_on: String,
    /// For a classifier: the confusion matrix (`[true][predicted]`) and the per-class report,
    /// with the run's class names.
    pub classification: Option<(Vec<Vec<usize>>, ClassificationReport)>,
}

/// Evaluate a run with its saved scaler, class names and targets layout: on its own test set
/// (or every row when it has none) from the data it was trained on; or, given `data`, on every
/// row of that file (an IDX folder: its test set).
///
/// # Errors
/// As [`load_run`] and [`prepare_data`]; a class name the run never saw is an error naming it.
pub fn evaluate_run(run_dir: &Path, data: Option<&Path>) -> Result<EvaluationReport> {
    let run = load_run(run_dir)?;
    let fixed = Fixed {
        scaler: Some(&run.scaler),
        class_names: run.class_names.as_deref(),
        class_outputs: class_outputs(&run.model)?,
    };
    let batch = run.spec.fit.batch_size;
    let table_file = data.is_some() && source_kind(&run.spec.data)?.0 != "idx";
    let (x, y, evaluated_on) = if let (true, Some(path)) = (table_file, data) {
        // A file of its own is evaluated whole: the run's split belongs to the run's data.
        let mut whole = run.spec.data.clone();
        (whole.test_split, whole.stratify) = (None, false);
        let prepared = prepare_data_with(&whole, Some(path), fixed)?;
        let on = format!("all {} rows of {}", prepared.x_train.dims()[0], path.display());
        (prepared.x_train, prepared.y_train, on)
    } else {
        let path = data.map(Path::to_path_buf).or_else(|| run.data_path.clone());
        let prepared = prepare_data_with(&run.spec.data, path.as_deref(), fixed)?;
        match prepared.test {
            Some((x, y)) => (x, y, "test".to_string()),
            None => (prepared.x_train, prepared.y_train, "train".to_string()),
        }
    };
    let results = run.model.evaluate(&x, &y, batch)?;
    let classification = classification_of(&run, &x, &y)?;
    Ok(EvaluationReport { results, evaluated_on, classification })
}

/// The confusion matrix and report of a classifier's predictions on `x` against `y` (class
/// indices or one-hot rows; one output unit thresholded at 0.5).
/// A classifier's confusion matrix on `x` against `y` (see [`row_classes`]), with the class
/// names to show (indices where the run has none of the right count).
fn confusion_of(
    model: &Model<f32>,
    x: &Tensor<f32>,
    y: &Tensor<f32>,
    class_names: Option<&[String]>,
    batch_size: usize,
) -> Result<(Vec<Vec<usize>>, Vec<String>)> {
    let pred = model.predict(x, batch_size.max(1))?;
    let (truth, predicted, classes) = row_classes("evaluate", &pred, y)?;
    let names = match class_names {
        Some(names) if names.len() == classes => names.to_vec(),
        _ => (0..classes).map(|c| c.to_string()).collect(),
    };
    Ok((confusion_matrix(&truth, &predicted, classes)?, names))
}

fn classification_of(
    run: &LoadedRun,
    x: &Tensor<f32>,
    y: &Tensor<f32>,
) -> Result<Option<(Vec<Vec<usize>>, ClassificationReport)>> {
    if !run.model.loss().is_classifier() {
        return Ok(None);
    }
    let (confusion, names) = confusion_of(&run.model, x, y, run.class_names.as_deref(), run.spec.fit.batch_size)?;
    let report = classification_report(&confusion).with_class_names(&names);
    Ok(Some((confusion, report)))
}

/// A confusion matrix as a text table, class names on both axes.
pub fn format_confusion(matrix: &[Vec<usize>], class_names: &[String]) -> String {
    let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
    let width = (0..matrix.len())
        .map(|i| name(i).chars().count())
        .chain(matrix.iter().flatten().map(|v| v.to_string().len()))
        .max()
        .unwrap_or(1);
    let mut out = format!("{:>width$}", "");
    for p in 0..matrix.len() {
        out += &format!(" {:>width$}", name(p));
    }
    out.push('\n');
    for (t, row) in matrix.iter().enumerate() {
        out += &format!("{:>width$}", name(t));
        for v in row {
            out += &format!(" {v:>width$}");
        }
        out.push('\n');
    }
    out
}

/// Draw a run's learning curves again from its `history.csv`, marking the epoch its spec's
/// early stopping restored (or its best); returns the PNG written.
///
/// # Errors
/// When the run's history or spec cannot be read.
pub fn plot_run(run_dir: &Path) -> Result<PathBuf> {
    let path = run_dir.join("history.csv");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let history = History::from_csv(&text).map_err(|message| Error::Parse { path, line: 0, message })?;
    let spec_path = run_dir.join("spec.toml");
    let marked = match Spec::from_file(&spec_path) {
        Ok(spec) => best_epoch(&spec, &history),
        Err(_) => None,
    };
    let png = run_dir.join("learning_curves.png");
    crate::plot::learning_curves_marked(&history, marked, &png, &run_dir.join("learning_curves.svg"))?;
    Ok(png)
}

/// Whether a file is IDX, from its first bytes (two zero bytes and a type code, or gzip):
/// never from its name, which may merely contain "idx".
fn is_idx_file(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 3];
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
        }
    }
    Ok(match head[..n] {
        [0x1f, 0x8b, ..] => true,
        [0, 0, code] => matches!(code, 0x08 | 0x09 | 0x0b | 0x0c | 0x0d | 0x0e),
        _ => false,
    })
}

/// Rows [`predict_run`] reads, predicts and writes at a time.
pub const PREDICT_CHUNK_ROWS: usize = 4096;

/// Predict with a run on a CSV file (the spec's feature columns, by name) or an IDX image file
/// (told apart by content), writing CSV to `out`: a header, then per row the outputs and, for a
/// classifier, the predicted class. Returns the number of rows.
///
/// # Errors
/// When the input cannot be read, lacks a feature column, or holds text, an empty field or a
/// non-finite number in one (naming the file, line, column and text); when `out` fails.
pub fn predict_run(run_dir: &Path, input: &Path, out: &mut dyn std::io::Write) -> Result<usize> {
    let run = load_run(run_dir)?;
    let network = run.model.network();
    let output = network.output_shape(network.input_shape())?;
    let width = output.dims().last().copied().unwrap_or(1).max(1);
    let names: Vec<String> = if run.spec.data.targets.len() == width {
        run.spec.data.targets.clone()
    } else if let Some(classes) = run.class_names.as_ref().filter(|c| c.len() == width) {
        classes.iter().map(|c| format!("p({c})")).collect()
    } else {
        (0..width).map(|i| format!("output_{i}")).collect()
    };
    let classes = run.class_names.as_ref().filter(|c| width > 1 && c.len() == width);
    // A CSV writer, so a class name with a comma or a quote stays one field.
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    let csv_error = |e: csv::Error| Error::invalid("predict", format!("cannot write CSV: {e}"));
    let mut header = names;
    if classes.is_some() {
        header.push("predicted".into());
    }
    // The header first, so even an input without rows gives a well-formed CSV.
    writer.write_record(&header).map_err(csv_error)?;
    let batch = run.spec.fit.batch_size;
    let mut write_batch = |x: Tensor<f32>| -> Result<usize> {
        let pred = run.model.predict(&run.scaler.transform(&x)?, batch)?;
        let mut rows = 0;
        for row in pred.data().chunks(width) {
            let mut fields: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            if let Some(classes) = classes {
                let best = (0..width).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
                fields.push(classes[best].clone());
            }
            writer.write_record(&fields).map_err(csv_error)?;
            rows += 1;
        }
        Ok(rows)
    };
    // Rows are read, predicted and written a chunk at a time: memory holds one chunk, whatever
    // the input's size.
    let mut written = 0;
    if is_idx_file(input)? {
        let arr = read_idx(input)?;
        let sample: usize = arr.dims.iter().skip(1).product();
        for chunk in arr.data.chunks((PREDICT_CHUNK_ROWS * sample).max(1)) {
            let n = chunk.len() / sample.max(1);
            let dims: Vec<usize> = std::iter::once(n).chain(arr.dims.iter().skip(1).copied()).collect();
            written += write_batch(Tensor::from_vec(chunk.iter().map(|&b| f32::from(b)).collect(), dims)?)?;
        }
    } else {
        let mut batches = NumericBatches::open(input, run.spec.data.header, &run.spec.data.features)?;
        while let Some(x) = batches.next_batch::<f32>(PREDICT_CHUNK_ROWS)? {
            written += write_batch(x)?;
        }
    }
    writer.flush().map_err(|e| Error::invalid("predict", format!("cannot write CSV: {e}")))?;
    Ok(written)
}
