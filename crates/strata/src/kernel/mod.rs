//! The kernels: the loops where the time of a training step goes, and the one place in strata
//! with `unsafe` code (the crate root denies it everywhere else).
//!
//! - [`matmul`]: matrix products on raw strided buffers (strata's own AVX2 kernel in
//!   `microkernel`, `gemm`'s, plain loops) and their split over the two cores;
//! - [`threads`]: the thread count, the helper thread for the second core, and
//!   [`threads::split_in_two`], the one way work is cut in halves for the two cores;
//! - [`pool`]: the per-thread buffer pool that makes steady-state steps allocation-free;
//! - [`conv`]: convolution forward and gradients (tiled im2col into the matrix kernel, a
//!   direct path for few channels) and [`pooling`]'s windows, both over the two cores;
//! - [`gather`] (rows of a table, as `index_select` needs) and [`adam`] (the optimizer's
//!   elementwise update, compiled for AVX2 as well).
//!
//! Ops in `ops/` call these with checked shapes; every unsafe block here says why it is sound
//! (`clippy::undocumented_unsafe_blocks` is denied) and every unsafe function states its
//! contract under `# Safety`. New kernels (convolution, batched products) belong here.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub(crate) mod activation;
pub(crate) mod adam;
pub(crate) mod conv;
pub(crate) mod gather;
pub(crate) mod matmul;
#[cfg(target_arch = "x86_64")]
mod microkernel;
pub(crate) mod pool;
pub(crate) mod pooling;
pub(crate) mod threads;

/// `f()`, compiled for AVX2 and FMA where the CPU has them (checked at run time; the baseline
/// build targets SSE2 only). `f` and what it calls must be inlined into this function to
/// benefit: the loops it is meant for are `#[inline(always)]`. No fused multiply-add is
/// introduced (Rust does not contract `a * b + c`), so both builds give the same bits.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *AVX2.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            // SAFETY: the CPU was checked for the features `avx2` is compiled with.
            return unsafe { avx2(f) };
        }
    }
    f()
}
