//! A profiling target: N training steps of W2's step (lecture 004's network on random data,
//! Adam) or, with `w4`, of W4's (lecture 000's Iris network, SGD, MSE).
//! Run: `cargo run --release --example step_profile -- 2000` or `-- 20000 w4`.

use std::time::Instant;
use strata::prelude::*;
use strata::rng::seeded_rng;

fn main() -> strata::Result<()> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let w4 = std::env::args().nth(2).as_deref() == Some("w4");
    let mut rng = seeded_rng(1);
    let (mut model, batches, y) = if w4 {
        let model = strata::lectures::iris_network(0)?.compile(
            OptimizerConfig::Sgd(Sgd::new(0.01)),
            Loss::MeanSquaredError,
            &[],
        )?;
        let x = vec![Tensor::<f32>::rand_uniform([32, 2], 4.0, 8.0, &mut rng)?];
        (model, x, Tensor::<f32>::rand_uniform([32, 2], 0.0, 7.0, &mut rng)?)
    } else {
        let model = strata::lectures::fashion_mnist_network(0)?.compile(
            OptimizerConfig::Adam(Adam::default()),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            &[],
        )?;
        // Fresh batches (a fixed one would drive gradients to denormal sizes, which real data does not).
        let batches: Vec<Tensor<f32>> =
            (0..64).map(|_| Tensor::rand_uniform([32, 28, 28], 0.0, 1.0, &mut rng)).collect::<strata::Result<_>>()?;
        (model, batches, Tensor::<f32>::from_vec((0..32).map(|i| (i % 10) as f32).collect(), [32])?)
    };
    let start = Instant::now();
    for step in 0..steps {
        model.train_step(&batches[step % batches.len()], &y)?;
    }
    let per = start.elapsed().as_secs_f64() / steps as f64;
    println!("{:.1} us per step", per * 1e6);
    Ok(())
}
