//! The performance workloads W1-W7 (docs/performance.md), one table.
//!
//! Run: `cargo bench -p strata --bench workloads` (all), or name some: `-- W2 W4`; add `--json`
//! for one JSON object per workload (what `scripts/bench_vs_pytorch.sh` reads). W2, W3, W6 and W7 use
//! `../shared/data/fashion-mnist` when present, else random data of the same shapes.

use std::path::Path;
use std::time::Instant;
use strata::prelude::*;
use strata::rng::seeded_rng;

struct Fashion {
    x_train: Tensor<f32>,
    y_train: Tensor<f32>,
    x_test: Tensor<f32>,
    y_test: Tensor<f32>,
    real: bool,
}

fn fashion() -> Fashion {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fashion-mnist");
    if let Ok(d) = strata::data::idx::load_mnist_dir::<f32>(&dir) {
        return Fashion { x_train: d.x_train, y_train: d.y_train, x_test: d.x_test, y_test: d.y_test, real: true };
    }
    let mut rng = seeded_rng(0);
    let labels = |n: usize| Tensor::from_vec((0..n).map(|i| (i % 10) as f32).collect(), [n]).expect("shape");
    Fashion {
        x_train: Tensor::rand_uniform([60000, 28, 28], 0.0, 1.0, &mut rng).expect("shape"),
        y_train: labels(60000),
        x_test: Tensor::rand_uniform([10000, 28, 28], 0.0, 1.0, &mut rng).expect("shape"),
        y_test: labels(10000),
        real: false,
    }
}

fn report(json: bool, name: &str, fields: &[(&str, f64)], note: &str) {
    if json {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        println!("{{\"workload\": \"{name}\", {}, \"threads\": {}}}", body.join(", "), strata::num_threads());
    } else {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        println!("| {name} | {} | {note} |", body.join(", "));
    }
}

fn w1(json: bool) -> strata::Result<()> {
    let start = Instant::now();
    let run = strata::lectures::iris_regression(strata::lectures::IRIS_SEED, 0)?;
    report(
        json,
        "W1 Iris",
        &[("fit_seconds", start.elapsed().as_secs_f64()), ("test_mse", run.test_mse)],
        "100 epochs, SGD, batch 32, validation each epoch",
    );
    Ok(())
}

fn w2(json: bool, data: &Fashion) -> strata::Result<()> {
    let mut model = strata::lectures::fashion_mnist_network(0)?.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    let config = FitConfig { epochs: 5, batch_size: 32, verbose: 0, ..FitConfig::default() };
    let start = Instant::now();
    model.fit(&data.x_train, &data.y_train, &config)?;
    let per_epoch = start.elapsed().as_secs_f64() / 5.0;
    let accuracy = model.evaluate(&data.x_test, &data.y_test, 1024)?[1].1;
    let note = if data.real { "784-128-10, Adam, batch 32, 5 epochs" } else { "random data (Fashion-MNIST absent)" };
    report(json, "W2 Fashion-MNIST", &[("seconds_per_epoch", per_epoch), ("test_accuracy", accuracy)], note);
    Ok(())
}

fn w3(json: bool, data: &Fashion) -> strata::Result<()> {
    let net = Sequential::new([28, 28], 0)
        .add(LayerConfig::Flatten(Default::default()))?
        .add(DenseConfig::new(512).activation(Activation::Relu))?
        .add(DenseConfig::new(512).activation(Activation::Relu))?
        .add(DenseConfig::new(10).activation(Activation::Softmax))?;
    let mut model = net.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[],
    )?;
    let config = FitConfig { epochs: 1, batch_size: 256, verbose: 0, ..FitConfig::default() };
    let start = Instant::now();
    model.fit(&data.x_train, &data.y_train, &config)?;
    let train_rate = data.x_train.dims()[0] as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    model.predict(&data.x_test, 1024)?;
    let infer_rate = data.x_test.dims()[0] as f64 / start.elapsed().as_secs_f64();
    report(
        json,
        "W3 wide MLP",
        &[("train_samples_per_second", train_rate), ("inference_samples_per_second", infer_rate)],
        "784-512-512-10, Adam, batch 256 / 1,024",
    );
    Ok(())
}

fn w4(json: bool) -> strata::Result<()> {
    let mut model = strata::lectures::iris_network(0)?.compile(
        OptimizerConfig::Sgd(Sgd::new(0.01)),
        Loss::MeanSquaredError,
        &[],
    )?;
    let mut rng = seeded_rng(0);
    let x = Tensor::<f32>::rand_uniform([32, 2], 4.0, 8.0, &mut rng)?;
    let y = Tensor::<f32>::rand_uniform([32, 2], 0.0, 7.0, &mut rng)?;
    for _ in 0..1000 {
        model.train_step(&x, &y)?;
    }
    let start = Instant::now();
    for _ in 0..1000 {
        model.train_step(&x, &y)?;
    }
    report(
        json,
        "W4 step latency",
        &[("microseconds_per_step", start.elapsed().as_secs_f64() * 1e3)],
        "Iris network, batch 32, after 1,000 warm-up steps",
    );
    Ok(())
}

fn w5(json: bool) -> strata::Result<()> {
    let shapes: &[(usize, usize, usize, &str)] = &[
        (1024, 1024, 1024, "1024^3"),
        (32, 784, 128, "32x784x128"),
        (32, 128, 10, "32x128x10"),
        (784, 32, 128, "784x32x128 (t)"),
        (32, 128, 784, "32x128x784 (t)"),
    ];
    let before = strata::num_threads();
    for threads in [1, 2] {
        strata::set_num_threads(threads);
        for &(m, k, n, name) in shapes {
            let transposed = name.ends_with("(t)");
            let mut rng = seeded_rng(0);
            let a = Tensor::<f32>::randn(if transposed && m > k { [k, m] } else { [m, k] }, 0.0, 1.0, &mut rng)?;
            let b = Tensor::<f32>::randn(if transposed && n > k { [n, k] } else { [k, n] }, 0.0, 1.0, &mut rng)?;
            let (ta, tb) = (transposed && m > k, transposed && n > k);
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                let mut iters = 0u32;
                while start.elapsed().as_secs_f64() < 0.2 {
                    std::hint::black_box(a.matmul_t(ta, &b, tb)?);
                    iters += 1;
                }
                best = best.min(start.elapsed().as_secs_f64() / f64::from(iters));
            }
            let gflops = 2.0 * (m * k * n) as f64 / best / 1e9;
            report(json, &format!("W5 matmul {name}, {threads} thread(s)"), &[("gflops", gflops)], "best of 5");
        }
    }
    strata::set_num_threads(before);
    Ok(())
}

/// W6: Keras's simple convnet (examples/fashion_mnist_cnn.toml) at batch 128, one epoch, then
/// inference at batch 1,000. One epoch keeps the side-by-side run short; the example's 15 epochs
/// are what CI checks for accuracy.
fn w6(json: bool, data: &Fashion) -> strata::Result<()> {
    use strata::nn::{Conv2DConfig, DropoutConfig, MaxPooling2DConfig};
    let images = |x: &Tensor<f32>| x.reshape([x.dims()[0], 28, 28, 1]);
    let (x_train, x_test) = (images(&data.x_train)?, images(&data.x_test)?);
    let net = Sequential::new([28, 28, 1], 0)
        .add(Conv2DConfig::new(32, 3).activation(Activation::Relu))?
        .add(MaxPooling2DConfig::new(2))?
        .add(Conv2DConfig::new(64, 3).activation(Activation::Relu))?
        .add(MaxPooling2DConfig::new(2))?
        .add(LayerConfig::Flatten(Default::default()))?
        .add(DropoutConfig::new(0.5))?
        .add(DenseConfig::new(10).activation(Activation::Softmax))?;
    let mut model = net.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    let config = FitConfig { epochs: 1, batch_size: 128, verbose: 0, ..FitConfig::default() };
    let start = Instant::now();
    model.fit(&x_train, &data.y_train, &config)?;
    let per_epoch = start.elapsed().as_secs_f64();
    let start = Instant::now();
    model.predict(&x_test, 1000)?;
    let infer_rate = x_test.dims()[0] as f64 / start.elapsed().as_secs_f64();
    let accuracy = model.evaluate(&x_test, &data.y_test, 1000)?[1].1;
    let note = if data.real {
        "Keras's simple convnet, Adam, batch 128, 1 epoch; inference batch 1,000"
    } else {
        "random data (Fashion-MNIST absent)"
    };
    report(
        json,
        "W6 CNN",
        &[("seconds_per_epoch", per_epoch), ("test_accuracy", accuracy), ("inference_samples_per_second", infer_rate)],
        note,
    );
    Ok(())
}

/// W7: an LSTM(128) reading each image row by row (examples/fashion_mnist_lstm.toml) at batch
/// 128, one epoch, then inference at batch 1,000.
fn w7(json: bool, data: &Fashion) -> strata::Result<()> {
    use strata::nn::LstmConfig;
    let net = Sequential::new([28, 28], 0)
        .add(LstmConfig::new(128))?
        .add(DenseConfig::new(10).activation(Activation::Softmax))?;
    let mut model = net.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    let config = FitConfig { epochs: 1, batch_size: 128, verbose: 0, ..FitConfig::default() };
    let start = Instant::now();
    model.fit(&data.x_train, &data.y_train, &config)?;
    let per_epoch = start.elapsed().as_secs_f64();
    let start = Instant::now();
    model.predict(&data.x_test, 1000)?;
    let infer_rate = data.x_test.dims()[0] as f64 / start.elapsed().as_secs_f64();
    let accuracy = model.evaluate(&data.x_test, &data.y_test, 1000)?[1].1;
    let note = if data.real {
        "LSTM(128) over 28 rows of 28 pixels + Dense 10, Adam, batch 128, 1 epoch; inference batch 1,000"
    } else {
        "random data (Fashion-MNIST absent)"
    };
    report(
        json,
        "W7 LSTM",
        &[("seconds_per_epoch", per_epoch), ("test_accuracy", accuracy), ("inference_samples_per_second", infer_rate)],
        note,
    );
    Ok(())
}

/// Where W7's step goes: the LSTM op's forward and backward alone on one batch of 128, and
/// the products inside it timed apart (`-- lstm_parts`).
fn lstm_parts() -> strata::Result<()> {
    use strata::{CellActivation, RecurrentCell, RecurrentOptions};
    let mut rng = seeded_rng(0);
    let (b, t, i, u) = (128, 28, 28, 128);
    let x = Tensor::<f32>::rand_uniform([b, t, i], 0.0, 1.0, &mut rng)?;
    let w = Tensor::<f32>::rand_uniform([i, 4 * u], -0.1, 0.1, &mut rng)?.with_requires_grad(true);
    let r = Tensor::<f32>::rand_uniform([u, 4 * u], -0.1, 0.1, &mut rng)?.with_requires_grad(true);
    let bias = Tensor::<f32>::zeros([4 * u]).with_requires_grad(true);
    let cell = RecurrentCell::Lstm { activation: CellActivation::Tanh, recurrent_activation: CellActivation::Sigmoid };
    let time = |f: &mut dyn FnMut() -> strata::Result<()>| -> strata::Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..20 {
            let start = Instant::now();
            f()?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        Ok(best * 1e3)
    };
    let forward_ms = time(&mut || {
        let _g = strata::autograd::no_grad();
        x.recurrent(cell, &w, &r, Some(&bias), &[], RecurrentOptions::default()).map(drop)
    })?;
    let both_ms = time(&mut || {
        let y = x.recurrent(cell, &w, &r, Some(&bias), &[], RecurrentOptions::default())?;
        y.sum()?.backward().map(drop)
    })?;
    let h = Tensor::<f32>::rand_uniform([b, u], -1.0, 1.0, &mut rng)?;
    let step_ms = time(&mut || h.matmul(&r).map(drop))?;
    let big = Tensor::<f32>::rand_uniform([t * b, u], -1.0, 1.0, &mut rng)?;
    let dz = Tensor::<f32>::rand_uniform([t * b, 4 * u], -1.0, 1.0, &mut rng)?;
    let weight_grad_ms = time(&mut || big.t()?.matmul(&dz).map(drop))?;
    println!(
        "LSTM op, batch {b}, {t} steps, {i} -> {u}: forward {forward_ms:.2} ms, forward+backward {both_ms:.2} ms; \
         one step's h·U {step_ms:.3} ms (x{t} = {:.2} ms), the recurrent kernel's gradient {weight_grad_ms:.2} ms; \
         an epoch is 469 batches",
        step_ms * t as f64
    );
    Ok(())
}

fn main() -> strata::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let json = args.iter().any(|a| a == "--json");
    let wanted: Vec<&str> = args.iter().filter(|a| a.starts_with('W')).map(String::as_str).collect();
    let run = |w: &str| wanted.is_empty() || wanted.contains(&w);
    if args.iter().any(|a| a == "lstm_parts") {
        return lstm_parts();
    }
    if !json {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        println!("strata {} workloads on {cpu}, {} threads\n", env!("CARGO_PKG_VERSION"), strata::num_threads());
        println!("| workload | figures | setting |\n|---|---|---|");
    }
    if run("W1") {
        w1(json)?;
    }
    if run("W2") || run("W3") || run("W6") || run("W7") {
        let data = fashion();
        if run("W2") {
            w2(json, &data)?;
        }
        if run("W3") {
            w3(json, &data)?;
        }
        if run("W6") {
            w6(json, &data)?;
        }
        if run("W7") {
            w7(json, &data)?;
        }
    }
    if run("W4") {
        w4(json)?;
    }
    if run("W5") {
        w5(json)?;
    }
    Ok(())
}
