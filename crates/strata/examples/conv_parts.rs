//! Where the CNN example's step goes (examples/fashion_mnist_cnn.toml, Keras's simple convnet at
//! batch 128): each convolution and pooling forward and backward timed apart, with the GFLOP/s
//! each convolution reaches (2 FLOP per multiply-add).
//! Run: `cargo run --release -p strata --example conv_parts` (`STRATA_NUM_THREADS=1` for one core).

use std::time::Instant;
use strata::prelude::*;
use strata::rng::seeded_rng;
use strata::{Conv2dOptions, Pool2dOptions, PoolKind};

/// Median seconds of `f` over `reps` runs after a warm-up.
fn time(reps: usize, mut f: impl FnMut() -> strata::Result<()>) -> strata::Result<f64> {
    f()?;
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[reps / 2])
}

fn conv(name: &str, x: [usize; 4], k: [usize; 4], input_grad: bool) -> strata::Result<()> {
    let mut rng = seeded_rng(0);
    let xs = Tensor::<f32>::rand_uniform(x, 0.0, 1.0, &mut rng)?.with_requires_grad(input_grad);
    let ks = Tensor::<f32>::rand_uniform(k, -0.1, 0.1, &mut rng)?.with_requires_grad(true);
    let b = Tensor::<f32>::zeros([k[3]]).with_requires_grad(true);
    let opt = Conv2dOptions::default();
    let y = xs.conv2d(&ks, Some(&b), opt)?;
    let macs = (y.numel() * k[0] * k[1] * k[2]) as f64;
    let g = Tensor::<f32>::rand_uniform(y.dims().to_vec(), -1.0, 1.0, &mut rng)?;
    let forward = time(20, || xs.conv2d(&ks, Some(&b), opt).map(drop))?;
    let both = time(20, || xs.conv2d(&ks, Some(&b), opt)?.backward_with(g.clone()).map(drop))?;
    let backward = both - forward;
    let passes = if input_grad { 2.0 } else { 1.0 };
    println!(
        "{name}: forward {:.2} ms ({:.0} GFLOP/s), backward {:.2} ms ({:.0} GFLOP/s)",
        forward * 1e3,
        2.0 * macs / forward / 1e9,
        backward * 1e3,
        2.0 * passes * macs / backward / 1e9
    );
    Ok(())
}

fn pool(name: &str, x: [usize; 4]) -> strata::Result<()> {
    let mut rng = seeded_rng(0);
    let xs = Tensor::<f32>::rand_uniform(x, 0.0, 1.0, &mut rng)?.with_requires_grad(true);
    let opt = Pool2dOptions { pool: (2, 2), strides: (2, 2), same_padding: false };
    let y = xs.pool2d(PoolKind::Max, opt)?;
    let g = Tensor::<f32>::rand_uniform(y.dims().to_vec(), -1.0, 1.0, &mut rng)?;
    let forward = time(20, || xs.pool2d(PoolKind::Max, opt).map(drop))?;
    let both = time(20, || xs.pool2d(PoolKind::Max, opt)?.backward_with(g.clone()).map(drop))?;
    let relu = time(20, || xs.relu().map(drop))?;
    println!(
        "{name}: forward {:.2} ms, backward {:.2} ms; relu of its input {:.2} ms",
        forward * 1e3,
        (both - forward) * 1e3,
        relu * 1e3
    );
    Ok(())
}

fn main() -> strata::Result<()> {
    conv("conv2d 1->32 3x3 on 28x28", [128, 28, 28, 1], [3, 3, 1, 32], false)?;
    pool("max_pooling2d 26x26x32", [128, 26, 26, 32])?;
    conv("conv2d_1 32->64 3x3 on 13x13", [128, 13, 13, 32], [3, 3, 32, 64], true)?;
    conv("conv2d_1 without its input gradient", [128, 13, 13, 32], [3, 3, 32, 64], false)?;
    pool("max_pooling2d_1 11x11x64", [128, 11, 11, 64])?;
    Ok(())
}
