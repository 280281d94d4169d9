//! The data of a run: a spec's `[data]` table read, split, scaled and checked.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::shape::Shape;

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
    /// The model's per-sample input shape: images (`[n, h, w]`) get the channel axis of 1 a
    /// conv layer's input `[h, w, 1]` asks for, as Keras's examples add it with `expand_dims`.
    pub input_shape: Option<&'a Shape>,
}

/// `x` with the channel axis `input` asks for: `[n, h, w]` becomes `[n, h, w, 1]` when `input`
/// is `[h, w, 1]` (no copy); any other data is returned as it is, for the model to check.
pub fn with_channel_axis(x: Tensor<f32>, input: Option<&Shape>) -> Result<Tensor<f32>> {
    let Some(input) = input else { return Ok(x) };
    let (per_sample, want) = (&x.dims()[1.min(x.rank())..], input.dims());
    if want.len() == per_sample.len() + 1 && want.ends_with(&[1]) && want.starts_with(per_sample) {
        let dims: Vec<usize> = x.dims().iter().chain(&[1]).copied().collect();
        return x.reshape(dims);
    }
    Ok(x)
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
        "images" => image_data(spec, &location, fixed.class_names)?,
        "builtin" | "csv" => {
            let table = if kind == "builtin" {
                Table::builtin(location.to_string_lossy().as_ref())?
            } else {
                let missing = spec.missing_rule().map_err(|m| Error::invalid("data.missing", m))?;
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
                format!("unknown source kind {other:?} (expected builtin, csv, idx or images)"),
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
    let x_train = with_channel_axis(x_train, fixed.input_shape)?;
    let test = test
        .map(|(x, y)| {
            let x = finite_after_scaling(scaler.apply(x)?, &spec.scale, "test")?;
            Ok::<_, Error>((with_channel_axis(x, fixed.input_shape)?, y))
        })
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
pub(super) fn finite_after_scaling(x: Tensor<f32>, scale: &str, which: &str) -> Result<Tensor<f32>> {
    let width = x.dims().iter().skip(1).product::<usize>().max(1);
    match x.data().iter().position(|v| !v.is_finite()) {
        None => Ok(x),
        Some(at) => Err(Error::invalid(
            "data.scale",
            format!("scale = {scale:?} makes feature {} of {which} row {} non-finite in f32", at % width, at / width),
        )),
    }
}

pub(super) type Split = (
    Tensor<f32>,
    Tensor<f32>,
    Option<(Tensor<f32>, Tensor<f32>)>,
    Option<Vec<String>>,
    Option<(Vec<usize>, Vec<String>)>,
);

/// The images of `images:DIR`: from `DIR/train` and `DIR/test` when both hold class folders,
/// else from `DIR`'s class folders with `test_split` held out (seeded, stratified if asked).
fn image_data(spec: &DataSpec, dir: &Path, classes: Option<&[String]>) -> Result<Split> {
    use crate::data::images::load_image_folder;
    let load = |d: &Path, classes: Option<&[String]>| load_image_folder(d, spec.image_size, spec.color_mode, classes);
    let targets = |labels: &[usize], count: usize| -> Result<Tensor<f32>> {
        match spec.one_hot {
            true => Tensor::one_hot(labels, count),
            false => Tensor::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]),
        }
    };
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    if train_dir.is_dir() && test_dir.is_dir() {
        let train = load(&train_dir, classes)?;
        // The test folders' labels follow the training classes' order.
        let test = load(&test_dir, Some(&train.class_names))?;
        let count = train.class_names.len();
        let test = Some((test.x, targets(&test.labels, count)?));
        return Ok((train.x, targets(&train.labels, count)?, test, Some(train.class_names), None));
    }
    let all = load(dir, classes)?;
    let count = all.class_names.len();
    let Some(fraction) = spec.test_split else {
        return Ok((all.x, targets(&all.labels, count)?, None, Some(all.class_names), None));
    };
    let strata = spec.stratify.then_some(all.labels.as_slice());
    let (train, test) = train_test_split(all.labels.len(), fraction, spec.split_seed, strata)?;
    let pick = |rows: &[usize]| -> Result<(Tensor<f32>, Tensor<f32>)> {
        let labels: Vec<usize> = rows.iter().filter_map(|&r| all.labels.get(r).copied()).collect();
        Ok((all.x.index_select(rows)?.detach(), targets(&labels, count)?))
    };
    let (x_train, y_train) = pick(&train)?;
    let test = if test.is_empty() { None } else { Some(pick(&test)?) };
    Ok((x_train, y_train, test, Some(all.class_names), None))
}

/// The kind and location of `data.source` (`csv:FILE` gives `("csv", "FILE")`).
pub(super) fn source_kind(spec: &DataSpec) -> Result<(&str, &str)> {
    spec.source_kind().map_err(|m| Error::invalid("data.source", m))
}

/// Feature columns hold numbers: text in one is a typo, never a class.
pub(super) fn numeric(features: &[String]) -> Vec<(String, ColumnKind)> {
    features.iter().map(|f| (f.clone(), ColumnKind::Number)).collect()
}

/// Every label of a single target column is a class index the model's `outputs` units can
/// score; the error names the file's line.
pub(super) fn check_labels(spec: &DataSpec, table: &Table, location: &Path, outputs: usize) -> Result<()> {
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

pub(super) fn table_data(spec: &DataSpec, table: &Table, class_outputs: Option<usize>) -> Result<Split> {
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
