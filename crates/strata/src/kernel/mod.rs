//! The kernels: the loops where the time of a training step goes, and the one place in strata
//! with `unsafe` code (the crate root denies it everywhere else).
//!
//! - [`matmul`]: matrix products on raw strided buffers (strata's own AVX2 kernel in
//!   `microkernel`, `gemm`'s, plain loops) and their split over the two cores;
//! - [`threads`]: the thread count, the helper thread for the second core, and
//!   [`threads::split_in_two`], the one way work is cut in halves for the two cores;
//! - [`pool`]: the per-thread buffer pool that makes steady-state steps allocation-free;
//! - [`conv`]: im2col and col2im, so a convolution is one matrix product;
//! - [`gather`] (rows of a table, as `index_select` needs) and [`adam`] (the optimizer's
//!   elementwise update, compiled for AVX2 as well).
//!
//! Ops in `ops/` call these with checked shapes; every unsafe block here says why it is sound
//! (`clippy::undocumented_unsafe_blocks` is denied) and every unsafe function states its
//! contract under `# Safety`. New kernels (convolution, batched products) belong here.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub(crate) mod adam;
pub(crate) mod conv;
pub(crate) mod gather;
pub(crate) mod matmul;
#[cfg(target_arch = "x86_64")]
mod microkernel;
pub(crate) mod pool;
pub(crate) mod threads;
