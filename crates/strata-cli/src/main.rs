//! The `strata` command line: arguments and a spec file in, library calls out (no ML logic here).
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::run::{self, FitOptions};

/// The spec `strata` runs with no arguments: lecture 000's Iris regression.
const IRIS_SPEC: &str = include_str!("../../../examples/iris.toml");

#[derive(Parser)]
#[command(name = "strata", version, about = "Train, evaluate and use neural networks described in a small TOML spec file.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Train the network a spec describes and write a run directory.
    ///
    /// Example: strata fit examples/iris.toml --epochs 50 --json
    Fit {
        /// The spec file (TOML).
        spec: PathBuf,
        /// Replaces the path in data.source (a CSV file or an IDX directory).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Replaces fit.epochs (0 with --init-weights evaluates those weights).
        #[arg(long)]
        epochs: Option<usize>,
        /// Replaces fit.seed.
        #[arg(long)]
        seed: Option<u64>,
        /// The run directory (default runs/<spec name>-<timestamp>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A safetensors file (tensors <layer>.kernel, <layer>.bias) loaded before training.
        #[arg(long)]
        init_weights: Option<PathBuf>,
        /// Continue the run in RUN_DIR from its last checkpoint (written after every epoch),
        /// with the same spec and options; the result is bit for bit an uninterrupted run's.
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        /// Print one JSON object with the final figures as the last line.
        #[arg(long)]
        json: bool,
        /// One line per epoch instead of progress bars.
        #[arg(long)]
        quiet: bool,
        /// Replace the run already in --out (refused without it, so a trained model is not lost).
        #[arg(long)]
        overwrite: bool,
    },
    /// Evaluate a run on its test set (or on all rows when its spec has none); with --data, on
    /// every row of that file, with the run's own scaler and class names.
    ///
    /// Example: strata evaluate runs/iris-20261121-120000 --json
    Evaluate {
        /// A run directory written by `strata fit`.
        run_dir: PathBuf,
        /// Replaces the path in the spec's data.source.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print one JSON object with the figures as the last line.
        #[arg(long)]
        json: bool,
        /// For a classifier, also print the confusion matrix and the per-class precision,
        /// recall and F1 (the table scikit-learn's classification_report prints).
        #[arg(long)]
        report: bool,
    },
    /// Predict with a trained run on a CSV file (the spec's feature columns) or an IDX file.
    ///
    /// Example: strata predict runs/iris-20261121-120000 --input flowers.csv --output out.csv
    Predict {
        /// A run directory written by `strata fit`.
        run_dir: PathBuf,
        /// Input rows: a CSV file with the feature columns by name, or an IDX image file.
        #[arg(long)]
        input: PathBuf,
        /// Where to write the predictions as CSV (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print the Keras-style summary of a spec's network or of a run's.
    ///
    /// Example: strata summary examples/iris.toml
    Summary {
        /// A spec file or a run directory.
        target: PathBuf,
    },
    /// Download a public dataset (fashion-mnist, mnist) once into a cache, verified by MD5.
    ///
    /// Example: strata fetch fashion-mnist --dir data   (then: fit ... --data data/fashion-mnist)
    Fetch {
        /// fashion-mnist or mnist.
        name: String,
        /// The cache directory (default $STRATA_CACHE or ~/.cache/strata/datasets).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Draw a run's learning curves again (learning_curves.png and .svg in the run directory).
    ///
    /// Example: strata plot runs/iris-20261121-120000
    Plot {
        /// A run directory written by `strata fit`.
        run_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Option<Command>) -> strata::Result<()> {
    match command {
        None => main_job(),
        Some(Command::Fit { spec, data, epochs, seed, out, init_weights, resume, json, quiet, overwrite }) => {
            let verbose = (quiet || json).then_some(2);
            let options =
                FitOptions { data, epochs, seed, out, init_weights, verbose, resume, overwrite, print_summary: true };
            fit(&spec, &options, json)
        }
        Some(Command::Evaluate { run_dir, data, json, report }) => evaluate(&run_dir, data.as_deref(), json, report),
        Some(Command::Predict { run_dir, input, output }) => predict(&run_dir, &input, output.as_deref()),
        Some(Command::Summary { target }) => summary(&target),
        Some(Command::Fetch { name, dir }) => fetch(&name, dir),
        Some(Command::Plot { run_dir }) => {
            let written = run::plot_run(&run_dir)?;
            println!("wrote {}", written.display());
            Ok(())
        }
    }
}

/// `strata` alone: lecture 000's Iris regression from the embedded spec.
fn main_job() -> strata::Result<()> {
    let options = FitOptions { verbose: Some(1), print_summary: true, overwrite: false, ..FitOptions::default() };
    let report = run::fit_spec_text(IRIS_SPEC, Path::new("examples/iris.toml"), &options)?;
    let mse = report.results.loss();
    println!("test MSE: {mse:.4} (lecture 000 reports 0.1016; Keras 3 gives a median of 0.21 over 3 seeds)");
    println!("run directory: {}", report.run_dir.display());
    Ok(())
}

fn fit(spec: &Path, options: &FitOptions, json: bool) -> strata::Result<()> {
    let report = run::fit_spec(spec, options)?;
    let figures: Vec<String> = report.results.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("{} ({}): {}", report.evaluated_on, report.run_dir.display(), figures.join(", "));
    let unit = if report.epochs == 1 { "epoch" } else { "epochs" };
    println!("time per epoch: {:.3}s over {} {unit}", report.seconds_per_epoch, report.epochs);
    if json {
        let mut obj = serde_json::Map::new();
        for (k, v) in &report.results {
            obj.insert(k.clone(), serde_json::json!(v));
        }
        if report.model.loss().name() == "mse" {
            obj.insert("mse".into(), serde_json::json!(report.results.loss()));
        }
        for name in report.history.names() {
            if !name.starts_with("val_") && name != "learning_rate" {
                if let Some(last) = report.history.get(name).and_then(|v| v.last()) {
                    obj.insert(format!("train_{name}"), serde_json::json!(last));
                }
            }
        }
        obj.insert("evaluated_on".into(), serde_json::json!(report.evaluated_on));
        obj.insert("epochs".into(), serde_json::json!(report.epochs));
        obj.insert("seconds_per_epoch".into(), serde_json::json!(report.seconds_per_epoch));
        obj.insert("run_dir".into(), serde_json::json!(report.run_dir.display().to_string()));
        println!("{}", serde_json::Value::Object(obj));
    }
    Ok(())
}

fn evaluate(run_dir: &Path, data: Option<&Path>, json: bool, report: bool) -> strata::Result<()> {
    let evaluation = run::evaluate_run(run_dir, data)?;
    let figures: Vec<String> = evaluation.results.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("{}: {}", evaluation.evaluated_on, figures.join(", "));
    if report {
        match &evaluation.classification {
            Some((matrix, table)) => {
                println!("\nconfusion matrix (rows: true class, columns: predicted):");
                print!("{}", run::format_confusion(matrix, &table.class_names));
                println!("\n{table}");
            }
            None => println!("(--report: the run is not a classifier, so there is no confusion matrix)"),
        }
    }
    if json {
        let mut obj: serde_json::Map<String, serde_json::Value> =
            evaluation.results.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        obj.insert("evaluated_on".into(), serde_json::json!(evaluation.evaluated_on));
        if let (true, Some((matrix, _))) = (report, &evaluation.classification) {
            obj.insert("confusion_matrix".into(), serde_json::json!(matrix));
        }
        obj.insert("run_dir".into(), serde_json::json!(run_dir.display().to_string()));
        println!("{}", serde_json::Value::Object(obj));
    }
    Ok(())
}

/// Predictions stream to the file (written atomically) or to standard output.
fn predict(run_dir: &Path, input: &Path, output: Option<&Path>) -> strata::Result<()> {
    match output {
        Some(path) => strata::io::write_atomic_with(path, |file| run::predict_run(run_dir, input, file).map(drop)),
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            run::predict_run(run_dir, input, &mut out).map(drop)
        }
    }
}

fn summary(target: &Path) -> strata::Result<()> {
    let summary = if target.is_dir() {
        run::load_run(target)?.model.summary()
    } else {
        let spec = strata::spec::Spec::from_file(target)?;
        run::build_model(&spec, spec.fit.seed)?.summary()
    };
    print!("{summary}");
    Ok(())
}

fn fetch(name: &str, dir: Option<std::path::PathBuf>) -> strata::Result<()> {
    let dataset = strata::data::fetch::known(name)?;
    let cache = dir.unwrap_or_else(strata::data::fetch::default_cache_dir);
    let path = strata::data::fetch::fetch(&dataset, &cache)?;
    println!("{name}: {}", path.display());
    Ok(())
}
