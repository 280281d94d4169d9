//! Where W2's training step goes: forward (with the loss), backward and the optimizer timed
//! apart over 3,000 steps of lecture 004's network on random batches of 32.
//! Run: `STRATA_NUM_THREADS=1 cargo run --release -p strata --example step_parts` (and `=2`).

use std::time::{Duration, Instant};
use strata::nn::{Layer, Mode};
use strata::prelude::*;
use strata::rng::seeded_rng;

fn main() -> strata::Result<()> {
    let net = strata::lectures::fashion_mnist_network(0)?;
    let mut opt = OptimizerConfig::Adam(Adam::default()).build::<f32>()?;
    let lossf = Loss::SparseCategoricalCrossentropy { from_logits: false };
    let mut rng = seeded_rng(1);
    let batches: Vec<Tensor<f32>> =
        (0..64).map(|_| Tensor::rand_uniform([32, 28, 28], 0.0, 1.0, &mut rng)).collect::<strata::Result<_>>()?;
    let y = Tensor::<f32>::from_vec((0..32).map(|i| (i % 10) as f32).collect(), [32])?;
    let mut t = [Duration::ZERO; 4];
    for step in 0..3000 {
        let a = Instant::now();
        let pred = net.forward(&batches[step % 64], Mode::Train)?;
        let loss = lossf.compute(&pred, &y)?;
        let b = Instant::now();
        let grads = loss.backward()?;
        let c = Instant::now();
        opt.step(&net.params(), &grads)?;
        let d = Instant::now();
        t[0] += b - a;
        t[1] += c - b;
        t[2] += d - c;
        t[3] += d - a;
    }
    println!(
        "forward {:.1} backward {:.1} optimizer {:.1} total {:.1} us",
        t[0].as_secs_f64() / 3e-3,
        t[1].as_secs_f64() / 3e-3,
        t[2].as_secs_f64() / 3e-3,
        t[3].as_secs_f64() / 3e-3
    );
    Ok(())
}
