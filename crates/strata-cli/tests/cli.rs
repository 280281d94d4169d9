//! The real `strata` binary, run as a process: every example spec for a few epochs, the run
//! directory's files, and the bad-input catalogue of the command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).current_dir(root()).output().expect("the binary runs")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line of standard output, parsed as the `--json` object.
fn json(o: &Output) -> serde_json::Value {
    let text = stdout(o);
    serde_json::from_str(text.lines().last().expect("output")).expect("the last line is JSON")
}

#[test]
fn every_example_spec_trains_and_writes_a_complete_run() {
    for (spec, epochs) in [("iris", "3"), ("iris_species", "3"), ("xor", "5"), ("gates", "5"), ("not", "5")] {
        let out = temp(spec);
        let o = strata(&[
            "fit",
            &format!("examples/{spec}.toml"),
            "--epochs",
            epochs,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{spec}: {}", stderr(&o));
        let j = json(&o);
        assert_eq!(j["epochs"].as_u64().unwrap().to_string(), epochs, "{spec}");
        assert!(j["loss"].as_f64().unwrap().is_finite());
        for file in [
            "model.safetensors",
            "model.json",
            "history.csv",
            "learning_curves.png",
            "learning_curves.svg",
            "spec.toml",
        ] {
            assert!(out.join(file).exists(), "{spec}: {file} missing");
        }
        let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
        assert_eq!(history.lines().count(), 1 + epochs.parse::<usize>().unwrap(), "{spec}: one row per epoch");
        let png = std::fs::read(out.join("learning_curves.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{spec}: a PNG signature");
        assert_eq!(&png[12..16], b"IHDR");
        let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("a valid PNG");
        assert!(decoded.width() >= 560 && decoded.height() >= 420, "{spec}: {}x{}", decoded.width(), decoded.height());
        let svg = std::fs::read_to_string(out.join("learning_curves.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Epoch"));

        // The weights load back (in the library) and predict bit for bit what the binary does.
        let run = strata::run::load_run(&out).unwrap();
        let table = std::env::temp_dir().join(format!("strata-cli-input-{spec}-{}.csv", std::process::id()));
        let features = &run.spec.data.features;
        let rows: Vec<String> = (0..3)
            .map(|r| {
                features
                    .iter()
                    .enumerate()
                    .map(|(c, _)| format!("{}", 0.5 + r as f64 + c as f64 * 0.25))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        std::fs::write(&table, format!("{}\n{}\n", features.join(","), rows.join("\n"))).unwrap();
        let o = strata(&["predict", out.to_str().unwrap(), "--input", table.to_str().unwrap()]);
        assert!(o.status.success(), "{spec}: {}", stderr(&o));
        let cli: Vec<f32> = stdout(&o)
            .lines()
            .skip(1)
            .flat_map(|l| l.split(',').filter_map(|v| v.parse::<f32>().ok()).collect::<Vec<_>>())
            .collect();
        let x = strata::Tensor::<f32>::from_vec(
            rows.iter().flat_map(|r| r.split(',').map(|v| v.parse::<f32>().unwrap())).collect(),
            [3, features.len()],
        )
        .unwrap();
        let lib = run.model.predict(&run.scaler.transform(&x).unwrap(), 32).unwrap();
        assert_eq!(
            cli.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            lib.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{spec}"
        );

        let o = strata(&["evaluate", out.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{spec}: {}", stderr(&o));
        assert_eq!(json(&o)["loss"], j["loss"], "{spec}: evaluate agrees with fit");
        std::fs::remove_dir_all(&out).unwrap();
        std::fs::remove_file(&table).unwrap();
    }
}

#[test]
fn summary_plot_and_no_argument_run() {
    let o = strata(&["summary", "examples/iris.toml"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("Total params: 4,354"));
    let o = strata(&["--help"]);
    assert!(stdout(&o).contains("fit") && stdout(&o).contains("predict"));
    let o = strata(&["fit", "--help"]);
    assert!(stdout(&o).contains("Example: strata fit examples/iris.toml"));

    let out = temp("plot");
    assert!(strata(&["fit", "examples/xor.toml", "--epochs", "4", "--out", out.to_str().unwrap()]).status.success());
    std::fs::remove_file(out.join("learning_curves.png")).unwrap();
    let o = strata(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("learning_curves.png").exists());
    // --init-weights with --epochs 0 evaluates the given weights as they are.
    let again = temp("init");
    let weights = out.join("model.safetensors");
    let o = strata(&[
        "fit",
        "examples/xor.toml",
        "--epochs",
        "0",
        "--init-weights",
        weights.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = strata(&["evaluate", out.to_str().unwrap(), "--json"]);
    assert_eq!(json(&o)["loss"], json(&first)["loss"]);
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&again).unwrap();
}

/// Each bad input exits non-zero with a one-paragraph message naming the problem, never a panic.
#[test]
fn bad_input_is_a_clear_error() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let iris = std::fs::read_to_string(root().join("examples/iris.toml")).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let check = |args: &[&str], needles: &[&str]| {
        let o = strata(args);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{args:?}: {err}");
        assert!(err.trim().lines().count() <= 3, "{args:?}: one paragraph: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
        }
    };
    let unknown_key = write("key.toml", &iris.replace("batch_size = 32", "batch_sise = 32"));
    check(&["fit", &unknown_key], &["key.toml:27", "batch_sise"]);
    let unknown_layer =
        write("layer.toml", &iris.replace(r#"type = "dense", units = 64"#, r#"type = "conv9", units = 64"#));
    check(&["fit", &unknown_layer], &["layer.toml:15", "conv9"]);
    let no_flatten = write("shapes.toml", &iris.replace("input_shape = [2]", "input_shape = [2, 3]"));
    check(&["fit", &no_flatten], &["hidden1", "input", "[2, 3]"]);
    check(
        &["fit", "examples/fashion_mnist.toml", "--data", "/nonexistent/fashion"],
        &["/nonexistent/fashion", "train-images-idx3-ubyte"],
    );
    check(&["fit", "/nonexistent/spec.toml"], &["/nonexistent/spec.toml"]);

    // Weights files: a missing tensor, a wrong shape, a corrupted header.
    let out = dir.join("run");
    assert!(strata(&["fit", "examples/xor.toml", "--epochs", "1", "--out", out.to_str().unwrap()]).status.success());
    let iris_run = dir.join("iris-run");
    assert!(strata(&["fit", "examples/iris.toml", "--epochs", "1", "--out", iris_run.to_str().unwrap()])
        .status
        .success());
    let xor_weights = out.join("model.safetensors");
    check(
        &["fit", "examples/iris.toml", "--init-weights", xor_weights.to_str().unwrap()],
        &["model.safetensors", "unexpected tensor"],
    );
    let wide = write("wide.toml", &iris.replace("units = 64", "units = 65"));
    let iris_weights = iris_run.join("model.safetensors");
    check(
        &["fit", &wide, "--init-weights", iris_weights.to_str().unwrap()],
        &["hidden2.kernel", "[32, 64]", "[32, 65]"],
    );
    let mut bytes = std::fs::read(&iris_weights).unwrap();
    bytes[8] = b'X'; // the header's opening brace
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, &bytes).unwrap();
    check(
        &["fit", "examples/iris.toml", "--init-weights", corrupt.to_str().unwrap()],
        &["corrupt.safetensors", "not a valid safetensors file"],
    );
    // An output directory that cannot be written (a path under a regular file).
    let blocker = write("file", "x");
    check(&["fit", "examples/xor.toml", "--epochs", "1", "--out", &format!("{blocker}/run")], &["file/run"]);
    check(&["evaluate", "/nonexistent/run"], &["/nonexistent/run/model.json"]);
    // Argument errors are clap's: the message, the usage line and a pointer to --help.
    let o = strata(&["nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unrecognized subcommand 'nonsense'") && !stderr(&o).contains("panicked"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two processes with the same seed and thread count write identical weights, history and
/// predictions (byte for byte, so any hash of them agrees).
#[test]
fn two_processes_train_bit_identical_models() {
    let runs: Vec<PathBuf> = (0..2).map(|i| temp(&format!("determinism-{i}"))).collect();
    for out in &runs {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["fit", "examples/iris_species.toml", "--epochs", "20", "--out", out.to_str().unwrap()])
            .env("STRATA_NUM_THREADS", "2")
            .current_dir(root())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for file in ["model.safetensors", "history.csv", "model.json"] {
        let (a, b) = (std::fs::read(runs[0].join(file)).unwrap(), std::fs::read(runs[1].join(file)).unwrap());
        assert!(a == b, "{file} differs between two identical runs");
    }
    let predict =
        |dir: &Path| stdout(&strata(&["predict", dir.to_str().unwrap(), "--input", "examples/iris_species.csv"]));
    assert_eq!(predict(&runs[0]), predict(&runs[1]));
    runs.iter().for_each(|d| std::fs::remove_dir_all(d).unwrap());
}
