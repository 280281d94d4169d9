//! Crash safety: `strata fit` is killed (SIGKILL) at random moments while it writes a 16 MB
//! checkpoint after every epoch (of 4 rows: writing is most of the time). Every file at its final name must be absent or load; the next
//! run removes stale temporary files. The same harness against a naive in-place writer must
//! find a torn file, which shows the harness can fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use strata::rng::seeded_rng;

const SPEC: &str = r#"
[data]
source = "builtin:xor"
features = ["x1", "x2"]
targets = ["y"]

[model]
input_shape = [2]
layers = [
  { type = "dense", units = 2048, activation = "relu", name = "wide1" },
  { type = "dense", units = 2048, activation = "relu", name = "wide2" },
  { type = "dense", units = 1, name = "output" },
]

[compile]
optimizer = { type = "sgd", learning_rate = 0.0001 }
loss = "mse"

[fit]
epochs = 100000
batch_size = 4
callbacks = [ { type = "model_checkpoint", monitor = "loss", save_best_only = false } ]
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Kill `strata fit` `kills` times at random moments; returns how many kills left a file at its
/// final name that does not load (stopping at the first when `stop_at_first`).
fn harness(name: &str, kills: usize, naive: bool, stop_at_first: bool) -> (usize, PathBuf) {
    use rand::Rng;
    let dir = std::env::temp_dir().join(format!("strata-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("wide.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = dir.join("run");
    let parsed = strata::spec::Spec::from_file(&spec).unwrap();
    let model = strata::run::build_model(&parsed, 0).unwrap();
    let mut rng = seeded_rng(7);
    let mut torn = 0;
    for _ in 0..kills {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.args(["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if naive {
            cmd.env(strata::io::UNSAFE_IN_PLACE_WRITES, "1");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let checkpoint = out.join("checkpoint.safetensors");
        if checkpoint.exists() && strata::io::load_weights(model.network(), &checkpoint).is_err() {
            torn += 1;
            if stop_at_first {
                break;
            }
        }
    }
    (torn, out)
}

fn stale_temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".tmp")).collect()
        })
        .unwrap_or_default()
}

#[test]
fn random_kills_never_leave_a_broken_checkpoint() {
    let (torn, out) = harness("atomic", 100, false, false);
    assert_eq!(torn, 0, "a kill left a checkpoint that does not load");
    // The next run (killed again, after it started) clears what the killed writers left.
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "fit",
            out.parent().unwrap().join("wide.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "1",
            "--quiet",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stale_temporaries(&out), Vec::<String>::new());
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

#[test]
fn the_harness_catches_a_naive_writer() {
    let (torn, out) = harness("naive", 60, true, true);
    assert!(torn > 0, "60 kills of an in-place writer left no torn file: the harness cannot fail");
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}
