//! The TOML spec file shared by the command line and the library: data, model, compile and fit
//! settings, with the same names and defaults as the Rust API. Every key is documented in
//! `docs/spec.md`; unknown keys are errors that name the key and its line.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::config::Fields;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::nn::LayerConfig;
use crate::optim::{Clip, OptimizerConfig, Schedule};
use crate::train::Metric;
use serde::Deserialize;
use std::path::Path;
use toml::Value;

/// A whole spec file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Where the data comes from and how it is prepared.
    pub data: DataSpec,
    /// The network.
    pub model: ModelSpec,
    /// Optimizer, loss and metrics.
    pub compile: CompileSpec,
    /// Training settings.
    #[serde(default)]
    pub fit: FitSpec,
    /// The file the spec was read from (errors name it).
    #[serde(skip)]
    pub origin: std::path::PathBuf,
}

/// The `[data]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// `"builtin:iris"` (also xor, and, or, not), `"idx:DIR"`, `"csv:FILE"` or `"images:DIR"`
    /// (one sub-folder of PNG or JPEG files per class).
    pub source: String,
    /// Feature column names (tables).
    #[serde(default)]
    pub features: Vec<String>,
    /// Target column names (tables).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Fraction of rows held out as the test set (tables); none: every row trains.
    pub test_split: Option<f64>,
    /// Seed of the split.
    #[serde(default)]
    pub split_seed: u64,
    /// Split each class in proportion (needs a single categorical target).
    #[serde(default)]
    pub stratify: bool,
    /// `"none"`, `"standardize"`, `"minmax"` or `"divide:N"`, fitted on the training features.
    #[serde(default = "default_scale")]
    pub scale: String,
    /// Turn a single class-index target into one-hot columns (for categorical_crossentropy).
    #[serde(default)]
    pub one_hot: bool,
    /// Whether a CSV file starts with a header row (default true).
    #[serde(default = "yes")]
    pub header: bool,
    /// `"error"` (default) or `"drop"` for CSV rows with an empty field.
    #[serde(default = "default_missing")]
    pub missing: String,
    /// Perturb each training batch: `{ flip_horizontal = 0.5, rotation = 10, shift = 0.1, zoom = 0.1,
    /// brightness = 0.1, noise = 0.05 }` (every key optional, default 0).
    pub augment: Option<crate::data::augment::Augmentation>,
    /// Images: `[height, width]` every image is resized to (default: keep, all the same size).
    pub image_size: Option<[usize; 2]>,
    /// Images: `"rgb"` (default, as Keras) or `"grayscale"`.
    #[serde(default)]
    pub color_mode: crate::data::images::ColorMode,
}

fn default_scale() -> String {
    "none".into()
}
fn default_missing() -> String {
    "error".into()
}
fn yes() -> bool {
    true
}

impl DataSpec {
    /// The kind and location of `source` (`csv:FILE` gives `("csv", "FILE")`).
    ///
    /// # Errors
    /// When `source` has no `kind:` prefix (the message says what it must be).
    pub fn source_kind(&self) -> std::result::Result<(&str, &str), String> {
        self.source
            .split_once(':')
            .ok_or_else(|| format!("{:?} must be builtin:NAME, csv:FILE, idx:DIR or images:DIR", self.source))
    }

    /// What to do with a CSV row with an empty field.
    ///
    /// # Errors
    /// When `missing` is neither "error" nor "drop".
    pub fn missing_rule(&self) -> std::result::Result<crate::data::table::Missing, String> {
        match self.missing.as_str() {
            "error" => Ok(crate::data::table::Missing::Error),
            "drop" => Ok(crate::data::table::Missing::Drop),
            other => Err(format!("{other:?} must be \"error\" or \"drop\"")),
        }
    }
}

/// The `[model]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Per-sample input shape, e.g. `[2]` or `[28, 28]`.
    pub input_shape: Vec<usize>,
    /// The layers, in order (filled from `layers` by [`Spec::parse`], which knows their lines):
    /// each table deserializes straight into its kind's config.
    #[serde(skip)]
    pub layers: Vec<LayerConfig>,
    /// The line of each layer in the spec file.
    #[serde(skip)]
    pub layer_lines: Vec<usize>,
    #[serde(rename = "layers")]
    raw_layers: Vec<toml::Spanned<Value>>,
    /// Seed of the initial weights (default: `fit.seed`).
    pub seed: Option<u64>,
}

/// The `[compile]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileSpec {
    /// A name (`"adam"`) or a table with `type`, hyper-parameters, clipping and a schedule.
    pub optimizer: OptimizerField,
    /// A name (`"mse"`) or a table (`{ type = "huber", delta = 1.0 }`, `from_logits = true`).
    pub loss: LossField,
    /// Metric names.
    #[serde(default)]
    pub metrics: Vec<MetricField>,
}

/// An optimizer with its clipping and schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct OptimizerField {
    /// The rule and hyper-parameters.
    pub config: OptimizerConfig,
    /// Gradient clipping.
    pub clip: Option<Clip>,
    /// Learning-rate schedule.
    pub schedule: Option<Schedule>,
}

impl TryFrom<Value> for OptimizerField {
    type Error = String;
    fn try_from(value: Value) -> std::result::Result<Self, String> {
        let (kind, mut f) = Fields::new("optimizer", value)?;
        let config = OptimizerConfig::read(&kind, &mut f)?;
        let clip = match (f.opt_f64("clipvalue")?, f.opt_f64("clipnorm")?, f.opt_f64("global_clipnorm")?) {
            (None, None, None) => None,
            (Some(v), None, None) => Some(Clip::Value(v)),
            (None, Some(v), None) => Some(Clip::Norm(v)),
            (None, None, Some(v)) => Some(Clip::GlobalNorm(v)),
            _ => return Err("give at most one of clipvalue, clipnorm, global_clipnorm".into()),
        };
        let schedule = f.take("schedule").map(schedule_from).transpose()?;
        f.done(&kind)?;
        // The library's own checks, here so the error names this table's line.
        config.build::<f32>().map_err(|e| e.to_string())?;
        clip.as_ref().map_or(Ok(()), Clip::validate).map_err(|e| e.to_string())?;
        schedule.as_ref().map_or(Ok(()), Schedule::validate).map_err(|e| e.to_string())?;
        Ok(OptimizerField { config, clip, schedule })
    }
}

fn schedule_from(value: Value) -> std::result::Result<Schedule, String> {
    let (kind, mut f) = Fields::new("schedule", value)?;
    let s = Schedule::read(&kind, &mut f)?;
    f.done(&kind)?;
    Ok(s)
}

/// A loss: a name or a table.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct LossField(pub Loss);

impl TryFrom<Value> for LossField {
    type Error = String;
    fn try_from(value: Value) -> std::result::Result<Self, String> {
        let (kind, mut f) = Fields::new("loss", value)?;
        let loss = Loss::read(&kind, &mut f)?;
        f.done(&kind)?;
        Ok(LossField(loss))
    }
}

/// A metric by name.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct MetricField(pub Metric);

impl TryFrom<String> for MetricField {
    type Error = String;
    fn try_from(name: String) -> std::result::Result<Self, String> {
        Metric::from_name(&name).map(MetricField).map_err(|e| e.to_string())
    }
}

/// The `[fit]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSpec {
    /// Passes over the data (default 1).
    #[serde(default = "one")]
    pub epochs: usize,
    /// Samples per step (default 32).
    #[serde(default = "thirty_two")]
    pub batch_size: usize,
    /// Shuffle each epoch (default true).
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Seed of shuffling (and of the weights unless `model.seed` is set).
    #[serde(default)]
    pub seed: u64,
    /// `"test"`: validate on the test split each epoch.
    pub validation: Option<String>,
    /// Fraction of training rows held out for validation.
    pub validation_split: Option<f64>,
    /// Callbacks, each a table with `type`.
    #[serde(default)]
    pub callbacks: Vec<CallbackField>,
    /// 0 silent, 1 a progress bar per epoch (default), 2 one line per epoch, as Keras's `fit`;
    /// `strata fit --quiet` or `--json` make it 2.
    pub verbose: Option<u8>,
}

fn one() -> usize {
    1
}
fn thirty_two() -> usize {
    32
}

impl Default for FitSpec {
    fn default() -> Self {
        FitSpec {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation: None,
            validation_split: None,
            callbacks: Vec::new(),
            verbose: None,
        }
    }
}

pub use crate::train::callback_kinds::CallbackSpec;

/// One entry of `fit.callbacks`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct CallbackField(pub CallbackSpec);

impl TryFrom<Value> for CallbackField {
    type Error = String;
    fn try_from(value: Value) -> std::result::Result<Self, String> {
        let (kind, mut f) = Fields::new("callback", value)?;
        let spec = CallbackSpec::read(&kind, &mut f)?;
        f.done(&kind)?;
        Ok(CallbackField(spec))
    }
}

/// Most layers a spec may list: far above any network of the lectures, low enough that a hostile
/// spec is refused at once instead of building for minutes.
pub const MAX_LAYERS: usize = 10_000;
/// Largest spec file: 10,000 layers of a line each fit many times over; parsing costs about 50
/// times the text in memory, so the cap bounds a hostile file (a million layers) before parsing.
pub const MAX_SPEC_BYTES: usize = 4 << 20;
/// Longest string value (a path fits: Linux's PATH_MAX is 4,096 bytes).
pub const MAX_STRING_BYTES: usize = 4096;
/// Longest layer name.
pub const MAX_NAME_CHARS: usize = 128;
/// Most elements of any other array (features, input_shape, metrics, callbacks).
pub const MAX_ARRAY_LEN: usize = 100_000;

/// Line numbers of byte offsets in one pass over the text (a binary search per lookup), so
/// naming the line of each of n layers costs O(n log n), not O(n²).
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect())
    }

    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&newline| newline < offset) + 1
    }
}

/// The checks every value of a spec gets, whatever its key, in one pass over the document with
/// the spans kept: numbers finite, and finite in f32 (the element type `strata fit` trains in:
/// a learning rate of 1e300 is a finite f64 and an infinite f32), not rounding to 0 in f32;
/// strings, names and arrays within their caps. Returns the line of every key path
/// (`compile.optimizer.learning_rate`, `model.layers[2].units`), for errors found later.
fn check_document(text: &str, lines: &LineIndex) -> std::result::Result<Vec<(String, usize)>, (usize, String)> {
    use toml::de::{DeTable, DeValue};
    // A syntax error is reported by the typed parse, with its own message.
    let Ok(root) = DeTable::parse(text) else { return Ok(Vec::new()) };
    let mut keys = Vec::new();
    let mut pending: Vec<(String, &toml::Spanned<DeValue<'_>>)> = Vec::new();
    // An explicit stack: the nesting depth is the document's, not ours to trust.
    let mut tables = vec![(String::new(), root.get_ref())];
    while let Some((prefix, table)) = tables.pop() {
        for (key, value) in table.iter() {
            let path =
                if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
            pending.push((path, value));
        }
        while let Some((path, value)) = pending.pop() {
            let line = lines.line(value.span().start);
            keys.push((path.clone(), line));
            let refuse = |message: String| Err((line, message));
            match value.get_ref() {
                DeValue::Float(f) => {
                    let written = f.as_str();
                    let v: f64 = written.replace('_', "").parse().unwrap_or(f64::NAN);
                    if !v.is_finite() {
                        return refuse(format!("{path} = {written} is not a finite number"));
                    }
                    if (v as f32).is_infinite() {
                        return refuse(format!(
                            "{path} = {written} is beyond the range of f32 (about ±3.4e38), the element type strata trains in"
                        ));
                    }
                    if v != 0.0 && v as f32 == 0.0 {
                        return refuse(format!(
                            "{path} = {written} rounds to 0 in f32 (the smallest is about 1.4e-45)"
                        ));
                    }
                }
                DeValue::String(text) if text.len() > MAX_STRING_BYTES => {
                    return refuse(format!(
                        "{path} is a string of {} bytes; the limit is {MAX_STRING_BYTES}",
                        text.len()
                    ));
                }
                DeValue::String(text) if path.ends_with(".name") && text.chars().count() > MAX_NAME_CHARS => {
                    return refuse(format!(
                        "{path} is a name of {} characters; the limit is {MAX_NAME_CHARS}",
                        text.chars().count()
                    ));
                }
                DeValue::Array(items) => {
                    let cap = if path == "model.layers" { MAX_LAYERS } else { MAX_ARRAY_LEN };
                    if items.len() > cap {
                        return refuse(format!("{path} has {} entries; the limit is {cap}", items.len()));
                    }
                    for (i, item) in items.iter().enumerate() {
                        pending.push((format!("{path}[{i}]"), item));
                    }
                }
                DeValue::Table(inner) => tables.push((path, inner)),
                _ => {}
            }
        }
    }
    Ok(keys)
}

impl Spec {
    /// Parse a spec from TOML text; `origin` names it in errors.
    ///
    /// # Errors
    /// On TOML syntax errors, unknown keys or names, wrong value types, numbers out of their
    /// range or not finite in f32, and sizes over the caps; the message names the file and the
    /// line.
    pub fn parse(text: &str, origin: &Path) -> Result<Spec> {
        if text.len() > MAX_SPEC_BYTES {
            return Err(Error::Parse {
                path: origin.to_path_buf(),
                line: 0,
                // The text may have been read only to one byte past the cap: say "larger than".
                message: format!("the spec is larger than the limit of {MAX_SPEC_BYTES} bytes (4 MiB)"),
            });
        }
        let lines = LineIndex::new(text);
        let line_of = |offset: usize| lines.line(offset);
        let error = |line: usize, message: String| Error::Parse { path: origin.to_path_buf(), line, message };
        let keys = check_document(text, &lines).map_err(|(line, message)| error(line, message))?;
        let mut spec: Spec = toml::from_str(text)
            .map_err(|e| error(e.span().map_or(0, |s| line_of(s.start)), e.message().trim().to_string()))?;
        // Layers are converted one by one so an error names the layer's own line (a tagged enum
        // inside an array would otherwise report the array's first line).
        for raw in std::mem::take(&mut spec.model.raw_layers) {
            let line = line_of(raw.span().start);
            let layer = LayerConfig::deserialize(raw.into_inner())
                .map_err(|e| error(line, format!("layer: {}", e.message().trim())))?;
            spec.model.layers.push(layer);
            spec.model.layer_lines.push(line);
        }
        spec.origin = origin.to_path_buf();
        let line_of_key = |key: &str| keys.iter().find(|(path, _)| path == key).map_or(0, |&(_, line)| line);
        spec.check_settings().map_err(|(key, message)| error(line_of_key(key), format!("{key}: {message}")))?;
        Ok(spec)
    }

    /// The settings whose range depends on other settings, or that serde reads directly: each
    /// error names its key (the caller adds the line).
    fn check_settings(&self) -> std::result::Result<(), (&'static str, String)> {
        let kind = match self.data.source_kind() {
            Ok((kind, _)) if ["builtin", "csv", "idx", "images"].contains(&kind) => kind,
            _ => {
                return Err((
                    "data.source",
                    format!("{:?} must be builtin:NAME, csv:FILE, idx:DIR or images:DIR", self.data.source),
                ))
            }
        };
        if kind != "images" && (self.data.image_size.is_some() || self.data.color_mode != Default::default()) {
            let key = if self.data.image_size.is_some() { "data.image_size" } else { "data.color_mode" };
            return Err((key, format!("applies to images:DIR sources only; data.source is {:?}", self.data.source)));
        }
        self.data.missing_rule().map_err(|m| ("data.missing", m))?;
        if self.data.missing != "error" && kind != "csv" {
            return Err(("data.missing", format!("applies to CSV files only; data.source is {:?}", self.data.source)));
        }
        if !self.data.header && kind != "csv" {
            return Err(("data.header", format!("applies to CSV files only; data.source is {:?}", self.data.source)));
        }
        for (key, fraction) in
            [("data.test_split", self.data.test_split), ("fit.validation_split", self.fit.validation_split)]
        {
            if let Some(v) = fraction.filter(|v| !(*v > 0.0 && *v < 1.0)) {
                return Err((key, format!("must be a fraction in (0, 1), got {v}")));
            }
        }
        if self.model.layers.is_empty() {
            return Err(("model.layers", "is empty: a network needs at least one layer".into()));
        }
        if let Some(v) = self.fit.verbose.filter(|v| *v > 2) {
            return Err(("fit.verbose", format!("must be 0, 1 or 2, got {v}")));
        }
        if self.fit.epochs == 0 {
            return Err(("fit.epochs", "must be at least 1".into()));
        }
        if self.fit.batch_size == 0 {
            return Err(("fit.batch_size", "must be at least 1".into()));
        }
        Ok(())
    }

    /// Read and parse a spec file.
    ///
    /// # Errors
    /// When the file cannot be read, or as [`Spec::parse`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Spec> {
        let path = path.as_ref();
        Spec::parse(&read_spec_text(path)?, path)
    }
}

/// A spec file's text, read no further than one byte past [`MAX_SPEC_BYTES`] (so `/dev/zero`
/// or a huge file is refused by [`Spec::parse`] without being read whole).
///
/// # Errors
/// When the file cannot be read or is not UTF-8.
pub fn read_spec_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut text = String::new();
    std::fs::File::open(path).map_err(io)?.take(MAX_SPEC_BYTES as u64 + 1).read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

/// The settings in which two spec texts differ, one line each: the key path and both values
/// (`compile.optimizer.learning_rate: 0.001 in the run, 0.01 now`). Comments and layout do not
/// count. A text that is not TOML is one difference naming its error.
pub fn differences(run: &str, now: &str) -> Vec<String> {
    let parse = |text: &str| text.parse::<toml::Table>().map(toml::Value::Table);
    match (parse(run), parse(now)) {
        (Ok(a), Ok(b)) => {
            let mut out = Vec::new();
            diff_values("", &a, &b, &mut out);
            out
        }
        (Err(e), _) => vec![format!("the run's spec is not valid TOML: {}", e.message().trim())],
        (_, Err(e)) => vec![format!("the spec is not valid TOML: {}", e.message().trim())],
    }
}

fn diff_values(path: &str, run: &toml::Value, now: &toml::Value, out: &mut Vec<String>) {
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (run, now) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => diff_values(&at(key), value, other, out),
                    None => out.push(format!("{}: {value} in the run, absent now", at(key))),
                }
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    out.push(format!("{}: absent in the run, {value} now", at(key)));
                }
            }
        }
        (toml::Value::Array(a), toml::Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} in the run, {b} now")),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may panic: that is how they fail
mod tests {
    use super::*;

    const LECTURE_SPEC: &str = r#"
[data]
source = "builtin:iris"            # or "idx:DIR", "csv:FILE"
features = ["sepal_length", "sepal_width"]
targets = ["petal_length", "petal_width"]
test_split = 0.2
split_seed = 42
scale = "none"                     # "standardize", "minmax", "divide:255"

[model]
input_shape = [2]
layers = [
  { type = "dense", units = 32, activation = "relu", name = "hidden1" },
  { type = "dense", units = 64, activation = "relu", name = "hidden2" },
  { type = "dense", units = 32, activation = "relu", name = "hidden3" },
  { type = "dense", units = 2, activation = "linear", name = "output" },
]

[compile]
optimizer = { type = "sgd", learning_rate = 0.01 }
loss = "mse"
metrics = ["mae"]

[fit]
epochs = 100
batch_size = 32
shuffle = true
seed = 1
validation = "test"                # or validation_split = 0.1
callbacks = [ { type = "early_stopping", monitor = "val_loss", patience = 10, restore_best_weights = true } ]
"#;

    #[test]
    fn the_issue_spec_parses_as_written() {
        let spec = Spec::parse(LECTURE_SPEC, Path::new("iris.toml")).unwrap();
        assert_eq!(spec.model.layers.len(), 4);
        assert_eq!(spec.compile.optimizer.config, OptimizerConfig::Sgd(crate::optim::Sgd::new(0.01)));
        assert_eq!(spec.compile.loss.0, Loss::MeanSquaredError);
        assert_eq!(
            spec.fit.callbacks[0].0,
            CallbackSpec::EarlyStopping {
                monitor: "val_loss".into(),
                patience: 10,
                min_delta: 0.0,
                restore_best_weights: true
            }
        );
    }

    fn error(text: &str) -> String {
        Spec::parse(text, Path::new("bad.toml")).err().unwrap().to_string()
    }

    #[test]
    fn unknown_keys_and_names_are_errors_with_lines() {
        let bad_layer = LECTURE_SPEC.replace(r#"{ type = "dense", units = 64"#, r#"{ type = "dnse", units = 64"#);
        let e = error(&bad_layer);
        assert!(e.starts_with("bad.toml:14:") && e.contains("dnse"), "{e}");
        let bad_key = LECTURE_SPEC.replace("split_seed = 42", "split_sed = 42");
        let e = error(&bad_key);
        assert!(e.starts_with("bad.toml:7:") && e.contains("split_sed"), "{e}");
        let bad_activation = LECTURE_SPEC
            .replace(r#"activation = "relu", name = "hidden1""#, r#"activation = "rleu", name = "hidden1""#);
        let e = error(&bad_activation);
        assert!(
            e.starts_with("bad.toml:13:") && e.contains("unknown activation \"rleu\"") && e.contains("relu"),
            "{e}"
        );
        let bad_opt = LECTURE_SPEC.replace("learning_rate = 0.01 }", "learning_rat = 0.01 }");
        let e = error(&bad_opt);
        assert!(e.starts_with("bad.toml:20:") && e.contains("learning_rat"), "{e}");
        let bad_loss = LECTURE_SPEC.replace(r#"loss = "mse""#, r#"loss = "msee""#);
        assert!(error(&bad_loss).contains("msee"));
        let augmented = LECTURE_SPEC.replace(r#"scale = "none""#, r#"augment = { noise = 0.05, rotation = 10 }"#);
        let spec = Spec::parse(&augmented, Path::new("a.toml")).unwrap();
        assert_eq!(spec.data.augment.unwrap().rotation, 10.0);
        let bad = LECTURE_SPEC.replace(r#"scale = "none""#, r#"augment = { noize = 0.05 }"#);
        assert!(error(&bad).contains("noize"));
    }

    #[test]
    fn differences_name_the_key_path_and_both_values() {
        // Comments and layout do not count.
        let relaid = LECTURE_SPEC.replace("epochs = 100", "epochs   =   100   # the lecture's");
        assert_eq!(differences(LECTURE_SPEC, &relaid), Vec::<String>::new());
        let changed = LECTURE_SPEC
            .replace("learning_rate = 0.01", "learning_rate = 0.02")
            .replace("units = 64", "units = 65")
            .replace("shuffle = true\n", "");
        let found = differences(LECTURE_SPEC, &changed);
        assert!(found.contains(&"compile.optimizer.learning_rate: 0.01 in the run, 0.02 now".to_string()), "{found:?}");
        assert!(found.contains(&"model.layers[1].units: 64 in the run, 65 now".to_string()), "{found:?}");
        assert!(found.contains(&"fit.shuffle: true in the run, absent now".to_string()), "{found:?}");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(differences(LECTURE_SPEC, "[fit")[0].contains("not valid TOML"));
    }
}
