//! Adam's update loop (the rule is stated in optim/adam.rs).
//!
//! The elementwise loop, compiled twice on x86-64: for the baseline (SSE2) and for AVX2 + FMA,
//! chosen at run time. The optimizer is a fifth of a small model's training step, and 8-wide
//! square roots and divisions halve it. (No fused multiply-add is introduced: Rust does not
//! contract `a * b + c`, so both versions give the same bits.)

use crate::tensor::Element;

/// The parameter, its gradient and the optimizer's state for one update (`v_max` is empty
/// without AMSGrad).
pub(crate) struct Buffers<'a, T> {
    pub(crate) w: &'a mut [T],
    pub(crate) g: &'a [T],
    pub(crate) m: &'a mut [T],
    pub(crate) v: &'a mut [T],
    pub(crate) v_max: &'a mut [T],
}

/// The per-step constants of the update.
pub(crate) struct Constants<T> {
    pub(crate) b1: T,
    pub(crate) b2: T,
    pub(crate) one_b1: T,
    pub(crate) one_b2: T,
    pub(crate) step: T,
    pub(crate) inv_c2_sqrt: T,
    pub(crate) eps: T,
}

#[inline(always)]
fn body<T: Element, const AMSGRAD: bool>(b: Buffers<'_, T>, k: &Constants<T>) {
    let Buffers { w, g, m, v, v_max } = b;
    let n = w.len();
    // Equal-length reslices let the compiler drop bounds checks and vectorize.
    let (w, g, m, v) = (&mut w[..n], &g[..n], &mut m[..n], &mut v[..n]);
    let v_max = if AMSGRAD { &mut v_max[..n] } else { v_max };
    for i in 0..n {
        m[i] = k.b1 * m[i] + k.one_b1 * g[i];
        v[i] = k.b2 * v[i] + k.one_b2 * g[i] * g[i];
        let second = if AMSGRAD {
            v_max[i] = v_max[i].max(v[i]);
            v_max[i]
        } else {
            v[i]
        };
        w[i] = w[i] - k.step * m[i] / (second.sqrt() * k.inv_c2_sqrt + k.eps);
    }
}

#[cfg(target_arch = "x86_64")]
/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<T: Element, const AMSGRAD: bool>(b: Buffers<'_, T>, k: &Constants<T>) {
    body::<T, AMSGRAD>(b, k)
}

fn dispatch<T: Element, const AMSGRAD: bool>(b: Buffers<'_, T>, k: &Constants<T>) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked for the features the function is compiled with.
        return unsafe { avx2::<T, AMSGRAD>(b, k) };
    }
    body::<T, AMSGRAD>(b, k)
}

/// One update of `b` with the constants `k` (AMSGrad when `v_max` is not empty).
pub(crate) fn step<T: Element>(b: Buffers<'_, T>, k: &Constants<T>) {
    if b.v_max.is_empty() {
        dispatch::<T, false>(b, k)
    } else {
        dispatch::<T, true>(b, k)
    }
}
