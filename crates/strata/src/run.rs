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
use crate::data::table::{Missing, Table};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::nn::Sequential;
use crate::spec::{CallbackSpec, DataSpec, Spec};
use crate::tensor::Tensor;
use crate::train::{
    Callback, EarlyStopping, FitConfig, History, Model, ModelCheckpoint, ReduceLrOnPlateau, TerminateOnNaN,
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
    let (kind, location) = spec.source.split_once(':').ok_or_else(|| {
        Error::invalid("data.source", format!("{:?} must be builtin:NAME, csv:FILE or idx:DIR", spec.source))
    })?;
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
                let missing = match spec.missing.as_str() {
                    "error" => Missing::Error,
                    "drop" => Missing::Drop,
                    other => {
                        return Err(Error::invalid("data.missing", format!("{other:?} must be \"error\" or \"drop\"")))
                    }
                };
                Table::from_csv(&location, spec.header, missing)?
            };
            table_data(spec, &table)?
        }
        other => {
            return Err(Error::invalid(
                "data.source",
                format!("unknown source kind {other:?} (expected builtin, csv or idx)"),
            ))
        }
    };
    let scaler = match scaler {
        Some(s) => s.clone(),
        None => Scaler::fit(&spec.scale, &x_train)?,
    };
    // Kept for figures of 2-feature tables only: for images it would double the memory.
    let x_train_raw = if x_train.rank() == 2 { x_train.clone() } else { Tensor::zeros([0]) };
    let x_train = scaler.apply(x_train)?;
    let test = test.map(|(x, y)| Ok::<_, Error>((scaler.apply(x)?, y))).transpose()?;
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

type Split = (
    Tensor<f32>,
    Tensor<f32>,
    Option<(Tensor<f32>, Tensor<f32>)>,
    Option<Vec<String>>,
    Option<(Vec<usize>, Vec<String>)>,
);

fn table_data(spec: &DataSpec, table: &Table) -> Result<Split> {
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
        let count = classes
            .as_ref()
            .map_or_else(|| labels.as_ref().map_or(0, |l| l.iter().max().map_or(0, |m| m + 1)), Vec::len);
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
        net.push(layer.to_config()).map_err(|e| Error::Parse {
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
    /// 0 silent, 1 progress bars, 2 a line per epoch.
    pub verbose: u8,
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
    pub results: Vec<(String, f64)>,
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
    let text =
        std::fs::read_to_string(spec_path).map_err(|source| Error::Io { path: spec_path.to_path_buf(), source })?;
    fit_spec_text(&text, spec_path, options)
}

/// [`fit_spec`] from the spec's text; `spec_path` names it (errors, default run directory).
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
    let checkpoint_path = run_dir.join(CHECKPOINT_FILE);
    let resume = match &options.resume {
        Some(dir) => Some(checkpoint_to_resume(dir, text, options)?),
        None => None,
    };
    let data = prepare_data(&spec.data, options.data.as_deref(), None)?;
    let mut model = build_model(&spec, seed)?;
    if let Some(path) = &options.init_weights {
        model.load_weights(path)?;
    }
    std::fs::create_dir_all(&run_dir).map_err(|source| Error::Io { path: run_dir.clone(), source })?;
    crate::io::remove_stale_temporaries(&run_dir)?;
    if resume.is_none() {
        // A fresh run: a checkpoint left by an earlier run here belongs to another spec. The
        // spec goes in first, so a checkpoint is never found beside a spec it was not trained by.
        remove_if_present(&checkpoint_path)?;
        write_atomic(&run_dir.join("spec.toml"), text.as_bytes())?;
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
        verbose: options.verbose,
        augment: spec.data.augment.clone(),
        checkpoint: Some(checkpoint_path),
    };
    let mut callbacks = make_callbacks(&spec, &run_dir);
    let mut refs: Vec<&mut dyn Callback<f32>> =
        callbacks.iter_mut().map(|b| b.as_mut() as &mut dyn Callback<f32>).collect();
    let start = Instant::now();
    let history = match &resume {
        Some(checkpoint) => {
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
    };
    let json = serde_json::to_string_pretty(&run_file).map_err(|e| Error::invalid("model.json", e.to_string()))?;
    model.save_weights(run_dir.join("model.safetensors"))?;
    write_atomic(&run_dir.join("model.json"), json.as_bytes())?;
    write_atomic(&run_dir.join("spec.toml"), text.as_bytes())?;
    write_atomic(&run_dir.join("history.csv"), history.to_csv().as_bytes())?;
    if history.epochs() > 0 {
        crate::plot::learning_curves(
            &history,
            &run_dir.join("learning_curves.png"),
            &run_dir.join("learning_curves.svg"),
        )?;
    }
    write_figures(&run_dir, &data, &model)?;
    Ok(RunReport { run_dir, epochs: history.epochs(), history, results, evaluated_on, seconds_per_epoch, model })
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
    let run_text =
        std::fs::read_to_string(&spec_path).map_err(|source| Error::Io { path: spec_path.clone(), source })?;
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
    let classifier = matches!(
        model.loss(),
        crate::loss::Loss::BinaryCrossentropy { .. }
            | crate::loss::Loss::CategoricalCrossentropy { .. }
            | crate::loss::Loss::SparseCategoricalCrossentropy { .. }
    );
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
        crate::plot::image_grid(&samples, &captions, &run_dir.join("samples.png"))?;
        if let Some((x, y)) = &data.test {
            let shown = x.dims()[0].min(25);
            let images = x.slice_batch(0, shown)?;
            let predicted = classes_of(&images)?;
            let captions: Vec<String> =
                predicted.iter().zip(y.data()).map(|(&p, &t)| format!("{} / {}", name(p as f32), name(t))).collect();
            crate::plot::image_grid(&images, &captions, &run_dir.join("predictions.png"))?;
        }
    }
    Ok(())
}

fn make_callbacks(spec: &Spec, run_dir: &Path) -> Vec<Box<dyn Callback<f32>>> {
    spec.fit
        .callbacks
        .iter()
        .map(|c| -> Box<dyn Callback<f32>> {
            match &c.0 {
                CallbackSpec::EarlyStopping { monitor, patience, min_delta, restore_best_weights } => {
                    let mut es =
                        EarlyStopping::new(monitor.clone(), *patience).restore_best_weights(*restore_best_weights);
                    es.min_delta = *min_delta;
                    Box::new(es)
                }
                CallbackSpec::ReduceLrOnPlateau { monitor, factor, patience, min_lr } => {
                    let mut r = ReduceLrOnPlateau::new(monitor.clone());
                    (r.factor, r.patience, r.min_lr) = (*factor, *patience, *min_lr);
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
    let spec = Spec::parse(&run.spec_toml, &run_dir.join("spec.toml"))?;
    let mut model = build_model(&spec, spec.fit.seed)?;
    model.load_weights(run_dir.join("model.safetensors"))?;
    Ok(LoadedRun { spec, model, scaler: run.scaler, class_names: run.class_names })
}

/// Evaluate a run on its test set (or all rows when the spec has none), with the saved scaler.
///
/// # Errors
/// As [`load_run`] and [`prepare_data`].
pub fn evaluate_run(run_dir: &Path, data: Option<&Path>) -> Result<(Vec<(String, f64)>, &'static str)> {
    let run = load_run(run_dir)?;
    let prepared = prepare_data(&run.spec.data, data, Some(&run.scaler))?;
    let batch = run.spec.fit.batch_size;
    match &prepared.test {
        Some((x, y)) => Ok((run.model.evaluate(x, y, batch)?, "test")),
        None => Ok((run.model.evaluate(&prepared.x_train, &prepared.y_train, batch)?, "train")),
    }
}

/// Predict with a run on a CSV file (the spec's feature columns, by name) or an IDX image file.
/// Returns CSV text: the outputs, and for a classifier the predicted class.
///
/// # Errors
/// When the input cannot be read or lacks a feature column.
pub fn predict_run(run_dir: &Path, input: &Path) -> Result<String> {
    let run = load_run(run_dir)?;
    let is_idx = input.to_string_lossy().contains("idx");
    let x = if is_idx {
        let arr = read_idx(input)?;
        Tensor::from_vec(arr.data.iter().map(|&b| f32::from(b)).collect(), arr.dims)?
    } else {
        let table = Table::from_csv(input, run.spec.data.header, Missing::Error)?;
        let rows: Vec<usize> = (0..table.rows.len()).collect();
        table.select::<f32>(&run.spec.data.features, &rows)?
    };
    let pred = run.model.predict(&run.scaler.transform(&x)?, run.spec.fit.batch_size)?;
    let width = pred.numel() / pred.dims()[0].max(1);
    let names: Vec<String> = if run.spec.data.targets.len() == width {
        run.spec.data.targets.clone()
    } else if let Some(classes) = run.class_names.as_ref().filter(|c| c.len() == width) {
        classes.iter().map(|c| format!("p({c})")).collect()
    } else {
        (0..width).map(|i| format!("output_{i}")).collect()
    };
    let classify = width > 1 && run.class_names.as_ref().is_some_and(|c| c.len() == width);
    let mut out = names.join(",");
    if classify {
        out += ",predicted";
    }
    out.push('\n');
    for row in pred.data().chunks(width.max(1)) {
        out += &row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
        if let (true, Some(classes)) = (classify, &run.class_names) {
            let best = (0..width).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
            out += &format!(",{}", classes[best]);
        }
        out.push('\n');
    }
    Ok(out)
}
