//! A profiling target: N training steps of lecture 004's network on random data (W2's step).
//! Run: `cargo run --release --example step_profile -- 2000`.

use std::time::Instant;
use strata::prelude::*;
use strata::rng::seeded_rng;

fn main() -> strata::Result<()> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let mut model = strata::lectures::fashion_mnist_network(0)?.compile(
        OptimizerConfig::Adam(Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[],
    )?;
    // Fresh batches (a fixed one would drive gradients to denormal sizes, which real data does not).
    let mut rng = seeded_rng(1);
    let batches: Vec<Tensor<f32>> =
        (0..64).map(|_| Tensor::rand_uniform([32, 28, 28], 0.0, 1.0, &mut rng)).collect::<strata::Result<_>>()?;
    let y = Tensor::<f32>::from_vec((0..32).map(|i| (i % 10) as f32).collect(), [32])?;
    let start = Instant::now();
    for step in 0..steps {
        model.train_step(&batches[step % batches.len()], &y)?;
    }
    let per = start.elapsed().as_secs_f64() / steps as f64;
    println!("{:.1} us per step", per * 1e6);
    Ok(())
}
