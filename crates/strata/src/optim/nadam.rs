//! Nadam (Dozat 2016, as PyTorch's `NAdam` with its default momentum decay 0.004):
//! `mu_t = b1 (1 - 0.5 · 0.96^(t · 0.004))`, `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
//! `w -= lr [mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)] / (sqrt(v / (1 - b2^t)) + eps)`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Nadam hyper-parameters (Keras defaults: lr 0.001, betas 0.9 / 0.999, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Nadam {
    /// Step size.
    pub learning_rate: f64,
    /// First-moment decay.
    pub beta_1: f64,
    /// Second-moment decay.
    pub beta_2: f64,
    /// Added to the denominator.
    pub epsilon: f64,
}

impl Default for Nadam {
    fn default() -> Self {
        Nadam { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }
    }
}

impl Nadam {
    pub(crate) fn validated(&self) -> Result<Self> {
        check_range("nadam", "beta_1", self.beta_1, (0.0..1.0).contains(&self.beta_1), "in [0, 1)")?;
        check_range("nadam", "beta_2", self.beta_2, (0.0..1.0).contains(&self.beta_2), "in [0, 1)")?;
        Ok(self.clone())
    }

    fn mu(&self, t: u64) -> f64 {
        self.beta_1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * 0.004))
    }
}

impl super::OptimizerKind for Nadam {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Nadam { learning_rate, beta_1, beta_2, epsilon }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Nadam {
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [m, v] = slots else { unreachable!("the driver allocates slots() buffers") };
        // The product of mu_1..mu_t is recomputed (t multiplications) rather than stored, so the
        // rule keeps no state beyond its slots.
        let prod_t: f64 = (1..=t).map(|i| self.mu(i)).product();
        let (mu_t, mu_next) = (self.mu(t), self.mu(t + 1));
        let prod_next = prod_t * mu_next;
        let (b1, b2) = (T::of(self.beta_1), T::of(self.beta_2));
        let c2 = T::of(1.0 - self.beta_2.powi(t as i32));
        let (a, b) = (T::of(mu_next / (1.0 - prod_next)), T::of((1.0 - mu_t) / (1.0 - prod_t)));
        for i in 0..w.len() {
            m[i] = b1 * m[i] + (T::one() - b1) * g[i];
            v[i] = b2 * v[i] + (T::one() - b2) * g[i] * g[i];
            w[i] = w[i] - lr * (a * m[i] + b * g[i]) / ((v[i] / c2).sqrt() + T::of(self.epsilon));
        }
    }
}
