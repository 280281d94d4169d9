//! Crash safety: `strata fit` is killed (SIGKILL) at random moments while it writes a 16 MB
//! weights checkpoint and a 16 MB training checkpoint after every epoch (of 4 rows: writing is
//! most of the time). Every file at its final name must be absent or load; the next run removes
//! stale temporary files. The same harness against a naive in-place writer must find a torn
//! file, which shows the harness can fail. Last, a run killed part-way and resumed with
//! `--resume` must end with the very bytes of an uninterrupted run.

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
        cmd.args(["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--overwrite"])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if naive {
            cmd.env(strata::io::UNSAFE_IN_PLACE_WRITES, "1");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        // A run that already ended (refused, failed) was not killed while writing: the harness
        // would pass without testing anything.
        assert!(child.try_wait().unwrap().is_none(), "strata fit ended before it was killed");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Once `out` holds a run, --overwrite rebuilds it in a staging folder beside it: the
        // killed writer's files are there.
        let torn_here = |dir: &Path| {
            let checkpoint = dir.join("checkpoint.safetensors");
            let training = dir.join(strata::run::CHECKPOINT_FILE);
            (checkpoint.exists() && strata::io::load_weights(model.network(), &checkpoint).is_err())
                || (training.exists() && strata::train::Checkpoint::<f32>::load(&training).is_err())
        };
        if std::iter::once(out.clone()).chain(staging_dirs(&out)).any(|d| torn_here(&d)) {
            torn += 1;
            if stop_at_first {
                break;
            }
        }
    }
    (torn, out)
}

/// The staging folders of replacements of `out` (`.run.staging-<pid>` beside it).
fn staging_dirs(out: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.staging-", out.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(out.parent().unwrap())
        .map(|d| {
            d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&prefix)).map(|e| e.path()).collect()
        })
        .unwrap_or_default()
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
            "--overwrite",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stale_temporaries(&out), Vec::<String>::new());
    assert_eq!(staging_dirs(&out), Vec::<PathBuf>::new(), "a killed replacement's staging folder was left");
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

#[test]
fn the_harness_catches_a_naive_writer() {
    let (torn, out) = harness("naive", 60, true, true);
    assert!(torn > 0, "60 kills of an in-place writer left no torn file: the harness cannot fail");
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

const RESUMABLE_SPEC: &str = r#"
[data]
source = "builtin:iris"
features = ["sepal_length", "sepal_width"]
targets = ["petal_length", "petal_width"]
test_split = 0.2
scale = "standardize"
augment = { noise = 0.02 }

[model]
input_shape = [2]
layers = [
  { type = "dense", units = 256, activation = "relu" },
  { type = "dropout", rate = 0.2 },
  { type = "dense", units = 256, activation = "relu" },
  { type = "dense", units = 2 },
]

[compile]
optimizer = { type = "adam", learning_rate = 0.003, schedule = { type = "cosine_decay", decay_steps = 600 } }
loss = "mse"

[fit]
epochs = 300
batch_size = 16
validation = "test"
callbacks = [
  { type = "early_stopping", monitor = "val_loss", patience = 1000, restore_best_weights = true },
  { type = "reduce_lr_on_plateau", monitor = "val_loss", patience = 5, factor = 0.7 },
]
"#;

/// SIGKILL a run as soon as its first checkpoint is on disk (or later, at random), resume it,
/// and compare every result file with an uninterrupted run's bytes.
#[test]
fn a_killed_run_resumed_ends_bit_identical_to_an_uninterrupted_one() {
    use rand::Rng;
    let dir = std::env::temp_dir().join(format!("strata-resume-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("resumable.toml");
    std::fs::write(&spec, RESUMABLE_SPEC).unwrap();
    let fit = |out: &Path, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.args(["fit", spec.to_str().unwrap(), "--quiet"]).args(extra).current_dir(root());
        if !extra.contains(&"--resume") {
            cmd.args(["--out", out.to_str().unwrap()]);
        }
        cmd
    };
    let straight = dir.join("straight");
    let o = fit(&straight, &[]).stdout(Stdio::null()).stderr(Stdio::piped()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut rng = seeded_rng(3);
    let mut resumed_from = Vec::new();
    for attempt in 0..3 {
        let run = dir.join(format!("killed-{attempt}"));
        let checkpoint = run.join(strata::run::CHECKPOINT_FILE);
        let mut child = fit(&run, &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let extra_wait = Duration::from_millis(rng.gen_range(0..150));
        while !checkpoint.exists() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(extra_wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let saved = strata::train::Checkpoint::<f32>::load(&checkpoint).unwrap();
        if saved.finished() {
            continue; // the run ended before the kill: nothing to resume
        }
        resumed_from.push(saved.epochs_done());
        let o = fit(&run, &["--resume", run.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for file in ["model.safetensors", "history.csv", strata::run::CHECKPOINT_FILE, "model.json"] {
            assert!(
                std::fs::read(straight.join(file)).unwrap() == std::fs::read(run.join(file)).unwrap(),
                "{file} differs after a kill at epoch {} and --resume",
                saved.epochs_done()
            );
        }
    }
    assert!(!resumed_from.is_empty(), "every run finished before it was killed");
    eprintln!("killed and resumed after epochs {resumed_from:?} of 300");

    // Another spec is refused, naming the setting.
    let changed = dir.join("changed.toml");
    std::fs::write(&changed, RESUMABLE_SPEC.replace("batch_size = 16", "batch_size = 8")).unwrap();
    let run = dir.join("killed-0");
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["fit", changed.to_str().unwrap(), "--resume", run.to_str().unwrap(), "--quiet"])
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains("fit.batch_size: 16 in the run, 8 now"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The figures of a finished small run (xor, 1 epoch) in `out`, by file.
fn finished_run(spec_dir: &Path, out: &Path) -> Vec<(String, Vec<u8>)> {
    let spec = spec_dir.join("small.toml");
    std::fs::write(&spec, SPEC.replace("units = 2048", "units = 4").replace("epochs = 100000", "epochs = 1")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ["model.safetensors", "model.json", "history.csv", "spec.toml"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap()))
        .collect()
}

fn assert_unchanged(out: &Path, before: &[(String, Vec<u8>)]) {
    for (file, bytes) in before {
        assert_eq!(&std::fs::read(out.join(file)).unwrap(), bytes, "{file} changed");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_strata")).args(["evaluate", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "the old run no longer evaluates: {}", String::from_utf8_lossy(&o.stderr));
}

/// A second `fit` into a directory a first one is writing fails at once, naming the first one's
/// pid, and touches none of its files.
#[test]
fn a_second_writer_is_refused_naming_the_first() {
    let dir = std::env::temp_dir().join(format!("strata-two-writers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("run");
    let before = finished_run(&dir, &out);
    let spec = dir.join("wide.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let fit = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.args(["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .args(extra)
            .current_dir(root());
        cmd
    };
    // The first replaces the small run (in a staging folder, until it is done).
    let mut first = fit(&["--overwrite"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = std::time::Instant::now();
    while staging_dirs(&out).is_empty() {
        assert!(first.try_wait().unwrap().is_none(), "the first writer ended early");
        assert!(started.elapsed() < Duration::from_secs(60), "the first writer never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = std::time::Instant::now();
    let second = fit(&["--overwrite", "--epochs", "1"]).output().unwrap();
    let took = t.elapsed();
    let message = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(!second.status.success(), "a second writer was let in");
    assert!(message.contains(&format!("process {}", first.id())), "{message}");
    assert!(message.contains("being written"), "{message}");
    assert!(took < Duration::from_secs(10), "the second writer waited {took:?}");
    assert!(first.try_wait().unwrap().is_none(), "the first writer was disturbed");
    // While the replacement is under way, the old run is whole and untouched.
    assert_unchanged(&out, &before);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_unchanged(&out, &before);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A replacement that fails because the disk is full (here: a 1 MiB file-size limit, so the
/// first 16 MB checkpoint cannot be written) leaves the old run whole.
#[test]
fn a_full_disk_during_a_replacement_keeps_the_old_run() {
    use std::os::unix::process::CommandExt;
    let dir = std::env::temp_dir().join(format!("strata-full-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("run");
    let before = finished_run(&dir, &out);
    let spec = dir.join("wide.toml");
    std::fs::write(&spec, SPEC.replace("epochs = 100000", "epochs = 2")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(["fit", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--overwrite"])
        .current_dir(root());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit { rlim_cur: 1 << 20, rlim_max: 1 << 20 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let message = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "the replacement succeeded under a 1 MiB limit");
    assert!(message.contains("File too large") || message.contains("too large"), "{message}");
    assert_unchanged(&out, &before);
    assert_eq!(staging_dirs(&out), Vec::<PathBuf>::new(), "the failed replacement's staging folder was left");
    std::fs::remove_dir_all(&dir).unwrap();
}
