//! Adam (Kingma & Ba, Algorithm 1, as PyTorch): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
//! `w -= lr m̂ / (sqrt(v̂) + eps)` with `m̂ = m / (1 - b1^t)`, `v̂ = v / (1 - b2^t)`. AMSGrad keeps the
//! running maximum of the raw `v` and bias-corrects that (as `torch.optim.Adam`'s code and Keras do).

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Adam hyper-parameters (Keras defaults: lr 0.001, betas 0.9 / 0.999, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// Step size.
    pub learning_rate: f64,
    /// First-moment decay.
    pub beta_1: f64,
    /// Second-moment decay.
    pub beta_2: f64,
    /// Added to the denominator.
    pub epsilon: f64,
    /// Use AMSGrad's maximum of second moments.
    pub amsgrad: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false }
    }
}

impl Adam {
    /// Adam at `learning_rate` with the other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Adam { learning_rate, ..Adam::default() }
    }

    pub(crate) fn validated(&self) -> Result<Self> {
        check_range("adam", "beta_1", self.beta_1, (0.0..1.0).contains(&self.beta_1), "in [0, 1)")?;
        check_range("adam", "beta_2", self.beta_2, (0.0..1.0).contains(&self.beta_2), "in [0, 1)")?;
        check_range("adam", "epsilon", self.epsilon, self.epsilon >= 0.0, ">= 0")?;
        Ok(self.clone())
    }
}

impl super::OptimizerKind for Adam {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Adam { learning_rate, beta_1, beta_2, epsilon, amsgrad }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Adam {
    fn slots(&self) -> usize {
        if self.amsgrad {
            3
        } else {
            2
        }
    }
    fn update(&self, t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let (m, rest) = slots.split_first_mut().expect("the driver allocates slots() buffers");
        let (v, rest) = rest.split_first_mut().expect("the driver allocates slots() buffers");
        let (b1, b2, eps) = (T::of(self.beta_1), T::of(self.beta_2), T::of(self.epsilon));
        let (one_b1, one_b2) = (T::one() - b1, T::one() - b2);
        // As torch.optim.Adam computes it: step = lr / (1 - b1^t), denom = sqrt(v) / sqrt(1 - b2^t) + eps.
        let step = lr / T::of(1.0 - self.beta_1.powi(t as i32));
        // Multiplying by the reciprocal saves a division per element (a few ulps from torch's
        // division, far inside the reference tests' tolerance).
        let inv_c2_sqrt = T::of(1.0 / (1.0 - self.beta_2.powi(t as i32)).sqrt());
        let k = Constants { b1, b2, one_b1, one_b2, step, inv_c2_sqrt, eps };
        let v_max: &mut [T] = match rest.first_mut() {
            Some(v_max) => v_max,
            None => &mut [],
        };
        kernel::run(Buffers { w, g, m, v, v_max }, &k);
    }
}

/// The parameter, its gradient and the optimizer's state for one update (`v_max` is empty
/// without AMSGrad).
struct Buffers<'a, T> {
    w: &'a mut [T],
    g: &'a [T],
    m: &'a mut [T],
    v: &'a mut [T],
    v_max: &'a mut [T],
}

/// The per-step constants of the update.
struct Constants<T> {
    b1: T,
    b2: T,
    one_b1: T,
    one_b2: T,
    step: T,
    inv_c2_sqrt: T,
    eps: T,
}

/// The elementwise loop, compiled twice on x86-64: for the baseline (SSE2) and for AVX2 + FMA,
/// chosen at run time. The optimizer is a fifth of a small model's training step, and 8-wide
/// square roots and divisions halve it. (No fused multiply-add is introduced: Rust does not
/// contract `a * b + c`, so both versions give the same bits.)
mod kernel {
    use super::{Buffers, Constants};
    use crate::tensor::Element;

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

    pub(super) fn run<T: Element>(b: Buffers<'_, T>, k: &Constants<T>) {
        if b.v_max.is_empty() {
            dispatch::<T, false>(b, k)
        } else {
            dispatch::<T, true>(b, k)
        }
    }
}
