//! Results a user can trust, in the names a Keras user expects: each case failed before the
//! change that fixed it (the `strata` binary, run as a process).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn strata_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).current_dir(dir).output().expect("the binary runs")
}

fn strata(args: &[&str]) -> Output {
    strata_in(&root(), args)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    let out = text(&o.stdout);
    serde_json::from_str(out.lines().last().expect("output")).expect("the last line is JSON")
}

fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}\n{}", text(&o.stderr), text(&o.stdout));
}

fn fails_with(o: &Output, needles: &[&str]) -> String {
    assert!(!o.status.success(), "expected a failure: {}", text(&o.stdout));
    let e = text(&o.stderr);
    assert!(!e.contains("panicked"), "a panic: {e}");
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
    e
}

/// Train iris_species (30 epochs) once into `out`.
fn species_run(out: &Path) {
    let spec = root().join("examples/iris_species.toml");
    let o = strata(&["fit", spec.to_str().unwrap(), "--epochs", "30", "--out", out.to_str().unwrap(), "--json"]);
    ok(&o, "fit iris_species");
}

/// iris_species evaluated on a CSV of only its versicolor and virginica rows: the run's class
/// mapping is used (not one rebuilt from the file), every row is scored (no test split), and the
/// accuracy equals what `predict` gives on the same rows. A class the run never saw is an error.
#[test]
fn evaluate_on_a_file_uses_the_runs_classes_and_every_row() {
    let out = temp("species");
    species_run(&out);
    let all = std::fs::read_to_string(root().join("examples/iris_species.csv")).unwrap();
    let mut lines = all.lines();
    let header = lines.next().unwrap();
    let kept: Vec<&str> = lines.filter(|l| !l.ends_with("setosa")).collect();
    assert_eq!(kept.len(), 100);
    let file = out.join("two_species.csv");
    std::fs::write(&file, format!("{header}\n{}\n", kept.join("\n"))).unwrap();

    let o = strata(&["evaluate", out.to_str().unwrap(), "--data", file.to_str().unwrap(), "--json"]);
    ok(&o, "evaluate --data");
    let j = json(&o);
    let accuracy = j["accuracy"].as_f64().unwrap();
    assert!(j["evaluated_on"].as_str().unwrap().starts_with("all 100 rows"), "{j}");

    let o = strata(&["predict", out.to_str().unwrap(), "--input", file.to_str().unwrap()]);
    ok(&o, "predict");
    let predicted = text(&o.stdout);
    let hits =
        predicted.lines().skip(1).zip(&kept).filter(|(p, t)| p.rsplit(',').next() == t.rsplit(',').next()).count();
    assert_eq!(accuracy, hits as f64 / 100.0, "evaluate vs predict on the same rows");
    assert!(accuracy > 0.8, "accuracy {accuracy}");

    std::fs::write(&file, format!("{header}\n5.1,3.5,1.4,0.2,rosa\n")).unwrap();
    let o = strata(&["evaluate", out.to_str().unwrap(), "--data", file.to_str().unwrap()]);
    fails_with(&o, &["two_species.csv:2", "\"rosa\"", "setosa, versicolor, virginica"]);

    // --report: the confusion matrix and sklearn's table, with the run's class names.
    let o = strata(&["evaluate", out.to_str().unwrap(), "--report"]);
    ok(&o, "evaluate --report");
    let report = text(&o.stdout);
    for needle in
        ["confusion matrix", "precision", "recall", "f1-score", "support", "macro avg", "weighted avg", "virginica"]
    {
        assert!(report.contains(needle), "{needle} not in {report}");
    }
    assert!(out.join("confusion_matrix.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// Metric keys are the names written in the spec (`accuracy`, `val_accuracy`) everywhere.
#[test]
fn metric_keys_are_the_names_the_user_wrote() {
    let out = temp("keys");
    species_run(&out);
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let header = history.lines().next().unwrap();
    assert_eq!(header, "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate");
    let _ = std::fs::remove_dir_all(&out);
}

/// A spec's paths are relative to the spec file, a run remembers its data's absolute path, and
/// `evaluate RUN` works from any directory.
#[test]
fn paths_are_relative_to_the_spec_and_runs_work_from_anywhere() {
    let out = temp("paths");
    let elsewhere = temp("paths-cwd");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let spec = root().join("examples/iris_species.toml");
    let o = strata_in(&elsewhere, &["fit", spec.to_str().unwrap(), "--epochs", "2", "--out", out.to_str().unwrap()]);
    ok(&o, "fit from another directory");
    let o = strata_in(&elsewhere, &["evaluate", out.to_str().unwrap(), "--json"]);
    ok(&o, "evaluate from another directory");
    assert_eq!(json(&o)["evaluated_on"], "test");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// `fit --out` on a trained run refuses (naming --overwrite) and keeps the model; --overwrite
/// replaces it.
#[test]
fn fit_does_not_replace_a_trained_run_without_overwrite() {
    let out = temp("overwrite");
    let o = strata(&["fit", "examples/xor.toml", "--epochs", "2", "--out", out.to_str().unwrap()]);
    ok(&o, "first fit");
    let before = std::fs::read(out.join("model.safetensors")).unwrap();
    let o = strata(&["fit", "examples/xor.toml", "--epochs", "3", "--seed", "5", "--out", out.to_str().unwrap()]);
    fails_with(&o, &["--overwrite", "holds a trained run"]);
    assert_eq!(std::fs::read(out.join("model.safetensors")).unwrap(), before, "the model was kept");
    let o = strata(&[
        "fit",
        "examples/xor.toml",
        "--epochs",
        "3",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--overwrite",
    ]);
    ok(&o, "fit --overwrite");
    assert_ne!(std::fs::read(out.join("model.safetensors")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&out);
}

/// Training further: a 3-epoch run resumed with `--epochs 6` ends with the weights and history of
/// an uninterrupted 6-epoch run, and says where it resumed.
#[test]
fn resume_with_more_epochs_continues_bit_for_bit() {
    let (short, long) = (temp("further"), temp("further-straight"));
    let o = strata(&["fit", "examples/iris.toml", "--epochs", "3", "--out", short.to_str().unwrap(), "--quiet"]);
    ok(&o, "3 epochs");
    let o = strata(&["fit", "examples/iris.toml", "--epochs", "6", "--resume", short.to_str().unwrap(), "--quiet"]);
    ok(&o, "resume to 6");
    assert!(text(&o.stderr).contains("after epoch 3: training epochs 4 to 6"), "{}", text(&o.stderr));
    let o = strata(&["fit", "examples/iris.toml", "--epochs", "6", "--out", long.to_str().unwrap(), "--quiet"]);
    ok(&o, "6 epochs straight");
    for file in ["model.safetensors", "history.csv"] {
        assert_eq!(std::fs::read(short.join(file)).unwrap(), std::fs::read(long.join(file)).unwrap(), "{file}");
    }
    let _ = std::fs::remove_dir_all(&short);
    let _ = std::fs::remove_dir_all(&long);
}

/// Write a spec into `dir` from iris_species's, with replacements, pointing at the example CSV.
fn species_spec(dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut spec = std::fs::read_to_string(root().join("examples/iris_species.toml")).unwrap();
    let csv = root().join("examples/iris_species.csv");
    spec = spec.replace("csv:iris_species.csv", &format!("csv:{}", csv.display()));
    for (from, to) in replacements {
        assert!(spec.contains(from), "{from}");
        spec = spec.replace(from, to);
    }
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    path
}

/// A monitor that will not be logged is refused before training, listing the names that will be,
/// and no run directory is left behind.
#[test]
fn an_unknown_monitor_is_refused_before_anything_is_written() {
    let dir = temp("monitor");
    let spec = species_spec(
        &dir,
        &[(
            "validation = \"test\"",
            "callbacks = [{ type = \"early_stopping\", monitor = \"val_acc\", patience = 2 }]",
        )],
    );
    let out = dir.join("run");
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    fails_with(&o, &["\"val_acc\"", "loss, accuracy, learning_rate", "no validation data"]);
    assert!(!out.exists(), "a run directory was written");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Callbacks say what they did; the summary comes before training (so it is there when
/// training fails); without a terminal the progress is one plain line per epoch.
#[test]
fn the_terminal_says_what_happened() {
    let dir = temp("terminal");
    let spec = species_spec(
        &dir,
        &[(
            "validation = \"test\"",
            "validation = \"test\"\ncallbacks = [{ type = \"early_stopping\", monitor = \"loss\", patience = 1, min_delta = 10.0, restore_best_weights = true }, { type = \"reduce_lr_on_plateau\", monitor = \"loss\", patience = 1, factor = 0.001, min_delta = 10.0 }]",
        )],
    );
    let out = dir.join("run");
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    ok(&o, "fit");
    let err = text(&o.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b'), "terminal codes in a pipe: {err:?}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("Epoch 1/100 - ") || l.starts_with("Epoch 2/100 - ")).count(),
        2,
        "{err}"
    );
    assert!(err.contains("Epoch 2: early stopping"), "{err}");
    assert!(err.contains("Restored the weights of epoch 1"), "{err}");
    assert!(err.contains("reduced the learning rate from 0.01 to 1e-5"), "{err}");
    let stdout = text(&o.stdout);
    assert!(stdout.contains("over 2 epochs"), "{stdout}");

    // A diverging run fails in its first batch; the summary was printed before.
    let spec =
        species_spec(&dir, &[("learning_rate = 0.01", "learning_rate = 1e30"), ("type = \"adam\"", "type = \"sgd\"")]);
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", dir.join("diverged").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stdout).contains("Total params"), "no summary before training: {}", text(&o.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Errors say how to fix the mistake.
#[test]
fn errors_say_how_to_fix() {
    let dir = temp("errors");
    // A label the model cannot score: the CSV line, the output units and the valid labels.
    let labels = dir.join("labels.csv");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&labels, "x1,x2,y\n0,0,0\n0,1,1\n1,0,3\n1,1,0\n").unwrap();
    let spec = dir.join("labels.toml");
    let body = "[data]\nsource = \"csv:labels.csv\"\nfeatures = [\"x1\", \"x2\"]\ntargets = [\"y\"]\n[model]\ninput_shape = [2]\nlayers = [{ type = \"dense\", units = 3, activation = \"softmax\" }]\n[compile]\noptimizer = \"adam\"\nloss = \"LOSS\"\nmetrics = [\"accuracy\"]\n".to_string();
    std::fs::write(&spec, body.replace("LOSS", "sparse_categorical_crossentropy")).unwrap();
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", dir.join("r1").to_str().unwrap()]);
    fails_with(&o, &["labels.csv:4", "label 3", "3 output units", "0-2"]);
    // Integer labels with categorical_crossentropy: suggest one_hot or the sparse loss.
    std::fs::write(&labels, "x1,x2,y\n0,0,0\n0,1,1\n1,0,2\n1,1,0\n").unwrap();
    std::fs::write(&spec, body.replace("LOSS", "categorical_crossentropy")).unwrap();
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", dir.join("r2").to_str().unwrap()]);
    let e = fails_with(&o, &["one_hot = true", "sparse_categorical_crossentropy"]);
    assert!(!e.contains("lhs") && !e.contains("rhs"), "{e}");
    // An unknown optimizer key lists the accepted ones.
    let typo = species_spec(&dir, &[("learning_rate = 0.01", "learning_rat = 0.01")]);
    let o = strata(&["fit", typo.to_str().unwrap()]);
    fails_with(&o, &["learning_rat", "accepted keys", "learning_rate", "beta_1"]);
    // A missing data folder names `strata fetch`.
    let o = strata(&["fit", "examples/fashion_mnist.toml", "--data", dir.join("nowhere").to_str().unwrap()]);
    fails_with(&o, &["strata fetch fashion-mnist"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// predict: text in a feature column is an error naming the file, line, column and text; a
/// label with a comma stays one CSV field; a CSV in a folder named "idx" is read as CSV.
#[test]
fn predict_reads_and_writes_csv_faithfully() {
    let dir = temp("predict").join("idx-data");
    std::fs::create_dir_all(&dir).unwrap();
    let train = dir.join("train.csv");
    let mut rows = String::from("x1,x2,answer\n");
    for i in 0..40 {
        let (a, b) = (i % 2, (i / 2) % 2);
        rows += &format!("{a},{b},{}\n", if a == 1 { "\"y,es\"" } else { "no" });
    }
    std::fs::write(&train, rows).unwrap();
    let spec = dir.join("answer.toml");
    std::fs::write(
        &spec,
        "[data]\nsource = \"csv:train.csv\"\nfeatures = [\"x1\", \"x2\"]\ntargets = [\"answer\"]\n[model]\ninput_shape = [2]\nlayers = [{ type = \"dense\", units = 2, activation = \"softmax\" }]\n[compile]\noptimizer = { type = \"adam\", learning_rate = 0.1 }\nloss = \"sparse_categorical_crossentropy\"\nmetrics = [\"accuracy\", \"precision\", \"recall\", \"f1_score\", \"auc\"]\n[fit]\nepochs = 40\nbatch_size = 8\nverbose = 0\n",
    )
    .unwrap();
    let out = dir.join("run");
    let o = strata(&["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--json"]);
    ok(&o, "fit");
    let j = json(&o);
    for key in ["accuracy", "precision", "recall", "f1_score", "auc"] {
        assert_eq!(j[key].as_f64(), Some(1.0), "{key}: {j}");
    }
    let input = dir.join("input.csv");
    std::fs::write(&input, "x1,x2\n1,0\n0,1\n").unwrap();
    let o = strata(&["predict", out.to_str().unwrap(), "--input", input.to_str().unwrap()]);
    ok(&o, "predict");
    let csv = text(&o.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "p(no),\"p(y,es)\",predicted", "{csv}");
    assert!(lines[1].ends_with(",\"y,es\""), "{csv}");
    assert!(lines[2].ends_with(",no"), "{csv}");
    std::fs::write(&input, "x1,x2\n1,abc\n").unwrap();
    let o = strata(&["predict", out.to_str().unwrap(), "--input", input.to_str().unwrap()]);
    fails_with(&o, &["input.csv:2", "\"x2\"", "\"abc\""]);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

/// The regression example draws predicted against true values; the classifier a confusion
/// matrix; learning curves have their legend strip under the axes.
#[test]
fn runs_draw_the_figures_their_task_calls_for() {
    let out = temp("figures");
    let o = strata(&["fit", "examples/iris.toml", "--epochs", "3", "--out", out.to_str().unwrap(), "--quiet"]);
    ok(&o, "iris");
    assert!(out.join("predicted_vs_true.png").exists());
    assert!(!out.join("confusion_matrix.png").exists());
    let o = strata(&["plot", out.to_str().unwrap()]);
    ok(&o, "plot");
    let _ = std::fs::remove_dir_all(&out);
}
