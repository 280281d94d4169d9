//! The bad-input catalogue: every case must end in an `Err` (library) or a non-zero exit (CLI)
//! within 30 s, without a panic, with a message that names the thing and its value.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strata::data::idx::{load_mnist_dir, read_idx};
use strata::data::table::{Missing, Table};
use strata::prelude::*;

const LIMIT: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A folder per test (tests run in parallel and each removes its own at the end).
fn dir() -> PathBuf {
    let test = std::thread::current().name().unwrap_or("helper").replace("::", "-");
    let d = std::env::temp_dir().join(format!("strata-catalogue-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
    b.extend_from_slice(data);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn z(shape: &[usize]) -> Tensor<f32> {
    Tensor::zeros(shape.to_vec())
}

/// Run a library call on a thread with a deadline; its error message, or a failure note.
fn lib<T: Send + 'static>(f: impl FnOnce() -> strata::Result<T> + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(match result {
            Ok(Ok(_)) => "ACCEPTED".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "PANICKED".to_string(),
        });
    });
    rx.recv_timeout(LIMIT).unwrap_or_else(|_| "HUNG".into())
}

/// Run the binary with a deadline; its standard error, or a failure note.
fn cli(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return if status.success() {
                "ACCEPTED".into()
            } else if err.contains("panicked") {
                format!("PANICKED: {err}")
            } else {
                err
            };
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            return "HUNG".into();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn net() -> Sequential<f32> {
    Sequential::new([2], 0).add(DenseConfig::new(3).name("a")).unwrap()
}

fn model(loss: Loss) -> Model<f32> {
    let act = if matches!(loss, Loss::MeanSquaredError) { Activation::Linear } else { Activation::Softmax };
    Sequential::new([2], 0)
        .add(DenseConfig::new(3).activation(act))
        .unwrap()
        .compile(OptimizerConfig::from_name("adam").unwrap(), loss, &[])
        .unwrap()
}

fn quiet(batch_size: usize) -> FitConfig<f32> {
    FitConfig { epochs: 1, batch_size, verbose: 0, ..FitConfig::default() }
}

fn spec(edit: (&str, &str)) -> String {
    let text = std::fs::read_to_string(root().join("examples/iris.toml")).unwrap();
    assert!(text.contains(edit.0), "the edit {:?} does not apply", edit.0);
    let name = format!("spec-{}.toml", edit.0.len() * 31 + edit.1.len());
    file(&name, text.replace(edit.0, edit.1).as_bytes()).to_str().unwrap().to_string()
}

#[test]
fn the_catalogue() {
    let sparse = Loss::SparseCategoricalCrossentropy { from_logits: false };
    let good_idx = idx(&[10, 28, 28], &[7u8; 7840]);
    let good_gz = gz(&good_idx);
    let weights = dir().join("a.safetensors");
    strata::io::save_weights(&net(), &weights).unwrap();
    let wbytes = std::fs::read(&weights).unwrap();
    let mut corrupt = wbytes.clone();
    corrupt[8] = b'X';
    let xor_run = dir().join("xor-run");
    assert_eq!(cli(&["fit", "examples/xor.toml", "--epochs", "1", "--out", xor_run.to_str().unwrap()]), "ACCEPTED");
    let broken_run = dir().join("broken-run");
    std::fs::create_dir_all(&broken_run).unwrap();
    std::fs::write(broken_run.join("model.json"), "{ not json").unwrap();
    let old_run = dir().join("old-run");
    std::fs::create_dir_all(&old_run).unwrap();
    std::fs::write(old_run.join("model.json"), r#"{"format": "strata-run-0", "spec_toml": "", "scaler": {"type": "none"}, "class_names": null, "summary": ""}"#).unwrap();
    let no_column = file("no-column.csv", b"x1,z\n0,1\n");
    let w = |p: &PathBuf| p.to_str().unwrap().to_string();
    // Run directories to resume: one whose checkpoint is cut short, one without a checkpoint.
    let damaged_run = dir().join("damaged-run");
    let unstarted_run = dir().join("unstarted-run");
    for run in [&damaged_run, &unstarted_run] {
        std::fs::create_dir_all(run).unwrap();
        std::fs::copy(xor_run.join("spec.toml"), run.join("spec.toml")).unwrap();
    }
    let checkpoint = std::fs::read(xor_run.join("checkpoint.strata")).unwrap();
    std::fs::write(damaged_run.join("checkpoint.strata"), &checkpoint[..checkpoint.len() / 3]).unwrap();

    let cases: Vec<(&str, String, &[&str])> = vec![
        // Tensor API.
        ("from_vec length", lib(|| Tensor::<f32>::from_vec(vec![1.0; 5], [2, 3])), &["from_vec", "[2, 3]", "5"]),
        ("reshape count", lib(|| z(&[2, 3]).reshape([4, 2])), &["reshape", "[2, 3]", "[4, 2]"]),
        ("matmul inner", lib(|| z(&[3, 4]).matmul(&z(&[5, 2]))), &["matmul", "[3, 4]", "[5, 2]", "4 and 5"]),
        ("matmul rank", lib(|| z(&[3]).matmul(&z(&[3, 2]))), &["matmul", "[3]"]),
        ("matmul batch", lib(|| z(&[2, 3, 4]).matmul(&z(&[3, 4, 2]))), &["matmul", "batch sizes 2 and 3"]),
        ("broadcast", lib(|| z(&[3]).add(&z(&[4]))), &["add", "[3]", "[4]"]),
        ("compare broadcast", lib(|| z(&[2, 3]).lt(&z(&[2]))), &["lt", "[2, 3]", "[2]"]),
        ("axis", lib(|| z(&[2, 3]).sum_axis(5, false)), &["sum_axis", "axis 5"]),
        ("narrow", lib(|| z(&[2, 3]).narrow(1, 2, 5)), &["narrow", "2..7"]),
        ("slice reversed", lib(|| z(&[4, 3]).slice_batch(3, 1)), &["slice_batch", "3..1"]),
        ("permute", lib(|| z(&[2, 3]).permute(&[1, 1])), &["permute", "[1, 1]"]),
        ("concat", lib(|| Tensor::concat(&[&z(&[2, 3]), &z(&[2, 4])], 0)), &["concat", "[2, 3]", "[2, 4]"]),
        ("concat empty", lib(|| Tensor::<f32>::concat(&[], 0)), &["concat", "at least one"]),
        ("gather index", lib(|| z(&[2, 3]).gather(&[0, 9])), &["gather", "index 9", "0..3"]),
        ("gather count", lib(|| z(&[2, 3]).gather(&[0])), &["gather", "2 indices", "got 1"]),
        ("index_select", lib(|| z(&[2, 3]).index_select(&[2])), &["index_select", "index 2", "0..2"]),
        ("one_hot", lib(|| Tensor::<f32>::one_hot(&[1, 4], 3)), &["one_hot", "4", "0..3"]),
        ("item", lib(|| z(&[2]).item()), &["item", "[2]"]),
        ("mean empty", lib(|| z(&[0, 3]).mean()), &["mean", "empty"]),
        ("max empty axis", lib(|| z(&[0, 3]).max_axis(0, false)), &["max_axis", "empty"]),
        ("linear bias", lib(|| z(&[2, 3]).linear(&z(&[3, 4]), Some(&z(&[3])))), &["linear", "bias must be [4]"]),
        (
            "backward non-scalar",
            lib(|| z(&[2]).with_requires_grad(true).mul_scalar(2.0)?.backward()),
            &["backward", "scalar", "[2]"],
        ),
        (
            "randn std",
            lib(|| Tensor::<f32>::randn([2], 0.0, f64::NAN, &mut strata::rng::seeded_rng(0))),
            &["randn", "NaN"],
        ),
        (
            "uniform bounds",
            lib(|| Tensor::<f32>::rand_uniform([2], 2.0, 1.0, &mut strata::rng::seeded_rng(0))),
            &["rand_uniform", "low 2", "high 1"],
        ),
        // Losses and training.
        ("loss shapes", lib(|| strata::loss::mse(&z(&[4, 2]), &z(&[4, 3]))), &["mse", "[4, 2]", "[4, 3]"]),
        ("huber delta", lib(|| strata::loss::huber(&z(&[2]), &z(&[2]), -1.0)), &["huber", "delta", "-1"]),
        (
            "sparse label",
            lib(|| strata::loss::sparse_categorical_crossentropy(&z(&[2, 3]), &Tensor::from_f64(&[0.0, 3.0], [2])?)),
            &["label 3", "row 1", "0-2"],
        ),
        (
            "fit batch 0",
            lib(move || model(Loss::MeanSquaredError).fit(&z(&[4, 2]), &z(&[4, 3]), &quiet(0))),
            &["batch_size", "0"],
        ),
        (
            "fit empty",
            lib(move || model(Loss::MeanSquaredError).fit(&z(&[0, 2]), &z(&[0, 3]), &quiet(2))),
            &["empty", "[0, 2]"],
        ),
        (
            "fit rows",
            lib(move || model(Loss::MeanSquaredError).fit(&z(&[4, 2]), &z(&[3, 3]), &quiet(2))),
            &["same number of rows", "[4, 2]", "[3, 3]"],
        ),
        (
            "fit targets",
            lib(move || model(Loss::MeanSquaredError).fit(&z(&[4, 2]), &z(&[4, 5]), &quiet(2))),
            &["[4, 5]", "mse"],
        ),
        (
            "fit input width",
            lib(move || model(Loss::MeanSquaredError).fit(&z(&[4, 7]), &z(&[4, 3]), &quiet(2))),
            &["[7]", "[2]"],
        ),
        (
            "fit one class",
            lib(move || model(sparse).fit(&z(&[4, 2]), &z(&[4]), &quiet(2))),
            &["same class (0)", "at least two"],
        ),
        (
            "validation split",
            lib(move || {
                model(Loss::MeanSquaredError).fit(
                    &z(&[4, 2]),
                    &z(&[4, 3]),
                    &FitConfig { validation_split: 1.5, ..quiet(2) },
                )
            }),
            &["validation_split", "1.5"],
        ),
        (
            "predict batch 0",
            lib(move || model(Loss::MeanSquaredError).predict(&z(&[4, 2]), 0)),
            &["predict", "batch_size", "0"],
        ),
        (
            "optimizer beta",
            lib(|| OptimizerConfig::Adam(Adam { beta_2: 1.0, ..Adam::default() }).build::<f32>()),
            &["beta_2", "1"],
        ),
        ("dropout rate", lib(|| Sequential::<f32>::new([2], 0).add(DropoutConfig::new(1.0))), &["dropout rate", "1"]),
        (
            "layer shapes",
            lib(|| Sequential::<f32>::new([2, 3], 0).add(DenseConfig::new(4).name("d"))),
            &["'d'", "[2, 3]", "input"],
        ),
        (
            "huge layer",
            lib(|| Sequential::<f32>::new([1 << 16], 0).add(DenseConfig::new(1 << 16))),
            &["exceeds the cap", "65536"],
        ),
        // IDX files.
        (
            "idx truncated",
            lib({
                let p = file("t-idx3-ubyte", &good_idx[..3000]);
                move || read_idx(p)
            }),
            &["t-idx3-ubyte", "truncated data"],
        ),
        (
            "idx header",
            lib({
                let p = file("h-idx3-ubyte", &good_idx[..6]);
                move || read_idx(p)
            }),
            &["h-idx3-ubyte", "truncated header"],
        ),
        (
            "idx empty",
            lib({
                let p = file("e-idx3-ubyte", b"");
                move || read_idx(p)
            }),
            &["e-idx3-ubyte", "truncated header"],
        ),
        (
            "idx magic",
            lib({
                let p = file("m-idx3-ubyte", b"PK\x03\x04\x00\x00\x00\x00");
                move || read_idx(p)
            }),
            &["m-idx3-ubyte", "magic number 0x504b0304"],
        ),
        (
            "idx type",
            lib({
                let p = file("f-idx3-ubyte", &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
                move || read_idx(p)
            }),
            &["element type 0x0d"],
        ),
        (
            "idx rank 0",
            lib({
                let p = file("r-idx3-ubyte", &[0, 0, 8, 0]);
                move || read_idx(p)
            }),
            &["0 dimensions"],
        ),
        (
            "idx 2^40",
            lib({
                let p = file("big-idx3-ubyte", &idx(&[1 << 20, 1 << 20], &[1]));
                move || read_idx(p)
            }),
            &["big-idx3-ubyte", "exceed"],
        ),
        (
            "idx gzip cut",
            lib({
                let p = file("cut-idx3-ubyte.gz", &good_gz[..good_gz.len() / 2]);
                move || read_idx(p)
            }),
            &["cut-idx3-ubyte.gz"],
        ),
        (
            "idx directory",
            lib(|| load_mnist_dir::<f32>("/nonexistent/mnist")),
            &["/nonexistent/mnist", "train-images-idx3-ubyte"],
        ),
        // CSV files.
        (
            "csv ragged",
            lib({
                let p = file("ragged.csv", b"a,b\n1,2\n3\n");
                move || Table::from_csv(p, true, Missing::Error)
            }),
            &["ragged.csv:3", "ragged row"],
        ),
        (
            "csv number",
            lib({
                let p = file("text.csv", b"a,b\n1,2\n3,x2\n");
                move || Table::from_csv(p, true, Missing::Error)
            }),
            &["text.csv:3", "\"x2\" is not a number", "\"b\""],
        ),
        (
            "csv empty",
            lib({
                let p = file("empty.csv", b"");
                move || Table::from_csv(p, true, Missing::Error)
            }),
            &["empty.csv", "no data rows"],
        ),
        (
            "csv missing value",
            lib({
                let p = file("hole.csv", b"a,b\n1,\n");
                move || Table::from_csv(p, true, Missing::Error)
            }),
            &["hole.csv:2", "missing value", "\"b\""],
        ),
        (
            "csv duplicate column",
            lib({
                let p = file("dup.csv", b"a,a\n1,2\n");
                move || Table::from_csv(p, true, Missing::Error)
            }),
            &["dup.csv", "\"a\" appears twice"],
        ),
        (
            "csv column",
            lib({
                let p = file("cols.csv", b"a,b\n1,2\n");
                move || Table::from_csv(p, true, Missing::Error)?.select::<f32>(&["c".into()], &[0])
            }),
            &["no column \"c\"", "a, b"],
        ),
        (
            "csv absent",
            lib(|| Table::from_csv("/nonexistent/data.csv", true, Missing::Error)),
            &["/nonexistent/data.csv"],
        ),
        (
            "split fraction",
            lib(|| strata::data::preprocess::train_test_split(10, 1.0, 0, None)),
            &["test fraction", "1"],
        ),
        // Weights files.
        (
            "weights missing tensor",
            lib({
                let p = weights.clone();
                move || {
                    strata::io::load_weights(
                        &Sequential::<f32>::new([2], 0)
                            .add(DenseConfig::new(3).name("a"))?
                            .add(DenseConfig::new(1).name("b"))?,
                        p,
                    )
                }
            }),
            &["a.safetensors", "missing tensor 'b.kernel'"],
        ),
        (
            "weights unexpected",
            lib({
                let p = weights.clone();
                move || strata::io::load_weights(&Sequential::<f32>::new([2], 0).add(DenseConfig::new(3).name("z"))?, p)
            }),
            &["unexpected tensor 'a.bias', 'a.kernel'"],
        ),
        (
            "weights shape",
            lib({
                let p = weights.clone();
                move || strata::io::load_weights(&Sequential::<f32>::new([5], 0).add(DenseConfig::new(3).name("a"))?, p)
            }),
            &["'a.kernel'", "[2, 3]", "[5, 3]"],
        ),
        (
            "weights dtype",
            lib({
                let p = weights.clone();
                move || strata::io::load_weights(&Sequential::<f64>::new([2], 0).add(DenseConfig::new(3).name("a"))?, p)
            }),
            &["F32", "f64"],
        ),
        (
            "weights header",
            lib({
                let p = file("corrupt.safetensors", &corrupt);
                move || strata::io::load_weights(&net(), p)
            }),
            &["corrupt.safetensors", "not a valid safetensors file"],
        ),
        (
            "weights truncated",
            lib({
                let p = file("short.safetensors", &wbytes[..wbytes.len() - 3]);
                move || strata::io::load_weights(&net(), p)
            }),
            &["short.safetensors"],
        ),
        (
            "weights tiny",
            lib({
                let p = file("tiny.safetensors", b"\x01");
                move || strata::io::load_weights(&net(), p)
            }),
            &["tiny.safetensors"],
        ),
        (
            "weights read-only dir",
            lib(|| strata::io::save_weights(&net(), "/proc/strata.safetensors")),
            &["/proc/strata.safetensors"],
        ),
        // Spec files, through the binary.
        ("spec unknown key", cli(&["fit", &spec(("batch_size = 32", "batch_sise = 32"))]), &["batch_sise", ":27:"]),
        (
            "spec layer type",
            cli(&["fit", &spec((r#"type = "dense", units = 64"#, r#"type = "dens", units = 64"#))]),
            &["dens", ":15:"],
        ),
        (
            "spec activation",
            cli(&[
                "fit",
                &spec((r#"activation = "relu", name = "hidden1""#, r#"activation = "rleu", name = "hidden1""#)),
            ]),
            &["rleu", "relu"],
        ),
        ("spec optimizer", cli(&["fit", &spec((r#"type = "sgd""#, r#"type = "sdg""#))]), &["sdg", "sgd"]),
        ("spec loss", cli(&["fit", &spec((r#"loss = "mse""#, r#"loss = "mes""#))]), &["mes", "mse"]),
        ("spec metric", cli(&["fit", &spec((r#"metrics = ["mae"]"#, r#"metrics = ["mea"]"#))]), &["mea", "mae"]),
        (
            "spec callback",
            cli(&["fit", &spec((r#"type = "early_stopping""#, r#"type = "early_stop""#))]),
            &["early_stop"],
        ),
        (
            "spec value type",
            cli(&["fit", &spec(("units = 32, activation", r#"units = "many", activation"#))]),
            &["many"],
        ),
        ("spec syntax", cli(&["fit", &spec(("[fit]", "[fit"))]), &["spec-"]),
        ("spec source", cli(&["fit", &spec((r#"source = "builtin:iris""#, r#"source = "ftp:iris""#))]), &["ftp"]),
        (
            "spec builtin",
            cli(&["fit", &spec((r#"source = "builtin:iris""#, r#"source = "builtin:irises""#))]),
            &["irises", "iris"],
        ),
        (
            "spec column",
            cli(&["fit", &spec((r#""sepal_width"]"#, r#""sepal_widht"]"#))]),
            &["sepal_widht", "sepal_width"],
        ),
        (
            "spec validation",
            cli(&["fit", &spec(("test_split = 0.2", "stratify = false"))]),
            &["fit.validation", "test_split"],
        ),
        ("spec shapes", cli(&["fit", &spec(("input_shape = [2]", "input_shape = [3]"))]), &["[3]", "[2]"]),
        // Runs and the command line.
        ("evaluate no run", cli(&["evaluate", "/nonexistent/run"]), &["/nonexistent/run/model.json"]),
        ("evaluate broken json", cli(&["evaluate", &w(&broken_run)]), &["broken-run/model.json"]),
        ("evaluate old format", cli(&["evaluate", &w(&old_run)]), &["strata-run-0"]),
        ("predict column", cli(&["predict", &w(&xor_run), "--input", &w(&no_column)]), &["no column \"x2\""]),
        ("predict no input", cli(&["predict", &w(&xor_run), "--input", "/nonexistent.csv"]), &["/nonexistent.csv"]),
        (
            "fit out under a file",
            cli(&["fit", "examples/xor.toml", "--epochs", "1", "--out", &format!("{}/run", w(&no_column))]),
            &["no-column.csv/run"],
        ),
        (
            "fit init weights shape",
            cli(&["fit", "examples/iris.toml", "--init-weights", &w(&xor_run.join("model.safetensors"))]),
            &["model.safetensors", "unexpected tensor"],
        ),
        (
            "resume not a run",
            cli(&["fit", "examples/xor.toml", "--resume", "/nonexistent/run"]),
            &["/nonexistent/run", "not a run directory"],
        ),
        (
            "resume other spec",
            cli(&["fit", "examples/iris.toml", "--resume", &w(&xor_run)]),
            &["data.source: \"builtin:xor\" in the run, \"builtin:iris\" now"],
        ),
        (
            "resume other seed",
            cli(&["fit", "examples/xor.toml", "--resume", &w(&xor_run), "--epochs", "1", "--seed", "9"]),
            &["seed:", "9 now"],
        ),
        (
            "resume and init weights",
            cli(&["fit", "examples/xor.toml", "--resume", &w(&xor_run), "--init-weights", &w(&weights)]),
            &["--init-weights"],
        ),
        (
            "resume elsewhere",
            cli(&["fit", "examples/xor.toml", "--resume", &w(&xor_run), "--out", "/tmp/elsewhere"]),
            &["/tmp/elsewhere", "--out"],
        ),
        (
            "resume damaged checkpoint",
            cli(&["fit", "examples/xor.toml", "--resume", &w(&damaged_run)]),
            &["damaged-run/checkpoint.strata", "not a valid safetensors file"],
        ),
        (
            "resume no checkpoint",
            cli(&["fit", "examples/xor.toml", "--resume", &w(&unstarted_run)]),
            &["unstarted-run/checkpoint.strata", "does not exist"],
        ),
        ("fetch unknown", cli(&["fetch", "cifar-10"]), &["cifar-10", "fashion-mnist"]),
        ("epochs not a number", cli(&["fit", "examples/xor.toml", "--epochs", "ten"]), &["ten"]),
        ("unknown command", cli(&["trian"]), &["trian"]),
        ("missing argument", cli(&["predict", &w(&xor_run)]), &["--input"]),
    ];
    let mut failures = Vec::new();
    for (name, message, needles) in &cases {
        if message == "ACCEPTED" || message.starts_with("PANICKED") || message == "HUNG" {
            failures.push(format!("{name}: {message}"));
        } else if let Some(n) = needles.iter().find(|n| !message.contains(*n)) {
            failures.push(format!("{name}: message {message:?} lacks {n:?}"));
        }
    }
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    let _ = std::fs::remove_dir_all(dir());
}

/// [`cli`] with environment variables set for the child.
fn cli_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command.args(args).current_dir(root()).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        "ACCEPTED".into()
    } else if err.contains("panicked") {
        format!("PANICKED: {err}")
    } else {
        err
    }
}

/// A CSV spec of two features and one target over `csv`, with `extra` appended to `[data]`.
fn csv_spec(name: &str, csv: &Path) -> PathBuf {
    let text = format!(
        "[data]\nsource = \"csv:{}\"\nfeatures = [\"x1\", \"x2\"]\ntargets = [\"y\"]\ntest_split = 0.25\n\n[model]\ninput_shape = [2]\nlayers = [{{ type = \"dense\", units = 1 }}]\n\n[compile]\noptimizer = \"sgd\"\nloss = \"mse\"\n",
        csv.display()
    );
    file(name, text.as_bytes())
}

/// Replace `key` in the safetensors metadata JSON of a training checkpoint (the header is
/// rewritten with its new length).
fn edit_checkpoint(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + len]).unwrap();
    assert!(header.contains(from), "{from} not in the checkpoint header");
    let mut edited = header.replace(from, to);
    // safetensors pads the header to 8 bytes with spaces.
    while !edited.len().is_multiple_of(8) {
        edited.push(' ');
    }
    let mut out = (edited.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(edited.as_bytes());
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

/// Issue 13's classes of hostile and faulty input, each case failing with a message that names
/// the field, file, line or value, and leaving no run directory behind when a spec is refused.
#[test]
fn the_hostile_catalogue() {
    let w = |p: &Path| p.to_str().unwrap().to_string();
    let d = dir().join("hostile");
    std::fs::create_dir_all(&d).unwrap();
    let iris = std::fs::read_to_string(root().join("examples/iris.toml")).unwrap();
    let mut counter = 0;
    // Fit an edited iris spec into a fresh --out; the message, and whether the run directory
    // was left behind (a refused spec must write nothing).
    let mut fit_edit = |from: &str, to: &str| -> String {
        assert!(iris.contains(from), "the edit {from:?} does not apply");
        counter += 1;
        let spec = file(&format!("hostile-{counter}.toml"), iris.replacen(from, to, 1).as_bytes());
        let out = d.join(format!("run-{counter}"));
        let message = cli(&["fit", &w(&spec), "--out", &w(&out), "--epochs", "1"]);
        if out.exists() {
            format!("LEFT A RUN DIRECTORY: {message}")
        } else {
            message
        }
    };
    let sgd = "optimizer = { type = \"sgd\", learning_rate = 0.01 }";
    let dense = "{ type = \"dense\", units = 32, activation = \"relu\", name = \"hidden1\" }";
    let early = "{ type = \"early_stopping\", monitor = \"val_loss\", patience = 10, restore_best_weights = true }";
    let many_layers = format!(
        "layers = [\n{}]\n",
        (0..20_000).map(|i| format!("  {{ type = \"dense\", units = 2, name = \"l{i}\" }},\n")).collect::<String>()
    );
    let long_name = "n".repeat(1000);
    let long_string = "x".repeat(10_000);

    // Data files with non-finite or out-of-range numbers, a binary file, a run to edit.
    let csv = |name: &str, rows: &str| file(name, format!("x1,x2,y\n{rows}").as_bytes());
    let good_rows = "0,0,0\n0,1,1\n1,0,1\n1,1,0\n0.5,0.5,1\n0.2,0.8,0\n0.9,0.1,1\n0.3,0.3,0\n";
    let nan_feature = csv_spec("nan-feature.toml", &csv("nan-feature.csv", &format!("{good_rows}0.5,nan,1\n")));
    let inf_target = csv_spec("inf-target.toml", &csv("inf-target.csv", &format!("{good_rows}0.5,0.5,-inf\n")));
    let beyond_f32 = csv_spec("beyond-f32.toml", &csv("beyond-f32.csv", &format!("{good_rows}1e39,0.5,1\n")));
    let nan_last_row = csv_spec("nan-last.toml", &csv("nan-last.csv", &format!("{good_rows}0.5,0.5,NaN\n")));
    let mut binary = b"x1,x2,y\n".to_vec();
    binary.extend(std::iter::repeat_n(0u8, 9 << 20));
    let binary_csv = csv_spec("binary.toml", &file("binary.csv", &binary));
    let csv_run = d.join("csv-run");
    let good_spec = csv_spec("good.toml", &csv("good.csv", good_rows));
    assert_eq!(cli(&["fit", &w(&good_spec), "--out", &w(&csv_run), "--epochs", "1"]), "ACCEPTED");
    let predict_nan = csv("predict-nan.csv", "0,0,0\n0.5,NaN,0\n");
    let predict_text = csv("predict-text.csv", "0,0,0\n0.5,abc,0\n");
    let predict_empty = csv("predict-empty.csv", "0,0,0\n0.5,,0\n");
    let predict_long = {
        let mut bytes = b"x1,x2,y\n0,".to_vec();
        bytes.extend(std::iter::repeat_n(b'1', 9 << 20));
        file("predict-long.csv", &bytes)
    };
    // Edited copies of a trained run.
    let copy_run = |name: &str| -> PathBuf {
        let to = d.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["model.json", "model.safetensors", "spec.toml", "checkpoint.strata", "history.csv"] {
            std::fs::copy(csv_run.join(f), to.join(f)).unwrap();
        }
        to
    };
    let nan_weights = copy_run("nan-weights");
    let mut weights = std::fs::read(nan_weights.join("model.safetensors")).unwrap();
    let end = weights.len();
    weights[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(nan_weights.join("model.safetensors"), &weights).unwrap();
    let json_text = std::fs::read_to_string(csv_run.join("model.json")).unwrap();
    let zero_divisor = copy_run("zero-divisor");
    std::fs::write(
        zero_divisor.join("model.json"),
        json_text.replace("\"type\": \"none\"", "\"type\": \"divide\",\n    \"divisor\": 0.0"),
    )
    .unwrap();
    let negative_std = copy_run("negative-std");
    std::fs::write(
        negative_std.join("model.json"),
        json_text.replace(
            "\"type\": \"none\"",
            "\"type\": \"standardize\",\n    \"mean\": [0.0, 0.0],\n    \"std\": [1.0, -2.0]",
        ),
    )
    .unwrap();
    let stored_spec = copy_run("stored-spec");
    std::fs::write(stored_spec.join("model.json"), json_text.replace("units = 1", "units = -1")).unwrap();
    let other_weights = copy_run("other-weights");
    let other_run = d.join("other-run");
    assert_eq!(cli(&["fit", &w(&good_spec), "--out", &w(&other_run), "--epochs", "2", "--seed", "5"]), "ACCEPTED");
    std::fs::copy(other_run.join("model.safetensors"), other_weights.join("model.safetensors")).unwrap();
    let checkpoint = std::fs::read(csv_run.join("checkpoint.strata")).unwrap();
    let header_len = u64::from_le_bytes(checkpoint[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&checkpoint[8..8 + header_len]).into_owned();
    let bits = |key: &str| -> String {
        let at = header.find(key).unwrap() + key.len();
        header[at..].chars().take_while(|c| c.is_ascii_digit()).collect()
    };
    let (lr_key, steps_key) = ("learning_rate_bits\\\":", "iterations\\\":");
    let negative_lr = copy_run("negative-lr");
    std::fs::write(
        negative_lr.join("checkpoint.strata"),
        edit_checkpoint(&checkpoint, &format!("{lr_key}{}", bits(lr_key)), &format!("{lr_key}{}", (-1.0f64).to_bits())),
    )
    .unwrap();
    let wrapped_steps = copy_run("wrapped-steps");
    std::fs::write(
        wrapped_steps.join("checkpoint.strata"),
        edit_checkpoint(&checkpoint, &format!("{steps_key}{}", bits(steps_key)), &format!("{steps_key}{}", u64::MAX)),
    )
    .unwrap();

    let cases: Vec<(&str, String, &[&str])> = vec![
        // Numbers: finite in f32, in their range, named with their key and line.
        ("lr beyond f32", fit_edit("learning_rate = 0.01", "learning_rate = 1e300"), &["learning_rate", "1e300", "f32", ":21"]),
        ("lr nan", fit_edit("learning_rate = 0.01", "learning_rate = nan"), &["learning_rate", "not a finite number"]),
        ("lr inf", fit_edit("learning_rate = 0.01", "learning_rate = inf"), &["learning_rate", "inf"]),
        ("lr negative", fit_edit("learning_rate = 0.01", "learning_rate = -0.1"), &["learning_rate", "-0.1"]),
        ("clipnorm nan", fit_edit(sgd, "optimizer = { type = \"sgd\", clipnorm = nan }"), &["clipnorm", "not a finite"]),
        ("clipnorm negative", fit_edit(sgd, "optimizer = { type = \"sgd\", clipnorm = -1.0 }"), &["clipnorm", "> 0", "-1"]),
        ("clipvalue zero", fit_edit(sgd, "optimizer = { type = \"sgd\", clipvalue = 0.0 }"), &["clipvalue", "> 0"]),
        ("global clipnorm beyond f32", fit_edit(sgd, "optimizer = { type = \"sgd\", global_clipnorm = 1e39 }"), &["global_clipnorm", "f32"]),
        (
            "step decay negative",
            fit_edit(sgd, "optimizer = { type = \"sgd\", schedule = { type = \"step_decay\", every = 10, factor = -0.5 } }"),
            &["step_decay", "factor", "-0.5"],
        ),
        (
            "exponential decay above 1",
            fit_edit(sgd, "optimizer = { type = \"sgd\", schedule = { type = \"exponential_decay\", decay_steps = 10, rate = 2.0 } }"),
            &["exponential_decay", "rate", "2"],
        ),
        (
            "cosine alpha above 1",
            fit_edit(sgd, "optimizer = { type = \"sgd\", schedule = { type = \"cosine_decay\", decay_steps = 10, alpha = 1.5 } }"),
            &["cosine_decay", "alpha", "1.5"],
        ),
        ("adam beta above 1", fit_edit(sgd, "optimizer = { type = \"adam\", beta_1 = 1.5 }"), &["beta_1", "1.5"]),
        ("epsilon rounds to 0", fit_edit(sgd, "optimizer = { type = \"adam\", epsilon = 1e-50 }"), &["epsilon", "rounds to 0"]),
        ("weight decay nan", fit_edit(sgd, "optimizer = { type = \"adamw\", weight_decay = nan }"), &["weight_decay", "finite"]),
        ("weight decay negative", fit_edit(sgd, "optimizer = { type = \"adamw\", weight_decay = -1.0 }"), &["weight_decay", "-1"]),
        (
            "l1 negative",
            fit_edit(dense, "{ type = \"dense\", units = 32, kernel_regularizer = { l1 = -0.01 } }"),
            &["l1", "-0.01", ":14"],
        ),
        ("l2 nan", fit_edit(dense, "{ type = \"dense\", units = 32, kernel_regularizer = { l2 = nan } }"), &["l2", "not a finite"]),
        (
            "constant initializer nan",
            fit_edit(dense, "{ type = \"dense\", units = 32, kernel_initializer = { type = \"constant\", value = nan } }"),
            &["value", "not a finite"],
        ),
        (
            "constant initializer beyond f32",
            fit_edit(dense, "{ type = \"dense\", units = 32, kernel_initializer = { type = \"constant\", value = 1e300 } }"),
            &["value", "f32"],
        ),
        (
            "normal std negative",
            fit_edit(dense, "{ type = \"dense\", units = 32, kernel_initializer = { type = \"normal\", std = -1.0 } }"),
            &["std", "-1"],
        ),
        ("min_delta nan", fit_edit(early, "{ type = \"early_stopping\", min_delta = nan }"), &["min_delta", "not a finite"]),
        ("min_delta negative", fit_edit(early, "{ type = \"early_stopping\", min_delta = -1.0 }"), &["min_delta", ">= 0"]),
        ("min_lr negative", fit_edit(early, "{ type = \"reduce_lr_on_plateau\", min_lr = -1.0 }"), &["min_lr", ">= 0"]),
        ("plateau factor above 1", fit_edit(early, "{ type = \"reduce_lr_on_plateau\", factor = 1.5 }"), &["factor", "(0, 1)"]),
        ("huber delta zero", fit_edit("loss = \"mse\"", "loss = { type = \"huber\", delta = 0.0 }"), &["delta", "> 0"]),
        ("missing on a built-in", fit_edit("scale = \"none\"", "scale = \"none\"\nmissing = \"drop\""), &["data.missing", "builtin:iris"]),
        ("header on a built-in", fit_edit("scale = \"none\"", "scale = \"none\"\nheader = false"), &["data.header", "CSV"]),
        ("divide too small", fit_edit("scale = \"none\"", "scale = \"divide:1e-40\""), &["divide:1e-40"]),
        ("test split above 1", fit_edit("test_split = 0.2", "test_split = 1.5"), &["data.test_split", "1.5", ":7"]),
        ("validation split nan", fit_edit("validation = \"test\"", "validation_split = nan"), &["validation_split", "not a finite"]),
        ("verbose 7", fit_edit("seed = 1", "seed = 1\nverbose = 7"), &["fit.verbose", "7"]),
        (
            "empty layers",
            fit_edit(
                "layers = [\n  { type = \"dense\", units = 32, activation = \"relu\", name = \"hidden1\" },\n  { type = \"dense\", units = 64, activation = \"relu\", name = \"hidden2\" },\n  { type = \"dense\", units = 32, activation = \"relu\", name = \"hidden3\" },\n  { type = \"dense\", units = 2, activation = \"linear\", name = \"output\" },\n]",
                "layers = []",
            ),
            &["model.layers", "empty"],
        ),
        // Sizes: caps named, refused at once.
        (
            "20,000 layers",
            fit_edit(
                "layers = [\n  { type = \"dense\", units = 32, activation = \"relu\", name = \"hidden1\" },\n  { type = \"dense\", units = 64, activation = \"relu\", name = \"hidden2\" },\n  { type = \"dense\", units = 32, activation = \"relu\", name = \"hidden3\" },\n  { type = \"dense\", units = 2, activation = \"linear\", name = \"output\" },\n]\n",
                &many_layers,
            ),
            &["model.layers", "20000", "10000"],
        ),
        ("a long name", fit_edit("name = \"hidden1\"", &format!("name = \"{long_name}\"")), &["name", "1000 characters", "128"]),
        (
            "a long string",
            fit_edit("\"sepal_width\"]", &format!("\"{long_string}\"]")),
            &["data.features[1]", "10000 bytes", "4096"],
        ),
        (
            "memory for the weights",
            cli_env(
                &[
                    "fit",
                    &fit_spec_file("big.toml", &iris.replacen("units = 32", "units = 30000", 1), "units = 64", "units = 30000"),
                    "--out",
                    &w(&d.join("big")),
                ],
                &[("STRATA_MEMORY_LIMIT", "100000000")],
            ),
            &["layer 'hidden2'", "needs about", "95.4 MiB available"],
        ),
        (
            "memory for training",
            cli_env(
                &["fit", &fit_spec_file("wide.toml", &iris, "batch_size = 32", "batch_size = 100000"), "--out", &w(&d.join("wide"))],
                &[("STRATA_MEMORY_LIMIT", "100000")],
            ),
            &["fit", "training with batch_size", "layer '"],
        ),
        // Data files: non-finite numbers named with file, line and column.
        ("csv nan feature", cli(&["fit", &w(&nan_feature), "--out", &w(&d.join("a"))]), &["nan-feature.csv:10", "x2", "nan"]),
        ("csv inf target", cli(&["fit", &w(&inf_target), "--out", &w(&d.join("b"))]), &["inf-target.csv:10", "\"y\"", "-inf"]),
        ("csv beyond f32", cli(&["fit", &w(&beyond_f32), "--out", &w(&d.join("c"))]), &["beyond-f32.csv:10", "x1", "f32"]),
        ("csv nan in a held-out row", cli(&["fit", &w(&nan_last_row), "--out", &w(&d.join("e"))]), &["nan-last.csv:10", "NaN"]),
        ("csv without newlines", cli(&["fit", &w(&binary_csv), "--out", &w(&d.join("f"))]), &["binary.csv", "longer than 8 MiB"]),
        ("predict nan", cli(&["predict", &w(&csv_run), "--input", &w(&predict_nan)]), &["predict-nan.csv:3", "x2", "NaN"]),
        ("predict text", cli(&["predict", &w(&csv_run), "--input", &w(&predict_text)]), &["predict-text.csv:3", "abc"]),
        ("predict empty field", cli(&["predict", &w(&csv_run), "--input", &w(&predict_empty)]), &["predict-empty.csv:3", "missing"]),
        ("predict long line", cli(&["predict", &w(&csv_run), "--input", &w(&predict_long)]), &["predict-long.csv", "longer than 8 MiB"]),
        ("evaluate nan", cli(&["evaluate", &w(&csv_run), "--data", &w(&predict_nan)]), &["predict-nan.csv:3", "NaN"]),
        // Run directories edited or damaged: refused when loaded, naming the tensor or field.
        ("nan weight", cli(&["evaluate", &w(&nan_weights)]), &["model.safetensors", "non-finite", "NaN"]),
        ("nan weight predict", cli(&["predict", &w(&nan_weights), "--input", &w(&csv("ok.csv", "0,0,0\n"))]), &["non-finite"]),
        ("scaler divides by zero", cli(&["evaluate", &w(&zero_divisor)]), &["model.json", "divisor 0"]),
        ("scaler negative std", cli(&["evaluate", &w(&negative_std)]), &["model.json", "std[1] = -2"]),
        ("stored spec broken", cli(&["evaluate", &w(&stored_spec)]), &["model.json (its spec_toml):9", "-1"]),
        ("weights of another run", cli(&["evaluate", &w(&other_weights)]), &["model.safetensors", "different runs"]),
        (
            "checkpoint negative rate",
            cli(&["fit", &w(&good_spec), "--resume", &w(&negative_lr), "--epochs", "3"]),
            &["checkpoint.strata", "learning rate -1"],
        ),
        (
            "checkpoint step counter wrapped",
            cli(&["fit", &w(&good_spec), "--resume", &w(&wrapped_steps), "--epochs", "3"]),
            &["checkpoint.strata", "step counter", "2^53"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, message, needles) in &cases {
        if message == "ACCEPTED" || message.starts_with("PANICKED") || message == "HUNG" || message.starts_with("LEFT")
        {
            failures.push(format!("{name}: {message}"));
        } else if let Some(n) = needles.iter().find(|n| !message.contains(*n)) {
            failures.push(format!("{name}: message {message:?} lacks {n:?}"));
        }
    }
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    let _ = std::fs::remove_dir_all(dir());
}

/// An edited copy of `text` written as `name`; its path.
fn fit_spec_file(name: &str, text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the edit {from:?} does not apply");
    file(name, text.replacen(from, to, 1).as_bytes()).to_str().unwrap().to_string()
}

/// What must succeed on hostile values: `plot` draws a history holding NaN, inf and ±1.7e308
/// (leaving them out, and saying so) within the deadline; `predict` on an IDX file of no images
/// writes a CSV header.
#[test]
fn hostile_values_are_drawn_and_written_safely() {
    let d = dir().join("values");
    std::fs::create_dir_all(&d).unwrap();
    let w = |p: &Path| p.to_str().unwrap().to_string();
    let run = d.join("run");
    assert_eq!(cli(&["fit", "examples/xor.toml", "--epochs", "8", "--out", &w(&run)]), "ACCEPTED");
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    let mut lines: Vec<String> = history.lines().map(String::from).collect();
    for (row, value) in [(2, "NaN"), (3, "1.7e308"), (4, "-1.7e308"), (5, "inf")] {
        let mut fields: Vec<&str> = lines[row].split(',').collect();
        fields[1] = value;
        lines[row] = fields.join(",");
    }
    std::fs::write(run.join("history.csv"), lines.join("\n") + "\n").unwrap();
    let start = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_strata")).args(["plot", &w(&run)]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(start.elapsed() < Duration::from_secs(10), "plot took {:?}", start.elapsed());
    assert!(std::fs::metadata(run.join("learning_curves.png")).unwrap().len() > 1000);

    let images = dir().join("mnist-run");
    let idx_dir = d.join("idx");
    std::fs::create_dir_all(&idx_dir).unwrap();
    for (name, dims) in [("train-images-idx3-ubyte", vec![4u32, 28, 28]), ("t10k-images-idx3-ubyte", vec![4, 28, 28])] {
        std::fs::write(idx_dir.join(name), idx(&dims, &vec![9u8; 4 * 784])).unwrap();
    }
    for name in ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::write(idx_dir.join(name), [0u8, 0, 8, 1, 0, 0, 0, 4, 0, 1, 2, 3]).unwrap();
    }
    assert_eq!(
        cli(&["fit", "examples/fashion_mnist.toml", "--data", &w(&idx_dir), "--epochs", "1", "--out", &w(&images)]),
        "ACCEPTED"
    );
    let empty = file("no-images-idx3-ubyte", &idx(&[0, 28, 28], &[]));
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["predict", &w(&images), "--input", &w(&empty)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert!(csv.starts_with("p(T-shirt/top),") && csv.trim_end().ends_with(",predicted"), "{csv}");
    let _ = std::fs::remove_dir_all(dir());
}
