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

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-catalogue-{}", std::process::id()));
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
