//! Hostile files cost little: each is handed to the `strata` binary the way a user would (data
//! directory, CSV, weights, spec, run directory, checkpoint), and the child process must exit
//! with an error naming the file within 1 second and a peak resident memory (the kernel's
//! `ru_maxrss` for that child, from `wait4`) of at most 64 MiB. The files are small; what they
//! declare is not (a terabyte of pixels, a gigabyte gzip bomb, 2^40 units, tensors past the end).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PEAK_LIMIT_KIB: i64 = 64 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(1);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    dims.iter().for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
    b
}

fn gzip(parts: &[&[u8]], zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    parts.iter().for_each(|p| e.write_all(p).unwrap());
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        e.write_all(&block[..n]).unwrap();
        left -= n;
    }
    e.finish().unwrap()
}

/// A safetensors file from a raw header (the 8-byte length, then the JSON) and `data` bytes.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

struct Outcome {
    status: i32,
    peak_kib: i64,
    elapsed: Duration,
    stderr: String,
}

/// Run `strata args...` and collect its exit status and its own peak RSS. A process's
/// `ru_maxrss` starts from the memory of the process it was spawned from (Linux carries the
/// high-water mark across `exec`), and this test process grows while it builds the files, so the
/// spawning is done by a fresh copy of this test binary (`spawn_and_measure`), a few MiB small.
fn measure(args: &[&str], dir: &Path) -> Outcome {
    let err_path = dir.join("stderr");
    let start = Instant::now();
    let helper = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "spawn_and_measure", "--nocapture", "--test-threads=1"])
        .env(ARGS_VAR, args.join("\u{1f}"))
        .env(STDERR_VAR, &err_path)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let out = String::from_utf8_lossy(&helper.stdout);
    let field = |key: &str| -> i64 {
        let line = out.split("MEASURED ").nth(1).unwrap_or_else(|| panic!("helper said: {out}"));
        let value = line.split_whitespace().find_map(|kv| kv.strip_prefix(key)).unwrap();
        value.parse().unwrap()
    };
    Outcome {
        status: field("status=") as i32,
        peak_kib: field("peak_kib="),
        elapsed: Duration::from_micros(field("micros=") as u64).min(elapsed),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    }
}

const ARGS_VAR: &str = "STRATA_HOSTILE_ARGS";
const STDERR_VAR: &str = "STRATA_HOSTILE_STDERR";

/// Not a test of its own: the spawner `measure` runs in a fresh process (it does nothing when
/// run as part of the suite). Runs `strata`, waits for it with `wait4` and prints its exit
/// status, its peak RSS and its wall time.
#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4, which also returns its resource usage
fn spawn_and_measure() {
    let (Ok(args), Ok(err_path)) = (std::env::var(ARGS_VAR), std::env::var(STDERR_VAR)) else { return };
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args.split('\u{1f}'))
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(err_path).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it for this child only.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet reaped; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed");
        if start.elapsed() > Duration::from_secs(30) {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let micros = start.elapsed().as_micros();
    let exit = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    println!("MEASURED status={exit} peak_kib={} micros={micros}", usage.ru_maxrss);
}

#[test]
fn hostile_files_are_refused_within_a_second_and_64_mib() {
    let dir = std::env::temp_dir().join(format!("strata-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    // An image directory whose training images are the hostile file (labels are fine).
    let image_dir = |name: &str, images: &[u8], file: &str| {
        put(&format!("{name}/{file}"), images);
        put(&format!("{name}/train-labels-idx1-ubyte"), &[idx_header(&[1]), vec![0]].concat());
        d(name)
    };
    let fashion = |data: String| vec!["fit".into(), "examples/fashion_mnist.toml".to_string(), "--data".into(), data];

    // A real run to borrow model.json, spec.toml and a checkpoint from.
    let good = d("good-run");
    let o = measure(&["fit", "examples/xor.toml", "--epochs", "1", "--out", &good, "--quiet"], &dir);
    assert_eq!(o.status, 0, "{}", o.stderr);
    let baseline = measure(&["--version"], &dir);
    let run_with = |name: &str, file: &str, bytes: &[u8]| {
        for f in ["model.json", "spec.toml", "model.safetensors", "checkpoint.strata"] {
            let from = dir.join("good-run").join(f);
            put(&format!("{name}/{f}"), &std::fs::read(from).unwrap());
        }
        put(&format!("{name}/{file}"), bytes);
        d(name)
    };
    let spec = |name: &str, text: &str| put(name, text.as_bytes());
    let xor_spec = std::fs::read_to_string(root().join("examples/xor.toml")).unwrap();
    let nested = format!("{}{}", "x = ".to_string() + &"[".repeat(100_000), "]".repeat(100_000));

    let cases: Vec<(&str, Vec<String>, &[&str])> = vec![
        (
            "IDX declaring a terabyte",
            fashion(image_dir("tb", &idx_header(&[1 << 20, 1 << 20]), "train-images-idx3-ubyte")),
            &["train-images-idx3-ubyte", "exceed"],
        ),
        (
            "IDX declaring 60,000 images, holding 1,000 bytes",
            fashion(image_dir(
                "short",
                &[idx_header(&[60_000, 28, 28]), vec![1; 1000]].concat(),
                "train-images-idx3-ubyte",
            )),
            &["train-images-idx3-ubyte", "truncated data", "holds 1000"],
        ),
        (
            "gzip bomb: declares 4 GiB, inflates to 200 MiB",
            fashion(image_dir(
                "bomb",
                &gzip(&[&idx_header(&[65_536, 256, 256])], 200 << 20),
                "train-images-idx3-ubyte.gz",
            )),
            &["train-images-idx3-ubyte.gz", "truncated data"],
        ),
        (
            "gzip stream cut in half",
            fashion(image_dir(
                "cut",
                &{
                    let g = gzip(&[&idx_header(&[1000, 28, 28]), &vec![7u8; 784_000]], 0);
                    g[..g.len() / 2].to_vec()
                },
                "train-images-idx3-ubyte.gz",
            )),
            &["train-images-idx3-ubyte.gz"],
        ),
        (
            "CSV with a million columns in one row",
            vec![
                "fit".into(),
                "examples/iris_species.toml".into(),
                "--data".into(),
                put("wide.csv", format!("a,b\n{}\n", "1,".repeat(1_000_000)).as_bytes()),
            ],
            &["wide.csv"],
        ),
        (
            "CSV with an unterminated quote",
            vec![
                "fit".into(),
                "examples/iris_species.toml".into(),
                "--data".into(),
                put("quote.csv", format!("sepal_length,\"{}", "x".repeat(1 << 20)).as_bytes()),
            ],
            &["quote.csv"],
        ),
        (
            "weights header length 2^60",
            vec!["evaluate".into(), run_with("len", "model.safetensors", &(1u64 << 60).to_le_bytes())],
            &["model.safetensors"],
        ),
        (
            "weights tensor past the end of the file",
            vec![
                "evaluate".into(),
                run_with(
                    "past",
                    "model.safetensors",
                    &safetensors(
                        r#"{"hidden.kernel":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#,
                        &[0; 16],
                    ),
                ),
            ],
            &["model.safetensors", "not a valid safetensors file"],
        ),
        (
            "weights header of 100,000 tensors",
            vec![
                "evaluate".into(),
                run_with(
                    "many",
                    "model.safetensors",
                    &safetensors(
                        &format!(
                            "{{{}}}",
                            (0..100_000)
                                .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        &[],
                    ),
                ),
            ],
            &["model.safetensors", "over the cap"],
        ),
        (
            "weights header just under the cap: 16,000 tensors",
            vec![
                "evaluate".into(),
                run_with(
                    "many-under",
                    "model.safetensors",
                    &safetensors(
                        &format!(
                            "{{{}}}",
                            (0..16_000)
                                .map(|i| format!(
                                    r#""tensor_{i:08}":{{"dtype":"F32","shape":[1,1,1,1],"data_offsets":[0,0]}}"#
                                ))
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        &[],
                    ),
                ),
            ],
            &["model.safetensors"],
        ),
        (
            "checkpoint with a tensor past the end",
            vec![
                "fit".into(),
                "examples/xor.toml".into(),
                "--resume".into(),
                run_with(
                    "ckpt",
                    "checkpoint.strata",
                    &safetensors(
                        r#"{"loader/order":{"dtype":"U64","shape":[536870912],"data_offsets":[0,4294967296]}}"#,
                        &[],
                    ),
                ),
            ],
            &["checkpoint.strata"],
        ),
        (
            "model.json nested 100,000 deep",
            vec!["evaluate".into(), run_with("json", "model.json", "[".repeat(100_000).as_bytes())],
            &["model.json"],
        ),
        (
            "spec asking for 2^40 units",
            vec!["fit".into(), spec("units.toml", &xor_spec.replacen("units = 2", "units = 1099511627776", 1))],
            &["units.toml:11", "1099511627776"],
        ),
        (
            "spec with input_shape [2^32, 2^32]",
            vec![
                "fit".into(),
                spec(
                    "shape.toml",
                    &xor_spec.replacen("input_shape = [2]", "input_shape = [4294967296, 4294967296]", 1),
                ),
            ],
            &["shape.toml"],
        ),
        ("spec nested 100,000 deep", vec!["fit".into(), spec("nested.toml", &nested)], &["nested.toml"]),
        (
            "CSV of 64 MiB of NUL bytes (no newline)",
            vec![
                "fit".into(),
                "examples/iris_species.toml".into(),
                "--data".into(),
                put("nul.csv", &vec![0u8; 64 << 20]),
            ],
            &["nul.csv", "longer than 8 MiB"],
        ),
        (
            "spec with 20,000 layers",
            vec![
                "fit".into(),
                spec(
                    "layers.toml",
                    &xor_spec.replacen(
                        "layers = [",
                        &format!("layers = [\n{}", "  { type = \"dense\", units = 2 },\n".repeat(20_000)),
                        1,
                    ),
                ),
            ],
            &["layers.toml", "model.layers has 20002 entries", "10000"],
        ),
        (
            "spec of 5 MiB (160,000 layers)",
            vec![
                "fit".into(),
                spec(
                    "huge.toml",
                    &xor_spec.replacen(
                        "layers = [",
                        &format!("layers = [\n{}", "  { type = \"dense\", units = 2 },\n".repeat(160_000)),
                        1,
                    ),
                ),
            ],
            &["huge.toml", "larger than the limit", "4 MiB"],
        ),
    ];
    let mut report = vec![format!("baseline `strata --version`: {} KiB", baseline.peak_kib)];
    let mut failures = Vec::new();
    for (name, args, needles) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = measure(&args, &dir);
        report.push(format!("{name}: exit {}, {} KiB, {:.0} ms", o.status, o.peak_kib, o.elapsed.as_secs_f64() * 1e3));
        if o.status != 1 || o.stderr.contains("panicked") {
            failures.push(format!("{name}: exit {} ({})", o.status, o.stderr.trim()));
        } else if let Some(n) = needles.iter().find(|n| !o.stderr.contains(*n)) {
            failures.push(format!("{name}: message {:?} lacks {n:?}", o.stderr.trim()));
        }
        if o.peak_kib > PEAK_LIMIT_KIB {
            failures.push(format!("{name}: peak {} KiB over {PEAK_LIMIT_KIB}", o.peak_kib));
        }
        if o.elapsed > TIME_LIMIT {
            failures.push(format!("{name}: took {:?}", o.elapsed));
        }
    }
    // Not hostile but large: predicting a million rows streams them, so memory does not grow
    // with the file (it peaked at 15 times the file's size when rows were held).
    let rows = put("million.csv", &{
        let mut text = b"x1,x2,y\n".to_vec();
        for i in 0..1_000_000u32 {
            text.extend_from_slice(format!("{},{},0\n", i % 2, (i / 2) % 2).as_bytes());
        }
        text
    });
    let o = measure(&["predict", &good, "--input", &rows], &dir);
    report.push(format!(
        "predict on 1,000,000 rows: exit {}, {} KiB, {:.0} ms",
        o.status,
        o.peak_kib,
        o.elapsed.as_secs_f64() * 1e3
    ));
    if o.status != 0 || o.peak_kib > PEAK_LIMIT_KIB {
        failures.push(format!(
            "predict on 1,000,000 rows: exit {}, peak {} KiB ({})",
            o.status,
            o.peak_kib,
            o.stderr.trim()
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}\n\n{}", failures.join("\n"), report.join("\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}
