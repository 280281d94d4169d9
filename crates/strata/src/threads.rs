//! How many threads strata's kernels may use.
//!
//! Results do not depend on this number for a given setting, but may differ between settings
//! (a parallel matrix product can sum in another order): reproducibility is promised for the
//! same seed and the same thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads kernels use: set by [`set_num_threads`], else the `STRATA_NUM_THREADS`
/// environment variable, else the machine's available parallelism.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var("STRATA_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok());
            let n = from_env
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Use `n` threads in kernels (at least 1).
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}
