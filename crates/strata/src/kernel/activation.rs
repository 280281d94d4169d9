//! The recurrent cells' gate activations over whole rows: sigmoid and tanh in place. In `f32`
//! they run branch-free polynomial forms (Cephes's `expf` and `tanhf`, within 2 ulp of the
//! libm functions) that compile to AVX2 vectors, 8 lanes at a time; libm's scalar `tanhf` took
//! a third of an LSTM step. In `f64` (gradient checks, references) they are libm's, exactly.

// Cephes's coefficients as published (some carry a digit more than f32 holds).
#![allow(clippy::excessive_precision)]

use crate::tensor::Element;
use std::any::TypeId;

/// The slice as `f32`s when `T` is `f32`.
fn as_f32<T: Element>(x: &mut [T]) -> Option<&mut [f32]> {
    if TypeId::of::<T>() != TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: T is f32 (checked above), so the slice's memory is a valid [f32] of the same
    // length, borrowed mutably for the same lifetime.
    Some(unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len()) })
}

/// Cephes's `expf` without branches: `2^n · p(r)` with `x = n·ln 2 + r`, `|r| <= ln 2 / 2`.
/// Inputs are clamped to where the result is a normal float.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    // Round to nearest by adding and taking away 1.5·2^23 (exact for |v| < 2^22): no call to
    // floorf, which the SSE2 baseline build would make per lane.
    const ROUND: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    // Fused multiply-adds (`mul_add`: one rounding, the same bits on the AVX2 path, where it
    // is one instruction, and on the baseline, where libm's fmaf computes it exactly).
    let r = n.mul_add(2.121_944_4e-4, n.mul_add(-0.693_359_4, x));
    let p = 1.987_569_1e-4f32.mul_add(r, 1.398_199_9e-3);
    let p = p.mul_add(r, 8.333_452e-3);
    let p = p.mul_add(r, 4.166_579_6e-2);
    let p = p.mul_add(r, 1.666_666_5e-1);
    let p = p.mul_add(r, 5.000_000_1e-1);
    let p = (p * r).mul_add(r, r) + 1.0;
    // SAFETY: x was clamped, so n is a whole number in [-126, 128]: representable in i32.
    // (`as` would saturate, which LLVM does not vectorize; this converts 8 lanes at once.)
    let n = unsafe { n.to_int_unchecked::<i32>() };
    p * f32::from_bits(((n + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Cephes's `tanhf`: an odd polynomial below 0.625 in magnitude, `1 - 2/(e^{2|x|} + 1)` above
/// (no cancellation there: the result is at least 0.55), both computed and one chosen, so the
/// loop stays branch-free.
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let q = (-5.704_988_7e-3f32).mul_add(z, 2.063_908_9e-2);
    let q = q.mul_add(z, -5.373_971_6e-2);
    let q = q.mul_add(z, 1.333_144_2e-1);
    let q = q.mul_add(z, -3.333_328_2e-1);
    let small = (q * z).mul_add(x, x);
    let large = (1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

/// `x = 1 / (1 + e^-x)` for every element.
pub(crate) fn sigmoid_in_place<T: Element>(x: &mut [T]) {
    match as_f32(x) {
        Some(x) => super::vectorized(|| x.iter_mut().for_each(|v| *v = sigmoid_f32(*v))),
        None => x.iter_mut().for_each(|v| *v = crate::ops::sigmoid_of(*v)),
    }
}

/// `x = tanh(x)` for every element.
pub(crate) fn tanh_in_place<T: Element>(x: &mut [T]) {
    match as_f32(x) {
        Some(x) => super::vectorized(|| x.iter_mut().for_each(|v| *v = tanh_f32(*v))),
        None => x.iter_mut().for_each(|v| *v = v.tanh()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 2 ulp (and 1e-7 absolute near 0) of libm over the range gates see, and exact
    /// limits far out.
    #[test]
    fn fast_sigmoid_and_tanh_match_libm() {
        let xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).chain([-100.0, -50.0, 50.0, 100.0]).collect();
        let (mut s, mut t) = (xs.clone(), xs.clone());
        sigmoid_in_place(&mut s);
        tanh_in_place(&mut t);
        for ((&x, &sv), &tv) in xs.iter().zip(&s).zip(&t) {
            let (ws, wt) = (1.0 / (1.0 + (-x as f64).exp()), (x as f64).tanh());
            assert!(((sv as f64) - ws).abs() <= 2.5e-7 * ws.abs() + 1e-38, "sigmoid({x}) = {sv}, libm {ws}");
            assert!(((tv as f64) - wt).abs() <= 2.5e-7 * wt.abs() + 1e-9, "tanh({x}) = {tv}, libm {wt}");
        }
        assert_eq!(s[s.len() - 1], 1.0);
        assert_eq!(t[t.len() - 1], 1.0);
        assert_eq!(t[t.len() - 4], -1.0);
    }
}
