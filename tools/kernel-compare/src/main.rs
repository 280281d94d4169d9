//! GFLOP/s of `gemm` and `matrixmultiply` (f32) at the Fashion-MNIST model's shapes and 1024³.
//! Usage: `cargo run --release` (threads for matrixmultiply come from MATMUL_NUM_THREADS, so the
//! script in docs/performance.md runs it once per thread count).
use std::time::Instant;

const SHAPES: &[(usize, usize, usize, &str)] = &[
    (1024, 1024, 1024, "1024x1024 by 1024x1024"),
    (32, 784, 128, "32x784 by 784x128"),
    (784, 32, 128, "784x32 by 32x128"),
    (32, 128, 784, "32x128 by 128x784"),
    (32, 128, 10, "32x128 by 128x10"),
];

fn time(flops: f64, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut iters = 0;
        while start.elapsed().as_secs_f64() < 0.2 {
            f();
            iters += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / iters as f64);
    }
    flops / best / 1e9
}

fn main() {
    let threads: usize = std::env::var("MATMUL_NUM_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    println!("| shape (m x k by k x n) | threads | matrixmultiply GFLOP/s | gemm GFLOP/s |");
    println!("|---|---|---|---|");
    for &(m, k, n, name) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let mm = time(flops, || unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1)
        });
        let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
        let gm = time(flops, || unsafe {
            gemm::gemm(m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize, b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, par)
        });
        println!("| {name} | {threads} | {mm:.1} | {gm:.1} |");
    }
}
