//! A trained run used: loaded back, evaluated, plotted, predicting.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

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
        input_shape: Some(run.model.network().input_shape()),
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
pub(super) fn confusion_of(
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

pub(super) fn classification_of(
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
pub(super) fn is_idx_file(path: &Path) -> Result<bool> {
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
        let x = with_channel_axis(run.scaler.transform(&x)?, Some(network.input_shape()))?;
        let pred = run.model.predict(&x, batch)?;
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
