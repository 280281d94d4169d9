//! Memory over long runs: resident set size after a 1,000-step warm-up, then after 100,000
//! training steps and after 1,000,000 `predict` calls (lecture 000's network).
//! Run: `cargo run --release --example long_run`. Figures: docs/reliability.md.

use strata::prelude::*;
use strata::rng::seeded_rng;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> strata::Result<()> {
    let mut model = strata::lectures::iris_network(0)?.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::MeanSquaredError,
        &[],
    )?;
    let mut rng = seeded_rng(0);
    let x = Tensor::<f32>::rand_uniform([32, 2], 4.0, 8.0, &mut rng)?;
    let y = Tensor::<f32>::rand_uniform([32, 2], 0.0, 7.0, &mut rng)?;
    for _ in 0..1_000 {
        model.train_step(&x, &y)?;
    }
    let warm = rss_kib();
    for _ in 0..100_000 {
        model.train_step(&x, &y)?;
    }
    let trained = rss_kib();
    let one = x.slice_batch(0, 1)?;
    for _ in 0..1_000 {
        model.predict(&one, 1)?;
    }
    let warm_predict = rss_kib();
    for _ in 0..1_000_000 {
        model.predict(&one, 1)?;
    }
    let predicted = rss_kib();
    println!(
        "RSS after 1,000 warm-up steps: {warm} KiB; after 100,000 more: {trained} KiB ({:+} KiB)",
        trained as i64 - warm as i64
    );
    println!(
        "RSS before 1,000,000 predict calls: {warm_predict} KiB; after: {predicted} KiB ({:+} KiB)",
        predicted as i64 - warm_predict as i64
    );
    Ok(())
}
