//! Adam (Kingma & Ba, Algorithm 1, as PyTorch): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
//! `w -= lr m̂ / (sqrt(v̂) + eps)` with `m̂ = m / (1 - b1^t)`, `v̂ = v / (1 - b2^t)`. AMSGrad keeps the
//! running maximum of the raw `v` and bias-corrects that (as `torch.optim.Adam`'s code and Keras do).

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::kernel::adam::{self, Buffers, Constants};
use crate::tensor::Element;

/// Adam hyper-parameters (Keras defaults: lr 0.001, betas 0.9 / 0.999, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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
        adam::step(Buffers { w, g, m, v, v_max }, &k);
    }
}
