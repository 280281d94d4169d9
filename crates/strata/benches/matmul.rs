//! Matrix-multiply throughput through `Tensor::matmul_t` (allocation of the output included) at
//! the shapes of the Fashion-MNIST model's forward and backward passes, and at 1024³.
//!
//! Run: `cargo bench -p strata --bench matmul [-- FILTER]` (threads: `STRATA_NUM_THREADS=1|2`;
//! `STRATA_MATMUL_KERNEL=gemm` to measure `gemm`'s kernel where strata's own would run).
//! Figures and the machine they came from: docs/performance.md.

use std::time::Instant;
use strata::rng::seeded_rng;
use strata::Tensor;

/// (m, k, n, transpose lhs, transpose rhs, what it is in the W2 model)
const CASES: &[(usize, usize, usize, bool, bool, &str)] = &[
    (1024, 1024, 1024, false, false, "1024x1024 by 1024x1024"),
    (32, 784, 128, false, false, "32x784 by 784x128 (dense 1 forward)"),
    (784, 32, 128, true, false, "784x32 by 32x128 (dense 1 kernel grad, xᵀ·g)"),
    (32, 128, 784, false, true, "32x128 by 128x784 (input grad, g·Wᵀ)"),
    (32, 128, 10, false, false, "32x128 by 128x10 (dense 2 forward)"),
    (128, 32, 10, true, false, "128x32 by 32x10 (dense 2 kernel grad)"),
    (32, 10, 128, false, true, "32x10 by 10x128 (dense 2 input grad)"),
    (256, 784, 512, false, false, "256x784 by 784x512 (W3 dense 1 forward)"),
    (784, 256, 512, true, false, "784x256 by 256x512 (W3 dense 1 kernel grad, xᵀ·g)"),
    (256, 512, 512, false, false, "256x512 by 512x512 (W3 dense 2 forward)"),
    (256, 512, 512, false, true, "256x512 by 512x512 (W3 dense 2 input grad, g·Wᵀ)"),
    (512, 256, 512, true, false, "512x256 by 256x512 (W3 dense 2 kernel grad, xᵀ·g)"),
    (1024, 784, 512, false, false, "1024x784 by 784x512 (W3 inference, dense 1)"),
    (32, 32, 64, false, false, "32x32 by 32x64 (Iris dense 2 forward, W4)"),
    (32, 32, 64, true, false, "32x32 by 32x64 (Iris dense 2 kernel grad, xᵀ·g)"),
    (32, 64, 32, false, true, "32x64 by 64x32 (Iris dense 2 input grad, g·Wᵀ)"),
    (32, 32, 2, false, false, "32x32 by 32x2 (Iris output layer forward)"),
];

fn main() {
    let threads = std::env::var("STRATA_NUM_THREADS").unwrap_or_else(|_| "default (physical cores)".into());
    println!("strata matmul benchmark, f32, threads: {threads}");
    println!("| shape | GFLOP/s (best of 5) |");
    println!("|---|---|");
    let mut rng = seeded_rng(0);
    // Optional filter: only the cases whose description contains this text (e.g. `Iris`).
    let filter = std::env::args().skip(1).find(|a| a != "--bench").unwrap_or_default();
    for &(m, k, n, ta, tb, name) in CASES.iter().filter(|c| c.5.contains(&filter)) {
        let a_shape = if ta { [k, m] } else { [m, k] };
        let b_shape = if tb { [n, k] } else { [k, n] };
        let a = Tensor::<f32>::randn(a_shape, 0.0, 1.0, &mut rng).expect("valid shape");
        let b = Tensor::<f32>::randn(b_shape, 0.0, 1.0, &mut rng).expect("valid shape");
        let flops = 2.0 * (m * k * n) as f64;
        let mut best = f64::MAX;
        let _ = a.matmul_t(ta, &b, tb).expect("shapes agree");
        for _ in 0..5 {
            let start = Instant::now();
            let mut iters = 0u32;
            while start.elapsed().as_secs_f64() < 0.25 {
                std::hint::black_box(a.matmul_t(ta, &b, tb).expect("shapes agree"));
                iters += 1;
            }
            best = best.min(start.elapsed().as_secs_f64() / f64::from(iters));
        }
        println!("| {name} | {:.1} |", flops / best / 1e9);
    }
}
